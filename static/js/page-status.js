/* One way for a page's script to say what happened: a Bootstrap alert in the page's status region, replacing the
 * one before (an empty message clears it). Shared by the wallets page (wallet.js) and the sale page (token-sale.js).
 */
(function () {
  "use strict";

  window.TranchePageStatus = {
    show: function (region, message, kind) {
      region.replaceChildren();
      if (!message) return;
      var box = document.createElement("div");
      box.className = "alert mb-0 alert-" + (kind || "info");
      if (kind === "danger") box.setAttribute("role", "alert");
      box.textContent = message;
      region.appendChild(box);
    },
  };
})();
