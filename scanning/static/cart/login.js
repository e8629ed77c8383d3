"use strict";
// A badge scan ends with Enter: move on to the PIN instead of submitting half a login.
(() => {
  const badge = document.getElementById("badge");
  badge.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); document.getElementById("pin").focus(); }
  });
  badge.focus();
})();
