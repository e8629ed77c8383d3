"use strict";
// A badge scan ends with Enter: move on to the PIN instead of submitting half a login. A login
// with a field missing is explained on the page in the cart's language (the form is novalidate:
// the browser's own bubble would speak the browser's language) and never reaches the server,
// where it would count as a failed attempt.
(() => {
  const form = document.getElementById("login-form");
  const badge = document.getElementById("badge");
  const pin = document.getElementById("pin");
  const ward = document.getElementById("ward");
  const problem = document.getElementById("login-problem");
  badge.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); pin.focus(); }
  });
  function refuse(field, text) {
    problem.textContent = "✕ " + text;
    problem.hidden = false;
    field.focus();
  }
  form.addEventListener("submit", (event) => {
    let missing = null;
    if (!badge.value.trim()) missing = [badge, form.dataset.noBadge];
    else if (!/^[0-9]{6,8}$/.test(pin.value)) missing = [pin, form.dataset.badPin];
    else if (!ward.value) missing = [ward, form.dataset.noWard];
    if (missing) {
      event.preventDefault();
      refuse(...missing);
    }
  });
  // The server names the field it refused when a form came before this script (cart_login).
  (document.getElementById(form.dataset.focus) || badge).focus();
})();
