/* The built-in development wallet, shared by the wallets page (wallet.js) and the sale page (token-sale.js).
 *
 * Its private key is created in this browser and kept, unencrypted, in local storage under one key, so the
 * wallet a person links on the wallets page is the one that buys on a sale page. Devnet only (chain 31337):
 * the pages offer it only there, and what signs checks the chain id again. Needs the vendored ethers UMD.
 */
(function () {
  "use strict";

  var DEVNET_CHAIN_ID = 31337;
  var STORAGE_KEY = "tranche.devWallet.privateKey";

  /* The wallet (an ethers.Wallet), created and stored on first use when `create` is true; else null if none. */
  function load(create) {
    if (typeof ethers === "undefined") throw new Error("ethers is not loaded");
    var key = window.localStorage.getItem(STORAGE_KEY);
    if (key) {
      try { return new ethers.Wallet(key); } catch (error) { if (!create) return null; /* damaged: a new one */ }
    }
    if (!create) return null;
    var wallet = ethers.Wallet.createRandom();
    window.localStorage.setItem(STORAGE_KEY, wallet.privateKey);
    return new ethers.Wallet(wallet.privateKey);
  }

  /* The stored wallet's address, or "" when this browser holds none. */
  function address() {
    try { var wallet = load(false); return wallet ? wallet.address : ""; } catch (error) { return ""; }
  }

  window.TrancheDevWallet = { DEVNET_CHAIN_ID: DEVNET_CHAIN_ID, STORAGE_KEY: STORAGE_KEY, load: load, address: address };
})();
