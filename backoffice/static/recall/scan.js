"use strict";
// The recall form's scan box. A scanner types the pack's code and then Enter: the code is read by
// the server (POST /api/v1/scan/decode/, no side effects) and its GTIN and lot fill the form,
// which is not submitted; the pharmacist then gives the reason and saves.
// The admin loads form scripts in the page head: wait for the form.
document.addEventListener("DOMContentLoaded", () => {
  const scan = document.getElementById("id_scan");
  if (!scan) return;
  const form = scan.form;
  const gtin = document.getElementById("id_gtin");
  const lot = document.getElementById("id_lot");
  const note = document.createElement("div");
  note.id = "scan-note";
  note.setAttribute("role", "status");
  scan.insertAdjacentElement("afterend", note);

  function say(text, ok) {
    note.textContent = text;
    note.className = ok ? "scan-ok" : "errornote";
  }

  async function read(code) {
    const response = await fetch(scan.dataset.decodeUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
      },
      body: JSON.stringify({ code, keyed: false }),
    });
    if (!response.ok) throw new Error(String(response.status));
    const body = await response.json();
    return (body.symbols || []).find((symbol) => symbol.kind === "medication" && symbol.payload);
  }

  scan.addEventListener("keydown", async (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault(); // the scanner's Enter must never save a recall without its reason
    const code = scan.value;
    if (!code.trim()) return;
    let symbol;
    try {
      symbol = await read(code);
    } catch (error) {
      say(scan.dataset.failed, false);
      return;
    }
    if (!symbol) {
      say(scan.dataset.notMedication, false);
      return;
    }
    gtin.value = symbol.payload.gtin;
    lot.value = symbol.payload.lot || "";
    say(symbol.payload.lot ? scan.dataset.filled : scan.dataset.noLot, true);
    (symbol.payload.lot ? document.getElementById("id_reason") : lot).focus();
  });
});
