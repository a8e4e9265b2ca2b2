/* The purchase panel of a public sale page (templates/tokens/_purchase_panel.html).
 *
 * Connects the investor's wallet: the browser's EIP-1193 provider (window.ethereum: MetaMask and the like), or on
 * the devnet the built-in development wallet (dev-wallet.js), which signs in the page and sends through the
 * same-origin relay /chain/rpc (the devnet's node sends no CORS headers). Then it prepares the contract call with
 * the right value: buy / buyWithProof / buyWithVoucher (ether: value = amount; a stablecoin: approve, then buy
 * with no value), claim or refund after the sale, and reads allocationOf. A revert comes back as a sentence: the
 * page embeds TrancheSale's custom errors (sale-abi) and their translations (sale-messages).
 * The purchase itself appears in the list when the platform's scanner reads its block (the list polls).
 */
(function () {
  "use strict";

  var root = document.getElementById("sale-purchase");
  if (!root || typeof ethers === "undefined") return;
  var data = root.dataset;
  var abiNode = document.getElementById("sale-abi");
  if (!abiNode) return;
  var abi = JSON.parse(abiNode.textContent);
  var messages = JSON.parse(document.getElementById("sale-messages").textContent);
  var verified = JSON.parse(document.getElementById("sale-wallets").textContent).map(function (a) { return a.toLowerCase(); });
  var saleInterface = new ethers.Interface(abi);
  var ERC20 = [
    "function approve(address spender, uint256 amount) returns (bool)",
    "function allowance(address owner, address spender) view returns (uint256)",
    "function balanceOf(address owner) view returns (uint256)",
  ];
  var chainId = Number(data.chainId);
  var paymentDecimals = Number(data.paymentDecimals);
  var tokenDecimals = Number(data.tokenDecimals);
  var price = BigInt(data.price || "1");
  var isEther = data.paymentAsset === "eth";
  var AMOUNT_ARGS = ["total", "maximum", "minimum", "hardCap", "expected", "sent", "softCap"];
  var TIME_ARGS = ["start", "end", "expiry", "deadline", "finalizationDeadline"];

  var status = document.getElementById("purchase-status");
  var form = document.getElementById("buy-form");
  var amountInput = document.getElementById("buy-amount");
  var preview = document.getElementById("buy-preview");
  var faucetButton = document.getElementById("faucet");
  var settleButton = document.querySelector("#sale-purchase [data-action]");
  var connection = null;  // {provider, signer, address, development}

  // ---------------------------------------------------------------------------------------------- words

  function say(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined ? String(values[name]) : whole;
    });
  }

  function grouped(value, decimals, symbol) {
    var text = ethers.formatUnits(value, decimals);
    if (text.slice(-2) === ".0") text = text.slice(0, -2);
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".") + (symbol ? " " + symbol : "");
  }

  function pay(value) { return grouped(value, paymentDecimals, data.paymentSymbol); }
  function tokens(value) { return grouped(value, tokenDecimals, data.tokenSymbol); }
  function short(hex) { return hex && hex.length > 14 ? hex.slice(0, 6) + "…" + hex.slice(-4) : hex; }

  function show(message, kind) { window.TranchePageStatus.show(status, message, kind); }

  function busy(on) {
    root.querySelectorAll("button").forEach(function (button) { button.disabled = on; });
    root.setAttribute("aria-busy", on ? "true" : "false");
  }

  // ------------------------------------------------------------------------------------- revert reasons

  function revertData(error, depth) {
    // Wallets and providers nest the revert payload differently: look for the first 0x… `data` with a selector.
    if (!error || typeof error !== "object" || (depth || 0) > 5) return null;
    if (typeof error.data === "string" && /^0x[0-9a-fA-F]{8}/.test(error.data)) return error.data;
    var keys = ["data", "error", "info", "cause"];
    for (var i = 0; i < keys.length; i++) {
      var found = revertData(error[keys[i]], (depth || 0) + 1);
      if (found) return found;
    }
    return null;
  }

  function decoded(error) {
    if (error && error.revert && error.revert.name) return error.revert;
    var payload = revertData(error);
    if (!payload) return null;
    try { return saleInterface.parseError(payload); } catch (parseError) { return null; }
  }

  function explain(error) {
    var code = error && (error.code || (error.info && error.info.error && error.info.error.code));
    if (code === "ACTION_REJECTED" || code === 4001) return { text: messages._rejected, kind: "warning" };
    if (code === "INSUFFICIENT_FUNDS" || /insufficient funds/i.test(String(error && error.message))) {
      return { text: messages._funds, kind: "danger" };
    }
    var revert = decoded(error);
    if (revert) {
      var template = messages[revert.name];
      if (!template) return { text: say(messages._unknown, { name: revert.name }), kind: "danger" };
      var values = {};
      var fragment = saleInterface.getError(revert.name);
      (fragment ? fragment.inputs : []).forEach(function (input, index) {
        var value = revert.args[index];
        if (AMOUNT_ARGS.indexOf(input.name) >= 0) values[input.name] = pay(value);
        else if (TIME_ARGS.indexOf(input.name) >= 0) values[input.name] = new Date(Number(value) * 1000).toLocaleString();
        else values[input.name] = String(value);
      });
      return { text: say(template, values), kind: "danger" };
    }
    return { text: (error && (error.shortMessage || error.message)) || messages._failed, kind: "danger" };
  }

  // ------------------------------------------------------------------------------------------ connecting

  async function connectBrowser() {
    var ethereum = window.ethereum;
    if (!ethereum || typeof ethereum.request !== "function") throw Object.assign(new Error(messages._no_provider), { kind: "warning" });
    show(messages._connecting);
    var accounts = await ethereum.request({ method: "eth_requestAccounts" });
    if (!accounts || !accounts[0]) throw new Error(messages._no_account);
    var current = parseInt(await ethereum.request({ method: "eth_chainId" }), 16);
    if (current !== chainId) {
      // EIP-3326: ask the wallet to switch; a wallet that cannot, or a person who declines, gets the reason.
      try {
        await ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + chainId.toString(16) }] });
        current = parseInt(await ethereum.request({ method: "eth_chainId" }), 16);
      } catch (switchError) { /* reported below */ }
      if (current !== chainId) throw new Error(say(messages._wrong_chain, { chainId: chainId }));
    }
    var provider = new ethers.BrowserProvider(ethereum, chainId);
    var signer = await provider.getSigner(accounts[0]);
    return { provider: provider, signer: signer, address: await signer.getAddress(), development: false };
  }

  function connectDevelopment() {
    if (!window.TrancheDevWallet || !data.rpcUrl) throw new Error(messages._failed);
    var wallet = window.TrancheDevWallet.load(true);
    var url = new URL(data.rpcUrl, window.location.href).href;
    var provider = new ethers.JsonRpcProvider(url, chainId, { staticNetwork: true, batchMaxCount: 1 });
    var signer = wallet.connect(provider);
    return { provider: provider, signer: signer, address: wallet.address, development: true };
  }

  async function connected(chosen) {
    connection = chosen;
    document.getElementById("wallet-connected").hidden = false;
    document.getElementById("connected-address").textContent = chosen.address;
    document.getElementById("connected-address").title = chosen.address;
    if (faucetButton) faucetButton.hidden = !chosen.development;
    var linked = verified.indexOf(chosen.address.toLowerCase()) >= 0;
    if (form) form.hidden = !linked;
    if (settleButton) settleButton.hidden = !linked;
    show(linked ? "" : messages._not_linked, linked ? "" : "warning");
    await refreshWallet();
  }

  async function refreshWallet() {
    if (!connection) return;
    try {
      var balance = isEther ? await connection.provider.getBalance(connection.address)
        : await new ethers.Contract(data.paymentToken, ERC20, connection.provider).balanceOf(connection.address);
      document.getElementById("connected-balance").textContent = say(messages._balance, { balance: pay(balance) });
    } catch (error) { /* the balance is a courtesy: say nothing rather than something wrong */ }
    if (!data.saleAddress) return;
    try {
      var sale = new ethers.Contract(data.saleAddress, abi, connection.provider);
      var allocation = await sale.allocationOf(connection.address);
      document.getElementById("connected-allocation").textContent = say(messages._allocation, {
        paid: pay(allocation[0]), tokens: tokens(allocation[1]), refund: pay(allocation[2]) });
    } catch (error) {
      document.getElementById("connected-allocation").textContent = "";
    }
  }

  root.querySelectorAll("[data-connect]").forEach(function (button) {
    button.addEventListener("click", async function () {
      busy(true);
      try {
        await connected(button.dataset.connect === "development" ? connectDevelopment() : await connectBrowser());
      } catch (error) {
        var reason = error && error.kind ? { text: error.message, kind: error.kind } : explain(error);
        show(reason.text, reason.kind);
      } finally {
        busy(false);
      }
    });
  });

  // --------------------------------------------------------------------------------------------- buying

  function amountTyped() {
    var raw = (amountInput.value || "").trim().replace(/,/g, "");
    if (!raw || !/^\d*\.?\d*$/.test(raw)) return { error: messages._amount };
    try {
      var amount = ethers.parseUnits(raw, paymentDecimals);
      return amount > 0n ? { amount: amount } : { error: messages._amount };
    } catch (error) {
      return { error: say(messages._too_precise, { symbol: data.paymentSymbol }) };
    }
  }

  if (amountInput) {
    amountInput.addEventListener("input", function () {
      var typed = amountTyped();
      preview.textContent = typed.amount ? "≈ " + tokens(typed.amount * 10n ** BigInt(tokenDecimals) / price) : "";
    });
  }

  async function purchaseTerms() {
    var url = new URL(data.termsUrl, window.location.href);
    url.searchParams.set("wallet", connection.address);
    var response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    var body = await response.json().catch(function () { return {}; });
    if (!response.ok) throw Object.assign(new Error(body.detail || messages._failed), { kind: "warning" });
    return body;
  }

  async function buy(amount) {
    var sale = new ethers.Contract(data.saleAddress, abi, connection.signer);
    var value = isEther ? amount : 0n;
    if (!isEther) {
      var coin = new ethers.Contract(data.paymentToken, ERC20, connection.signer);
      var allowance = await coin.allowance(connection.address, data.saleAddress);
      if (allowance < amount) {
        show(say(messages._approving, { amount: pay(amount) }));
        var approval = await coin.approve(data.saleAddress, amount);
        await approval.wait();
      }
    }
    show(messages._confirm);
    if (data.eligibilityMode === "merkle") {
      var proofTerms = await purchaseTerms();
      return sale.buyWithProof(amount, proofTerms.proof, { value: value });
    }
    if (data.eligibilityMode === "voucher") {
      var terms = await purchaseTerms();
      var v = terms.voucher;
      return sale.buyWithVoucher(amount, [v.investorId, v.wallet, BigInt(v.maxAmount), BigInt(v.expiry)],
        terms.signature, { value: value });
    }
    return sale.buy(amount, { value: value });
  }

  async function sent(transaction, sentMessage, minedMessage) {
    show(sentMessage + " " + short(transaction.hash), "info");
    var receipt = await transaction.wait();
    show(say(minedMessage, { block: receipt.blockNumber }), "success");
    await refreshWallet();
  }

  if (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!connection) return;
      var typed = amountTyped();
      if (typed.error) { show(typed.error, "warning"); amountInput.focus(); return; }
      busy(true);
      try {
        await sent(await buy(typed.amount), messages._sent, messages._mined);
        amountInput.value = "";
        preview.textContent = "";
      } catch (error) {
        var reason = error && error.kind ? { text: error.message, kind: error.kind } : explain(error);
        show(reason.text, reason.kind);
      } finally {
        busy(false);
      }
    });
  }

  if (settleButton) {
    settleButton.addEventListener("click", async function () {
      if (!connection) return;
      busy(true);
      try {
        var sale = new ethers.Contract(data.saleAddress, abi, connection.signer);
        show(messages._confirm);
        var transaction = settleButton.dataset.action === "claim" ? await sale.claim(connection.address)
          : await sale.refund(connection.address);
        await sent(transaction, messages._claim_sent, messages._claim_mined);
      } catch (error) {
        var reason = explain(error);
        show(reason.text, reason.kind);
      } finally {
        busy(false);
      }
    });
  }

  // -------------------------------------------------------------------------------- the devnet's faucet

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (error) { return ""; }
  }

  if (faucetButton) {
    faucetButton.addEventListener("click", async function () {
      if (!connection) return;
      busy(true);
      try {
        var body = new FormData();
        body.append("address", connection.address);
        body.append("sale", data.saleId || "");
        var response = await fetch(data.faucetUrl, {
          method: "POST", credentials: "same-origin", body: body,
          headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        });
        var answer = await response.json().catch(function () { return {}; });
        if (!response.ok) { show(answer.detail || messages._failed, "warning"); return; }
        show(answer.detail + " " + short(answer.tx_hash), "info");
        var receipt = await connection.provider.waitForTransaction(answer.tx_hash);
        if (!receipt || receipt.status !== 1) { show(messages._failed, "warning"); return; }
        show(messages._faucet_done, "success");
        await refreshWallet();
      } catch (error) {
        show(explain(error).text, "danger");
      } finally {
        busy(false);
      }
    });
  }

  // For the browser tests and the console: the error decoder, checked against the contract's own ABI.
  window.trancheSaleExplain = function (payload) { return explain({ data: payload }).text; };
})();
