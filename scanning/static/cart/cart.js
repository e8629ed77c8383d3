/* The cart terminal. Scanner first: the scan field always has focus, Enter submits, and every
   decision comes from the server's rules (scan/check, then administrations/). */
"use strict";
(() => {
  const config = JSON.parse(document.getElementById("cart-config").textContent);
  const T = JSON.parse(document.getElementById("cart-strings").textContent);
  const $ = (id) => document.getElementById(id);
  const scanField = $("scan");
  const format = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");

  // Everything about the patient lives here and nowhere else, so locking can forget it at once.
  let state = emptyState();
  function emptyState() {
    return { patientScan: null, patient: null, meds: [], witness: null, witnessPin: "", overrides: {},
             lastCheck: null, idempotencyKey: null, pendingSwitch: null, busy: false };
  }

  // --- talking to the API -------------------------------------------------------------------
  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  async function api(method, path, body, headers = {}) {
    const response = await fetch(config.api + path, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), ...headers },
      // The cart's clock goes along: the server records its own time and warns when they differ.
      body: body === undefined ? undefined : JSON.stringify({ ...body, client_time: new Date().toISOString() }),
    });
    if (response.status === 401) {
      lock("expired");
      throw new Error("session");
    }
    let data = {};
    try { data = await response.json(); } catch (error) { data = {}; }
    return { status: response.status, data };
  }

  // --- telling a scanner from a person typing ------------------------------------------------
  // Wedge scanners "type" a whole code in a few milliseconds per character; people don't.
  let keyTimes = [];
  scanField.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const text = scanField.value;
      const keyed = typedByHand(keyTimes, text.length);
      scanField.value = "";
      keyTimes = [];
      if (text.trim()) handleScan({ code: text, keyed });
      return;
    }
    if (event.key.length === 1) keyTimes.push(performance.now());
  });
  scanField.addEventListener("paste", () => { keyTimes = [0, 1000]; });
  function typedByHand(times, length) {
    if (length < 4 || times.length < 2) return times.length > 0 && length >= 4;
    const gaps = [];
    for (let i = 1; i < times.length; i += 1) gaps.push(times[i] - times[i - 1]);
    gaps.sort((a, b) => a - b);
    return gaps[Math.floor(gaps.length / 2)] > 35;
  }

  // Focus returns to the scan field after anything that is not a field or dialog of its own.
  function refocus() {
    const active = document.activeElement;
    const openDialog = document.querySelector("dialog[open]");
    if (openDialog) return;
    if (active && (active.id === "witness-pin" || active.tagName === "SELECT" ||
                   (active.tagName === "INPUT" && active.dataset.keepFocus === "1"))) return;
    scanField.focus();
  }
  document.addEventListener("click", () => setTimeout(refocus, 0));
  scanField.addEventListener("blur", () => setTimeout(refocus, 150));

  // --- scans ----------------------------------------------------------------------------------
  // Scans are handled one after another, never dropped: a scanner can send the next code before
  // the server has answered the last one.
  let scanQueue = Promise.resolve();
  function handleScan(scan) {
    scanQueue = scanQueue.then(() => handleOneScan(scan));
    return scanQueue;
  }

  async function handleOneScan(scan) {
    resetIdle();
    state.busy = true;
    try {
      const kind = await kindOf(scan);
      if (kind.kind === "wristband") await onWristband(scan, kind);
      else if (kind.kind === "badge" && state.patient && needsWitness()) await onWitnessBadge(scan);
      else if (!state.patient) await onFirstScanNotWristband(scan);
      else await onMedication(scan);
    } catch (error) {
      if (error.message !== "session") say(T.network_error, "error");
    } finally {
      state.busy = false;
      refocus();
    }
  }

  async function kindOf(scan) {
    const { status, data } = await api("POST", "scan/decode/", scan.image ? { image: scan.image } : { code: scan.code });
    if (status !== 200 || !data.symbols || !data.symbols.length) return { kind: "unknown" };
    const known = data.symbols.find((symbol) => symbol.kind !== "unknown") || data.symbols[0];
    return { kind: known.kind, payload: known.payload, text: known.text, symbology: known.symbology_id };
  }

  async function onWristband(scan, kind) {
    if (state.patient && state.patientGsrn !== (kind.payload && kind.payload.gsrn)) {
      return askSwitch(scan, kind);
    }
    if (state.patient && state.patientGsrn === kind.payload.gsrn) return; // the same band again
    await openPatient(scan, kind);
  }

  async function openPatient(scan, kind) {
    const { status, data } = await api("POST", "scan/check/", { patient: scan, ward: config.ward });
    if (status !== 200) return say(errorText(data), "error");
    const patientStops = (data.findings || []).filter((f) => f.severity === "STOP");
    if (!data.patient || patientStops.length) {
      closePatient();
      showVerdict({ verdict: "stop", findings: data.findings });
      return;
    }
    state = { ...emptyState(), patientScan: scan, patient: data.patient, patientGsrn: kind.payload.gsrn };
    renderPatient(data.patient);
    hideVerdict();
    const patientWarnings = (data.findings || []).filter((f) => f.severity === "WARN");
    if (patientWarnings.length) showVerdict({ verdict: "warn", findings: patientWarnings, patientOnly: true });
    setPrompt(T.prompt_medication);
    await loadDoses();
  }

  async function onFirstScanNotWristband(scan) {
    // A drug or badge before any patient: run the check so the nurse sees exactly why not.
    const { data } = await api("POST", "scan/check/", { patient: scan, ward: config.ward });
    showVerdict({ verdict: "stop", findings: data.findings || [] });
  }

  async function onMedication(scan) {
    state.meds.push(scan);
    state.idempotencyKey = null;
    await runCheck();
  }

  async function onWitnessBadge(scan) {
    state.witness = scan;
    $("witness-name").textContent = T.witness_scanned;
    $("witness-pin").value = "";
    $("witness-pin").focus();
  }

  function needsWitness() {
    return !!(state.lastCheck && state.lastCheck.findings.some((f) => f.code === "WITNESS_REQUIRED"));
  }

  function checkBody() {
    const body = { patient: state.patientScan, medications: state.meds, ward: config.ward };
    if (state.witness) { body.witness = state.witness; body.witness_pin = state.witnessPin; }
    return body;
  }

  async function runCheck() {
    const { status, data } = await api("POST", "scan/check/", checkBody());
    if (status !== 200) { state.meds.pop(); return say(errorText(data), "error"); }
    state.lastCheck = data;
    state.overrides = Object.fromEntries(Object.entries(state.overrides)
      .filter(([code]) => data.findings.some((f) => f.code === code)));
    showVerdict(data);
  }

  // --- recording ------------------------------------------------------------------------------
  async function record() {
    if (!canRecord()) return;
    resetIdle();
    // One key per attempt: a retry after a dropped connection gets the first answer, not a second dose.
    state.idempotencyKey = state.idempotencyKey || crypto.randomUUID();
    const body = { ...checkBody(), overrides: Object.values(state.overrides) };
    $("record").disabled = true;
    let result;
    try {
      result = await api("POST", "administrations/", body, { "Idempotency-Key": state.idempotencyKey });
    } catch (error) {
      $("record").disabled = false;
      if (error.message !== "session") say(T.network_error, "error");
      return;
    }
    const { status, data } = result;
    if (status === 201) {
      say(format(T.recorded, { drug: data.medication, amount: `${trimNumber(data.amount)} ${data.unit}` })
          + warningText(data), "ok");
      clearMeds();
      await loadDoses();
    } else if (status >= 500) {
      // Not a STOP: the server could not answer. The same key goes again, so no second dose.
      $("record").disabled = false;
      say(T.server_unavailable, "error");
    } else {
      const findings = (data.error && data.error.details && data.error.details.findings) || [];
      showVerdict({ verdict: status === 409 ? "stop" : (data.error.details.verdict || "stop"), findings,
                    error: errorText(data) });
    }
    refocus();
  }

  function canRecord() {
    const check = state.lastCheck;
    if (!check || !state.meds.length || check.verdict === "stop") return false;
    return check.findings.filter((f) => f.severity === "WARN").every((f) => {
      const chosen = state.overrides[f.code];
      if (!chosen) return false;
      const reason = f.override_reasons.find((r) => r.code === chosen.reason);
      return !(reason && reason.needs_comment) || chosen.comment.trim().length > 0;
    });
  }

  // --- drawing --------------------------------------------------------------------------------
  function renderPatient(patient) {
    $("patient").hidden = false;
    $("patient-name").textContent = patient.full_name;
    $("patient-dob").textContent = formatDate(patient.date_of_birth);
    $("patient-mrn").textContent = patient.mrn;
    const allergies = patient.allergies || [];
    const box = $("patient-allergies");
    box.className = allergies.length ? "allergies present" : "allergies";
    box.textContent = allergies.length
      ? `⚠ ${T.allergies}: ${allergies.map((a) => `${a.name} (${a.severity_label})`).join(", ")}`
      : T.no_allergies;
  }

  function showVerdict(check) {
    const verdict = check.verdict;
    const box = $("verdict");
    box.hidden = false;
    box.className = `verdict ${verdict}`;
    $("verdict-icon").textContent = { go: "✔", warn: "⚠", stop: "✖" }[verdict];
    $("verdict-word").textContent = T[verdict];
    $("verdict-drug").textContent = check.order ? `${check.order.medication} · ${check.order.dose} · ${check.order.route}` : "";
    const progress = $("progress");
    if (check.dose && check.dose.comparison === "less" && check.dose.scanned) {
      progress.hidden = false;
      progress.textContent = format(T.progress, { scanned: check.dose.scanned, ordered: check.dose.ordered,
                                                   count: state.meds.length, total: unitsNeeded(check) });
    } else progress.hidden = true;
    const list = $("findings");
    list.replaceChildren();
    if (check.error) list.append(li(check.error, "finding stop"));
    for (const finding of check.findings || []) list.append(findingItem(finding));
    $("witness").hidden = !(check.findings || []).some((f) => f.code === "WITNESS_REQUIRED");
    $("record").hidden = !!check.patientOnly;
    $("record").disabled = !canRecord();
    setPrompt(needsWitness() ? T.prompt_witness : state.patient ? T.prompt_medication : T.prompt_patient);
  }

  function unitsNeeded(check) {
    const ordered = parseFloat(check.dose.ordered), scanned = parseFloat(check.dose.scanned);
    if (!(ordered > 0 && scanned > 0) || !state.meds.length) return "?";
    return Math.ceil(ordered / (scanned / state.meds.length));
  }

  function findingItem(finding) {
    const item = li("", `finding ${finding.severity.toLowerCase()}`);
    const text = document.createElement("span");
    text.textContent = `${finding.severity === "STOP" ? "✖" : "⚠"} ${finding.message}`;
    item.append(text);
    if (finding.severity === "WARN" && finding.override_reasons.length) {
      const reasons = document.createElement("div");
      reasons.className = "reasons";
      for (const reason of finding.override_reasons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = reason.label;
        button.dataset.code = finding.code;
        button.dataset.reason = reason.code;
        const chosen = state.overrides[finding.code];
        button.setAttribute("aria-pressed", String(!!chosen && chosen.reason === reason.code));
        button.addEventListener("click", () => chooseReason(finding, reason, item));
        reasons.append(button);
      }
      item.append(reasons);
      const chosen = state.overrides[finding.code];
      if (chosen && finding.override_reasons.find((r) => r.code === chosen.reason && r.needs_comment)) {
        item.append(commentInput(finding.code));
      }
    }
    return item;
  }

  function chooseReason(finding, reason) {
    state.overrides[finding.code] = { code: finding.code, reason: reason.code,
                                      comment: (state.overrides[finding.code] || {}).comment || "" };
    showVerdict(state.lastCheck);
    if (reason.needs_comment) {
      const input = document.querySelector(`input[data-comment-for="${finding.code}"]`);
      if (input) input.focus();
    }
  }

  function commentInput(code) {
    const input = document.createElement("input");
    input.type = "text";
    input.maxLength = 500;
    input.placeholder = T.comment_required;
    input.dataset.commentFor = code;
    input.dataset.keepFocus = "1";
    input.value = state.overrides[code].comment;
    input.addEventListener("input", () => {
      state.overrides[code].comment = input.value;
      $("record").disabled = !canRecord();
    });
    input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); scanField.focus(); } });
    return input;
  }

  async function loadDoses() {
    if (!state.patient) return;
    const { status, data } = await api("GET", `patients/${encodeURIComponent(state.patient.mrn)}/mar/`);
    if (status !== 200) return;
    $("patient-bed").textContent = data.admission ? `${T.bed}: ${data.admission.ward} ${data.admission.bed || ""}` : "";
    const list = $("dose-list");
    list.replaceChildren();
    const rows = [];
    for (const order of data.orders) {
      if (order.schedule === "prn" && order.status === "active") {
        rows.push({ sort: "0", order, label: T.prn, timing: "prn" });
      }
      for (const dose of order.doses) rows.push({ sort: dose.due_at, order, dose, label: T[dose.timing] || dose.timing,
                                                  timing: dose.timing });
    }
    rows.sort((a, b) => (a.sort < b.sort ? -1 : 1));
    for (const row of rows) list.append(doseItem(row));
    $("doses").hidden = false;
  }

  function doseItem({ order, dose, label, timing }) {
    const item = li("", `dose ${timing}`);
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = dose ? formatTime(dose.due_at) : "PRN";
    const what = document.createElement("span");
    what.className = "what";
    what.textContent = `${order.medication} · ${order.dose} · ${order.route}` +
      (order.status !== "active" ? ` (${T["order_" + order.status] || order.status})` : "");
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = label;
    item.append(when, what, tag);
    if (dose && ["due", "overdue", "missed", "upcoming"].includes(timing) && order.status === "active") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quiet";
      button.textContent = T.not_given;
      button.addEventListener("click", () => openNotGiven(order, dose));
      item.append(button);
    }
    return item;
  }

  function li(text, className) {
    const item = document.createElement("li");
    item.className = className;
    if (text) item.textContent = text;
    return item;
  }

  function hideVerdict() { $("verdict").hidden = true; state.lastCheck = null; }
  function setPrompt(text) { $("prompt").textContent = text; }
  function say(text, kind) {
    const box = $("message");
    box.textContent = text;
    box.className = `message ${kind}`;
    box.hidden = false;
  }
  function errorText(data) {
    if (data && data.error && data.error.code === "DATABASE_UNAVAILABLE") return T.network_error;
    return (data && data.error && data.error.message) || T.network_error;
  }
  function warningText(data) {
    return (data && data.warnings || []).map((warning) => ` ⚠ ${warning.message}`).join("");
  }
  function trimNumber(value) { return String(parseFloat(value)); }
  function formatDate(iso) { const [y, m, d] = iso.split("-"); return `${d}/${m}/${y}`; }
  function formatTime(iso) { return iso.slice(11, 16); }

  function clearMeds() {
    state.meds = []; state.overrides = {}; state.witness = null; state.witnessPin = ""; state.idempotencyKey = null;
    hideVerdict();
    setPrompt(state.patient ? T.prompt_medication : T.prompt_patient);
  }

  function closePatient() {
    state = emptyState();
    for (const id of ["patient-name", "patient-dob", "patient-mrn", "patient-bed", "patient-allergies"]) $(id).textContent = "";
    $("dose-list").replaceChildren();
    $("findings").replaceChildren();
    $("patient").hidden = true; $("doses").hidden = true; $("verdict").hidden = true; $("message").hidden = true;
    setPrompt(T.prompt_patient);
  }

  // --- dialogs --------------------------------------------------------------------------------
  function askSwitch(scan, kind) {
    state.pendingSwitch = { scan, kind };
    $("switch-text").textContent = format(T.switch_confirm, { current: state.patient.full_name });
    $("switch-dialog").show();
    $("switch-no").focus();
  }
  $("switch-yes").addEventListener("click", async () => {
    const pending = state.pendingSwitch;
    $("switch-dialog").close();
    closePatient();
    if (pending) await openPatient(pending.scan, pending.kind);
    refocus();
  });
  $("switch-no").addEventListener("click", () => { state.pendingSwitch = null; $("switch-dialog").close(); refocus(); });

  let notGivenTarget = null;
  function openNotGiven(order, dose) {
    // One key per dialog: a double tap or a retry documents the dose once.
    notGivenTarget = { order, dose, key: crypto.randomUUID() };
    $("not-given-drug").textContent = `${order.medication} · ${formatTime(dose.due_at)}`;
    $("not-given-comment").value = "";
    $("not-given-dialog").show();
  }
  for (const button of document.querySelectorAll("#not-given-reasons button")) {
    button.addEventListener("click", async () => {
      const reason = button.dataset.reason;
      const comment = $("not-given-comment").value.trim();
      if (reason === "other" && !comment) { $("not-given-comment").focus(); return; }
      const { status, data } = await api("POST", "administrations/not-given/", {
        patient: state.patientScan, order: notGivenTarget.order.id, scheduled_dose: notGivenTarget.dose.id,
        reason, comment, cart: config.cart }, { "Idempotency-Key": notGivenTarget.key });
      $("not-given-dialog").close();
      if (status === 201) { say(T.not_given_recorded, "ok"); await loadDoses(); } else say(errorText(data), "error");
      refocus();
    });
  }
  $("not-given-cancel").addEventListener("click", () => { $("not-given-dialog").close(); refocus(); });

  $("keyed-button").addEventListener("click", () => { $("keyed-code").value = ""; $("keyed-dialog").show(); $("keyed-code").focus(); });
  $("keyed-ok").addEventListener("click", () => {
    const text = $("keyed-code").value.trim();
    $("keyed-dialog").close();
    scanField.focus();  // at once: the next scan may already be on its way
    if (text) handleScan({ code: text, keyed: true });
  });
  $("keyed-code").addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); $("keyed-ok").click(); } });
  $("keyed-cancel").addEventListener("click", () => { $("keyed-dialog").close(); refocus(); });

  $("witness-confirm").addEventListener("click", async () => {
    state.witnessPin = $("witness-pin").value;
    if (!state.witness) { $("witness-name").textContent = T.prompt_witness; return; }
    await runCheck();
    refocus();
  });
  $("witness-pin").addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); $("witness-confirm").click(); } });

  $("record").addEventListener("click", record);
  $("clear-meds").addEventListener("click", () => { clearMeds(); refocus(); });
  $("close-patient").addEventListener("click", () => { closePatient(); refocus(); });

  // --- camera ---------------------------------------------------------------------------------
  let stream = null, cameraTimer = null;
  $("camera-button").addEventListener("click", async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    } catch (error) { say(T.camera_unavailable, "error"); return; }
    $("camera-video").srcObject = stream;
    $("camera-dialog").show();
    cameraTimer = setInterval(grabFrame, 400);
  });
  async function grabFrame() {
    const video = $("camera-video");
    if (!video.videoWidth || state.busy) return;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const image = canvas.toDataURL("image/jpeg", 0.92).split(",")[1];
    const { status, data } = await api("POST", "scan/decode/", { image });
    if (status !== 200 || !data.symbols.length) return;
    const symbol = data.symbols.find((s) => s.kind !== "unknown") || data.symbols[0];
    stopCamera();
    await handleScan({ code: (symbol.symbology_id || "") + symbol.text, keyed: false });
  }
  function stopCamera() {
    clearInterval(cameraTimer);
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    if ($("camera-dialog").open) $("camera-dialog").close();
  }
  $("camera-close").addEventListener("click", () => { stopCamera(); refocus(); });

  // --- locking --------------------------------------------------------------------------------
  let idleTimer = null;
  function resetIdle() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => lock("idle"), config.idleSeconds * 1000);
  }
  function lock(reason) {
    closePatient();
    stopCamera();
    document.body.classList.add("locked");
    const form = $("logout-form");
    form.elements.reason.value = reason;
    form.submit();
  }
  for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, resetIdle, { passive: true });
  window.addEventListener("pagehide", closePatient);

  setPrompt(T.prompt_patient);
  resetIdle();
  refocus();
})();
