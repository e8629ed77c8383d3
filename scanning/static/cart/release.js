"use strict";
// Each badge scan ends with Enter: move on to the next field instead of submitting half a form.
(() => {
  for (const field of document.querySelectorAll("input[data-next]")) {
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        document.getElementById(field.dataset.next).focus();
      }
    });
  }
  const first = document.getElementById("badge");
  if (first) first.focus();
})();
