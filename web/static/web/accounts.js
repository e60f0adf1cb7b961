/* Accounts page: "Revoke" posts to the accounts API, then reloads to show the new status. */
"use strict";
(function () {
  const error = document.getElementById("account-error");
  document.querySelectorAll("button[data-action=revoke]").forEach(function (button) {
    button.addEventListener("click", async function () {
      if (!window.confirm(button.dataset.confirm)) return;
      button.disabled = true;
      try {
        await adp.api(button.dataset.url, {method: "POST"});
        window.location.reload();
      } catch (err) {
        error.textContent = "Revoking failed: " + err.message;
        error.hidden = false;
        button.disabled = false;
      }
    });
  });
})();
