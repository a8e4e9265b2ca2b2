/* Linking a wallet (templates/accounts/wallets.html).
 *
 * Works with any EIP-1193 provider: the browser's wallet (window.ethereum) or, on the devnet, the built-in
 * development wallet below, which has the same interface. The flow: ask the wallet for its address and chain,
 * ask Tranche for a one-time nonce and the EIP-4361 message, have the wallet sign it (personal_sign), and post
 * message and signature in the page's form; the server checks everything again and links the wallet.
 */
(function () {
  "use strict";

  // The development wallet's key and chain live in dev-wallet.js, shared with the sale page.
  var DEVNET_CHAIN_ID = 31337;

  var root = document.getElementById("wallets");
  if (!root) return;
  var form = document.getElementById("wallet-link-form");
  var status = document.getElementById("wallet-status");
  var expectedChainId = Number(root.dataset.chainId);
  var buttons = root.querySelectorAll("[data-wallet]");

  function text(name) { return root.dataset[name] || ""; }

  function show(message, kind) { window.TranchePageStatus.show(status, message, kind); }

  function busy(on) {
    buttons.forEach(function (button) { button.disabled = on; });
    root.setAttribute("aria-busy", on ? "true" : "false");
  }

  function rpcError(code, message) {
    var error = new Error(message);
    error.code = code;
    return error;
  }

  function utf8Hex(message) {
    return "0x" + Array.from(new TextEncoder().encode(message), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  function apiErrorText(body) {
    if (!body || typeof body !== "object") return text("msgFailed");
    var parts = [];
    Object.keys(body).forEach(function (key) {
      var value = body[key];
      parts = parts.concat(Array.isArray(value) ? value : [String(value)]);
    });
    return parts.join(" ") || text("msgFailed");
  }

  /* The development wallet: an EIP-1193 provider whose private key is generated in, and kept by, this browser.
   * It signs only messages for the devnet's chain id, whatever the page asks. */
  function developmentWallet() {
    if (typeof ethers === "undefined" || !window.TrancheDevWallet) throw new Error(text("msgFailed"));
    var wallet = window.TrancheDevWallet.load(true);
    showDevAddress(wallet.address);
    return {
      isTrancheDevelopmentWallet: true,
      request: function (args) {
        var method = args.method;
        var params = args.params || [];
        switch (method) {
          case "eth_requestAccounts":
          case "eth_accounts":
            // Real wallets answer in lower case; so does this one, so the page handles both alike.
            return Promise.resolve([wallet.address.toLowerCase()]);
          case "eth_chainId":
            return Promise.resolve("0x" + DEVNET_CHAIN_ID.toString(16));
          case "personal_sign": {
            var data = params[0];
            var from = String(params[1] || "");
            if (from.toLowerCase() !== wallet.address.toLowerCase()) {
              return Promise.reject(rpcError(4100, text("msgFailed")));  // an account it does not hold
            }
            var message = ethers.toUtf8String(data);
            var chain = /^Chain ID: (\d+)$/m.exec(message);
            if (expectedChainId !== DEVNET_CHAIN_ID || !chain || Number(chain[1]) !== DEVNET_CHAIN_ID) {
              return Promise.reject(rpcError(4901, text("msgDevChain")));
            }
            return wallet.signMessage(ethers.getBytes(data));
          }
          default:
            return Promise.reject(rpcError(4200, "Unsupported method: " + method));
        }
      },
    };
  }

  function showDevAddress(address) {
    var slot = document.getElementById("dev-wallet-address");
    if (slot) slot.textContent = address;
  }

  async function link(provider) {
    busy(true);
    try {
      show(text("msgConnecting"));
      var accounts = await provider.request({ method: "eth_requestAccounts" });
      var account = accounts && accounts[0];
      if (!account) throw new Error(text("msgNoAccount"));
      var chainId = parseInt(await provider.request({ method: "eth_chainId" }), 16);
      if (chainId !== expectedChainId) {
        // Ask the wallet to switch (EIP-3326); a wallet that cannot, or a person who declines, gets the reason.
        try {
          await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + expectedChainId.toString(16) }] });
          chainId = parseInt(await provider.request({ method: "eth_chainId" }), 16);
        } catch (switchError) { /* reported below */ }
        if (chainId !== expectedChainId) throw new Error(text("msgWrongChain"));
      }

      var response = await fetch(root.dataset.nonceUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
        },
        body: JSON.stringify({ address: account, chain_id: chainId }),
      });
      var body = await response.json().catch(function () { return null; });
      if (!response.ok) throw new Error(apiErrorText(body));

      show(text("msgSigning"));
      var signature = await provider.request({ method: "personal_sign", params: [utf8Hex(body.message), account] });
      show(text("msgVerifying"));
      form.elements.message.value = body.message;
      form.elements.signature.value = signature;
      form.submit();
    } catch (error) {
      var rejected = error && error.code === 4001;
      show(rejected ? text("msgRejected") : (error && error.message) || text("msgFailed"), rejected ? "warning" : "danger");
      busy(false);
    }
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      if (button.dataset.wallet === "development") {
        try {
          link(developmentWallet());
        } catch (error) {
          show(error.message, "danger");
        }
        return;
      }
      if (!window.ethereum || typeof window.ethereum.request !== "function") {
        show(text("msgNoProvider"), "warning");
        return;
      }
      link(window.ethereum);
    });
  });

  // For the browser console and the browser tests: the development wallet as a plain EIP-1193 provider.
  if (root.querySelector("[data-wallet=development]")) window.trancheDevelopmentWallet = developmentWallet;

  // Show the development wallet's address if this browser already holds its key.
  if (window.TrancheDevWallet) {
    var stored = window.TrancheDevWallet.address();
    if (stored) showDevAddress(stored);
  }
})();
