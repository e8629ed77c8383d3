/* The cart terminal. Scanner first: the scan field always has focus, Enter submits, and every
   decision comes from the server's rules (scan/check, then administrations/). */
"use strict";
(() => {
  const config = JSON.parse(document.getElementById("cart-config").textContent);
  const T = JSON.parse(document.getElementById("cart-strings").textContent);
  // The dose's own cross-check and the witness of a controlled drug's waste: one second nurse.
  const WITNESS_CODES = ["WITNESS_REQUIRED", "WASTE_WITNESS_REQUIRED"];
  // A student nurse's dose: her clinical instructor co-signs by badge and PIN (asked after the
  // witness, when both are needed: the instructor may be both and scans once for each).
  const COSIGN_CODE = "STUDENT_COSIGN_REQUIRED";
  const $ = (id) => document.getElementById(id);
  const scanField = $("scan");
  const format = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");

  // Everything about the patient lives here and nowhere else, so locking can forget it at once.
  let state = emptyState();
  function emptyState() {
    return { patientScan: null, patient: null, meds: [], witness: null, witnessPin: "", overrides: {},
             cosigner: null, cosignerPin: "",
             lastCheck: null, idempotencyKey: null, pendingSwitch: null, busy: false, site: "",
             assessments: {}, assessmentsChecked: "", prnReason: "", prnReasonChecked: "" };
  }

  // --- talking to the API -------------------------------------------------------------------
  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  async function api(method, path, body, headers = {}) {
    // A request with no answer in time is a lost answer, like a dropped connection.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), API_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(config.api + path, {
        method, credentials: "same-origin", signal: timeout.signal,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), ...headers },
        // The cart's clock goes along: the server records its own time and warns when they differ.
        body: body === undefined ? undefined : JSON.stringify({ ...body, client_time: new Date().toISOString() }),
      });
    } catch (error) {
      markOffline();
      throw new Error("offline");
    } finally {
      clearTimeout(timer);
    }
    markOnline();
    if (response.status === 401) {
      // The session ended on the server (expired, a restart): log in again over the page and
      // send the same request again, Idempotency-Key and all, with nothing on screen lost.
      const outcome = await reauthenticate();
      if (outcome === "same") return api(method, path, body, headers);
      const ended = new Error("session");
      ended.reauth = outcome;  // "other" (another nurse logged in) or "cancelled"
      throw ended;
    }
    let data = {};
    try { data = await response.json(); } catch (error) { data = {}; }
    return { status: response.status, data };
  }

  const API_TIMEOUT_MS = 15000;

  // --- offline --------------------------------------------------------------------------------
  // No answer from the server: a banner no one can miss, Record off, and a ping that notices the
  // way back. What the screen showed before stays only where it is still true.
  let offline = false, pingTimer = null;
  function markOffline() {
    if (offline) return;
    offline = true;
    $("offline").hidden = false;
    document.body.classList.add("offline");
    $("record").disabled = true;
    clearInterval(pingTimer);
    pingTimer = setInterval(ping, 3000);
  }
  function markOnline() {
    if (!offline) return;
    offline = false;
    clearInterval(pingTimer);
    $("offline").hidden = true;
    document.body.classList.remove("offline");
    $("record").disabled = !canRecord();
  }
  async function ping() {
    try {
      const response = await fetch(config.api + "auth/badge/", { credentials: "same-origin" });
      if (response.ok) markOnline();
    } catch (error) { /* still offline */ }
  }
  window.addEventListener("offline", markOffline);
  window.addEventListener("online", ping);

  // A scan that could not be checked changes what is at the bedside: nothing on screen is current.
  function onScanOffline(scan) {
    if (looksLikeAnotherBand(scan)) closePatient();
    else clearMeds();
    say(T.offline_scan, "error");
  }
  function looksLikeAnotherBand(scan) {
    const match = (scan.code || "").match(/8018(\d{18})/);
    return !!match && match[1] !== state.patientGsrn;
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
    // Fewer than two timed keys: the rest came before this script ran (a scan right after the
    // page loaded), faster than any hand.
    if (length < 4 || times.length < 2) return false;
    const gaps = [];
    for (let i = 1; i < times.length; i += 1) gaps.push(times[i] - times[i - 1]);
    gaps.sort((a, b) => a - b);
    return gaps[Math.floor(gaps.length / 2)] > 35;
  }

  // Focus returns to the scan field after anything that is not a field or dialog of its own.
  function refocus() {
    const active = document.activeElement;
    const openDialog = document.querySelector("dialog[open]");
    if (openDialog) {
      // A tap on the login-again dialog's text (or on Record as it opened) must not leave her
      // badge scan with nowhere to go: back to the badge, or the PIN once the badge is in.
      const login = $("reauth-dialog");
      if (login.open && !(active && login.contains(active) && active.tagName === "INPUT")) {
        ($("reauth-badge").value ? $("reauth-pin") : $("reauth-badge")).focus();
      }
      return;
    }
    if (active && (active.id === "witness-pin" || active.id === "cosign-pin" || active.tagName === "SELECT" ||
                   (active.tagName === "INPUT" && active.dataset.keepFocus === "1"))) return;
    // Without scrolling: this runs 150 ms after a tap takes focus, often while a gloved finger
    // is still pressing. Scrolling up to the field moved the page under it, and the tap landed
    // on whatever came there ("Start over" did nothing).
    scanField.focus({ preventScroll: true });
  }
  document.addEventListener("click", () => setTimeout(refocus, 0));
  // A key that reaches no field (focus was lost, or the page was still loading) goes to the scan
  // field: focused during keydown, the field receives the character itself.
  document.addEventListener("keydown", (event) => {
    const active = document.activeElement;
    if (document.querySelector("dialog[open]") || (active && active !== document.body)) return;
    if (event.key.length === 1 || event.key === "Enter") scanField.focus();
  }, true);
  scanField.addEventListener("blur", () => setTimeout(refocus, 150));

  // --- scans ----------------------------------------------------------------------------------
  // Scans are handled one after another, never dropped: a scanner can send the next code before
  // the server has answered the last one.
  let scanQueue = Promise.resolve();
  function handleScan(scan) {
    scanQueue = queued(() => handleOneScan(scan));
    return scanQueue;
  }
  // Work queued behind the scan queue (a scan, a check again after a reason, a site or a witness)
  // keeps Record off until it is done: the verdict on screen is about to change, and a record
  // sent beside a check would race it (after a login, both would hash the witness's PIN at once).
  let workQueued = 0;
  function queued(work) {
    workQueued += 1;
    $("record").disabled = true;
    const done = scanQueue.then(work);
    done.finally(() => { workQueued -= 1; $("record").disabled = !canRecord(); }).catch(() => {});
    return done;
  }

  // A tap beside the verdict (a reason, a site, a value measured, a witness's PIN) checks again
  // the units on screen when she tapped. Queued behind a slow answer, it may run after she chose
  // "Start over" or opened another patient: then it is dropped, never a check of no units or a
  // verdict back on a cleared screen. Focus goes back as after any tap (a dialog keeps it).
  function checkAgainForTap(check) {
    const meds = state.meds;
    scanQueue = queued(() => (state.meds === meds && meds.length ? check() : undefined)).catch((error) => {
      if (error.message !== "session") say(T.network_error, "error");
    }).finally(refocus);
  }

  async function handleOneScan(scan) {
    resetIdle();
    state.busy = true;
    try {
      const kind = await kindOf(scan);
      if (state.pendingSwitch && kind.kind !== "wristband") await decideSwitch(kind);
      else if (kind.kind === "wristband") await onWristband(scan, kind);
      else if (kind.kind === "badge" && state.patient && needsWitness()) await onWitnessBadge(scan);
      else if (kind.kind === "badge" && state.patient && needsCosign()) await onCosignBadge(scan);
      else if (!state.patient) await onFirstScanNotWristband(scan);
      else await onMedication(scan, kind);
    } catch (error) {
      if (error.message === "offline") onScanOffline(scan);
      else if (error.message !== "session") say(T.network_error, "error");
    } finally {
      state.busy = false;
      refocus();
      verdictInView();
    }
  }

  // A scan's verdict is read at once, wherever she had scrolled to (the dose list below, a patch
  // to remove): its heading is brought into view. Only after a scan: the page never moves under
  // a tap.
  function verdictInView() {
    const box = $("verdict");
    if (box.hidden || document.querySelector("dialog[open]")) return;
    const top = box.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 120) box.scrollIntoView({ block: "start" });
  }

  async function kindOf(scan) {
    const { status, data } = await api("POST", "scan/decode/", scan.image ? { image: scan.image } : { code: scan.code });
    if (status !== 200 || !data.symbols || !data.symbols.length) return { kind: "unknown" };
    const known = data.symbols.find((symbol) => symbol.kind !== "unknown") || data.symbols[0];
    return { kind: known.kind, payload: known.payload, text: known.text, symbology: known.symbology_id };
  }

  async function onWristband(scan, kind) {
    if (state.pendingSwitch) return decideSwitch(kind);
    if (state.patient && state.patientGsrn !== (kind.payload && kind.payload.gsrn)) {
      return askSwitch(scan, kind);
    }
    if (state.patient && state.patientGsrn === kind.payload.gsrn) return; // the same band again
    await openPatient(scan, kind);
  }

  async function openPatient(scan, kind) {
    const { status, data } = await api("POST", "scan/check/", { patient: scan, ward: config.ward });
    if (status !== 200) return say(errorText(data), "error");
    await showOpenedPatient(scan, kind, data);
  }

  async function showOpenedPatient(scan, kind, data) {
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
    if (patientWarnings.length) {
      // kept, so that a reason chosen for a typed wristband redraws this same view
      state.patientCheck = { verdict: "warn", findings: patientWarnings, patientOnly: true };
      showVerdict(state.patientCheck);
    }
    setPrompt(T.prompt_medication);
    await loadDoses();
  }

  async function onFirstScanNotWristband(scan) {
    // A drug or badge before any patient: run the check so the nurse sees exactly why not.
    const { data } = await api("POST", "scan/check/", { patient: scan, ward: config.ward });
    showVerdict({ verdict: "stop", findings: data.findings || [] });
  }

  // What each scanned unit is, kept beside the scan (never sent): to spot a second read of the
  // same unit and to name it in the list of units.
  const unitIdentity = new WeakMap();
  const DOUBLE_READ_MS = 2000;

  async function onMedication(scan, kind) {
    if (kind.kind !== "medication") return refuseScan(kind);
    const identity = { ...identityOf(kind), keyed: Boolean(scan.keyed) };
    const twin = state.meds.map((m) => unitIdentity.get(m)).find((other) => sameUnit(other, identity));
    if (twin) return say(T.duplicate_unit, "notice");
    unitIdentity.set(scan, identity);
    state.meds.push(scan);
    state.idempotencyKey = null;
    await runCheck();
  }

  // Not a medication in the medication slot: refused on its own, the dose stays as it was.
  function refuseScan(kind) {
    say(kind.kind === "badge" ? T.refused_badge : T.refused_unknown, "error");
  }

  function identityOf(kind) {
    const payload = kind.payload || {};
    return { gtin: payload.gtin || "", lot: payload.lot || "", serial: payload.serial || "",
             text: (kind.text || "").replace(/\s+/g, ""), at: performance.now() };
  }

  // The same serialised unit is the same unit; an unserialised code read again within a moment
  // is the scanner reading one label twice (a second tablet from the same box comes later). A
  // code typed by hand is never a double read: she typed it twice on purpose.
  function sameUnit(one, other) {
    if (!one) return false;
    if (one.serial || other.serial) return one.gtin === other.gtin && one.serial === other.serial;
    if (one.keyed || other.keyed) return false;
    return one.text === other.text && other.at - one.at < DOUBLE_READ_MS;
  }

  function renderUnits() {
    const list = $("units");
    list.replaceChildren();
    state.meds.forEach((scan, index) => {
      const identity = unitIdentity.get(scan) || { gtin: scan.code || "" };
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = [identity.gtin || identity.text,
                          identity.lot && `${T.unit_lot} ${identity.lot}`,
                          identity.serial && `${T.unit_serial} ${identity.serial}`].filter(Boolean).join(" · ");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary remove-unit";
      remove.textContent = `✕ ${T.remove_unit}`;
      remove.addEventListener("click", () => removeUnit(scan));
      item.append(text, remove);
      list.append(item);
    });
  }

  function removeUnit(scan) {
    scanQueue = queued(async () => {
      const index = state.meds.indexOf(scan);
      if (index < 0) return;
      state.meds.splice(index, 1);
      state.idempotencyKey = null;
      $("message").hidden = true;
      if (!state.meds.length) { clearMeds(); refocus(); return; }
      try { await runCheck(); } catch (error) { if (error.message === "offline") onScanOffline({}); }
      refocus();
    });
  }

  async function onWitnessBadge(scan) {
    state.witness = scan;
    $("witness-name").textContent = T.witness_scanned;
    $("witness-pin").value = "";
    $("witness-pin").focus();
  }

  function needsWitness() {
    return !!(state.lastCheck && state.lastCheck.findings.some((f) => WITNESS_CODES.includes(f.code)));
  }

  async function onCosignBadge(scan) {
    state.cosigner = scan;
    $("cosign-name").textContent = T.cosign_scanned;
    $("cosign-pin").value = "";
    $("cosign-pin").focus();
  }

  function needsCosign() {
    return !!(state.lastCheck && state.lastCheck.findings.some((f) => f.code === COSIGN_CODE));
  }

  // The rest of a partial unit, wasted: what the rules computed (PARTIAL_UNIT's `waste`), sent
  // with the dose once the nurse says the remainder was wasted. The server checks it balances.
  function wasteOf(check) {
    const chosen = state.overrides.PARTIAL_UNIT;
    if (!check || !chosen || chosen.reason !== "REMAINDER_WASTED") return null;
    const partial = (check.findings || []).find((f) => f.code === "PARTIAL_UNIT");
    const waste = partial && partial.data && partial.data.waste;
    return waste ? { amount: waste.value, unit: waste.unit, reason: "partial_dose" } : null;
  }

  function checkBody() {
    const body = { patient: state.patientScan, medications: state.meds, ward: config.ward };
    if (state.witness) { body.witness = state.witness; body.witness_pin = state.witnessPin; }
    if (state.cosigner) { body.cosigner = state.cosigner; body.cosigner_pin = state.cosignerPin; }
    if (state.site) body.site = state.site;
    const measured = assessmentValues();
    if (measured.length) body.assessments = measured;
    if (state.prnReason) body.prn_reason = state.prnReason;
    const waste = wasteOf(state.lastCheck);
    if (waste) body.waste = waste;
    return body;
  }

  async function runCheck() {
    const meds = state.meds;
    let answer;
    const body = checkBody();
    try {
      answer = await api("POST", "scan/check/", body);
    } catch (error) {
      // Login cancelled: the verdict on screen was for other units, so nothing of it is current.
      if (error.reauth === "cancelled") clearMeds();
      throw error;
    }
    // Cleared (or another patient opened) while the check was on its way: its verdict is for
    // units no longer on the screen.
    if (state.meds !== meds) return;
    const { status, data } = answer;
    if (status !== 200) { state.meds.pop(); return say(errorText(data), "error"); }
    state.lastCheck = data;
    state.assessmentsChecked = JSON.stringify(body.assessments || []);
    state.prnReasonChecked = body.prn_reason || "";
    state.overrides = Object.fromEntries(Object.entries(state.overrides)
      .filter(([code]) => data.findings.some((f) => f.code === code)));
    showVerdict(data);
    renderUnits();
  }

  // The same scans checked again with what the nurse chose or entered beside them (the waste to
  // document, the values measured): nothing is added or taken away, so a refusal says why and
  // leaves the units as they are.
  async function recheck() {
    const meds = state.meds;
    const body = checkBody();
    const { status, data } = await api("POST", "scan/check/", body);
    if (state.meds !== meds) return;
    if (status !== 200) return say(errorText(data), "error");
    state.lastCheck = data;
    state.assessmentsChecked = JSON.stringify(body.assessments || []);
    state.prnReasonChecked = body.prn_reason || "";
    showVerdict(data);
    renderUnits();
  }

  // --- recording ------------------------------------------------------------------------------
  async function record() {
    if (!canRecord()) return;
    resetIdle();
    // One key per attempt: a retry after a dropped connection gets the first answer, not a second dose.
    state.idempotencyKey = state.idempotencyKey || crypto.randomUUID();
    const body = { ...checkBody(), overrides: Object.values(state.overrides) };
    const infusion = infusionOrder();
    if (infusion) { body.order = state.lastCheck.order.id; body.rate_ml_h = $("infusion-rate").value; body.line = $("infusion-line").value; }
    $("record").disabled = true;
    let result;
    try {
      result = await api("POST", infusion ? "infusions/hang/" : "administrations/", body,
                         { "Idempotency-Key": state.idempotencyKey });
    } catch (error) {
      // A login over the page that did not end with her (cancelled, another nurse) has said
      // in words that the dose is not recorded; a cancelled one keeps the scans and the key.
      if (error.message === "session") $("record").disabled = !canRecord();
      else await settleLostRecord(state.idempotencyKey);
      return;
    }
    const { status, data } = result;
    if (status >= 500) await settleLostRecord(state.idempotencyKey);
    else await showRecordAnswer(status, data);
    refocus();
  }

  async function showRecordAnswer(status, data) {
    if (status === 201 && data.bag) {
      say(format(T.bag_hung, { drug: data.bag.medication, rate: trimNumber(data.bag.rate_ml_h), line: data.bag.line })
          + warningText(data), "ok");
      clearMeds();
      await loadDoses();
    } else if (status === 201) {
      say(format(T.recorded, { drug: data.medication, amount: `${trimNumber(data.amount)} ${data.unit}` })
          + (data.waste ? " " + format(T.waste_recorded, { amount: `${trimNumber(data.waste.amount)} ${data.waste.unit}` }) : "")
          + warningText(data), "ok");
      clearMeds();
      await loadDoses();
    } else {
      const details = (data.error && data.error.details) || {};
      const findings = details.findings || [];
      // The order came to ask for values after her check (an update from the HIS): the check is
      // run again, so that the fields it asks for are on the screen, not only the refusal.
      if (findings.some((f) => f.code === "ASSESSMENT_REQUIRED")) return recheck();
      showVerdict({ verdict: status === 409 ? "stop" : (details.verdict || "stop"), findings,
                    error: errorText(data) });
    }
  }

  // The answer to a record was lost (no connection, timeout, 5xx): the server may well have saved
  // it. Ask what became of this key until the server says, and show only what it says.
  async function settleLostRecord(key) {
    const patient = state.patient;
    state.settling = key;
    $("record").disabled = true;
    say(T.outcome_checking, "pending");
    let outcome;
    try {
      outcome = await outcomeOf(key);
    } catch (error) {
      if (error.message === "session") return;  // another nurse logged in: said in words
      throw error;
    }
    if (state.patient !== patient || state.settling !== key) {
      // The nurse moved on meanwhile: still tell her the truth about that dose.
      if (outcome.outcome === "recorded") say(format(T.recorded, { drug: outcome.answer.medication,
        amount: `${trimNumber(outcome.answer.amount)} ${outcome.answer.unit}` }), "ok");
      else if (outcome.outcome === "not_recorded") say(T.outcome_not_recorded, "error");
      else say(errorText(outcome.answer), "error");
      return;
    }
    state.settling = null;
    if (outcome.outcome === "not_recorded") {
      state.idempotencyKey = null;  // that key is closed on the server: the next try is a new one
      say(T.outcome_not_recorded, "error");
      $("record").disabled = !canRecord();
    } else await showRecordAnswer(outcome.status, outcome.answer);
    refocus();
  }

  async function outcomeOf(key) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const { status, data } = await api("POST", "administrations/outcome/", { idempotency_key: key });
        if (status === 200 && data.outcome) return data;
      } catch (error) {
        // Another nurse logged in: this key is not hers to ask about. A cancelled login is
        // asked for again: until the server says, the cart does not know.
        if (error.message === "session" && error.reauth !== "cancelled") throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 8000)));
    }
  }

  function canRecord() {
    if (offline || state.settling || workQueued) return false;
    const check = state.lastCheck;
    if (!check || !state.meds.length || check.verdict === "stop") return false;
    if (check.site && check.site.required && !state.site) return false;
    // The values on screen are the values the rules judged: changed since, they are checked again.
    if (JSON.stringify(assessmentValues()) !== state.assessmentsChecked) return false;
    if (state.prnReason !== state.prnReasonChecked) return false;
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
    $("patient-age").textContent = patient.age || "";
    // A dose by weight is computed from this weighing: its date says how current it is.
    $("patient-weight").textContent = patient.weight_kg
      ? format(T.weight, { kg: trimNumber(patient.weight_kg), date: formatDate(patient.weight_measured_at.slice(0, 10)) })
      : T.no_weight;
    $("patient-mrn").textContent = patient.mrn;
    const allergies = patient.allergies || [];
    const box = $("patient-allergies");
    box.className = allergies.length ? "allergies present" : "allergies";
    box.textContent = allergies.length
      ? `⚠ ${T.allergies}: ${allergies.map((a) => `${a.name} (${a.severity_label})`).join(", ")}`
      : T.no_allergies;
    // A transfer from the HIS (A02) within TRANSFER_NOTICE_HOURS: doses may have been planned on
    // the old ward, and the band may have been reprinted there.
    const transfer = patient.transfer;
    $("patient-transfer").hidden = !(transfer && transfer.recent);
    $("patient-transfer").textContent = transfer && transfer.recent
      ? `⇄ ${format(T.transferred, { ward: transfer.from_ward, bed: transfer.from_bed || "",
                                     time: formatTime(transfer.at), date: formatDate(transfer.at.slice(0, 10)) })}`
      : "";
  }

  function showVerdict(check) {
    const verdict = check.verdict;
    const box = $("verdict");
    box.hidden = false;
    box.className = `verdict ${verdict}`;
    $("verdict-icon").textContent = { go: "✔", warn: "⚠", stop: "✖" }[verdict];
    $("verdict-word").textContent = T[verdict];
    $("verdict-drug").textContent = check.order ? `${check.order.medication} · ${orderedDose(check.order)} · ${check.order.route_name || check.order.route}` : "";
    const progress = $("progress");
    if (check.dose && check.dose.comparison === "less" && check.dose.scanned) {
      progress.hidden = false;
      progress.textContent = format(T.progress, { scanned: check.dose.scanned, ordered: check.dose.ordered,
                                                   count: state.meds.length, total: unitsNeeded(check) });
    } else progress.hidden = true;
    const waiting = waitingOnly(check);
    showFindings([
      ...(check.error ? [{ key: `error ${check.error}`, build: () => li(check.error, "finding stop") }] : []),
      ...(check.findings || []).map((finding) => ({ key: findingKey(finding, waiting), build: () => findingItem(finding) })),
    ]);
    $("witness").hidden = !(check.findings || []).some((f) => WITNESS_CODES.includes(f.code));
    // One second person at a time: the co-sign panel once no witness is still wanted.
    $("cosign").hidden = !$("witness").hidden || !(check.findings || []).some((f) => f.code === COSIGN_CODE);
    $("record").hidden = !!check.patientOnly;
    $("record").disabled = !canRecord();
    showSitePicker(check);
    showAssessments(check);
    showPrnReason(check);
    setPrompt(needsWitness() ? T.prompt_witness : needsCosign() ? T.prompt_cosign
              : state.patient ? T.prompt_medication : T.prompt_patient);
    showWitnessState(check);
    showInfusion(check);
  }

  // A dose waiting only for the second nurse, or for the values the order asks measured, is not a
  // STOP: it is its own amber state. Once the rules accept the witness, her name stays on the
  // verdict until the dose is recorded or cleared.
  const WAITING_CODES = [...WITNESS_CODES, COSIGN_CODE, "ASSESSMENT_REQUIRED", "PRN_REASON_REQUIRED"];
  function waitingOnly(check) {
    const stops = (check.findings || []).filter((f) => f.severity === "STOP");
    return check.verdict === "stop" && !check.error && stops.length > 0 &&
      stops.every((f) => WAITING_CODES.includes(f.code));
  }
  function showWitnessState(check) {
    if (waitingOnly(check)) {
      const measuring = (check.findings || []).some((f) => f.code === "ASSESSMENT_REQUIRED" ||
        f.code === "PRN_REASON_REQUIRED");
      const witnessing = (check.findings || []).some((f) => WITNESS_CODES.includes(f.code));
      $("verdict").className = "verdict witness";
      $("verdict-icon").textContent = "⚠";
      $("verdict-word").textContent = measuring ? T.assessment_pending
        : witnessing ? T.witness_pending : T.cosign_pending;
      for (const item of $("findings").querySelectorAll(".finding.stop")) {
        item.className = "finding witness";
        const text = item.querySelector("span");
        if (text) text.textContent = text.textContent.replace(/^✖/, "⚠");
      }
    }
    const confirmed = $("witness-confirmed");
    confirmed.hidden = !check.witness;
    confirmed.textContent = check.witness ? format(T.witness_confirmed, { name: check.witness.name }) : "";
    const cosigned = $("cosign-confirmed");
    cosigned.hidden = !check.cosigner;
    cosigned.textContent = check.cosigner ? format(T.cosign_confirmed, { name: check.cosigner.name }) : "";
  }

  function unitsNeeded(check) {
    const ordered = parseFloat(check.dose.ordered), scanned = parseFloat(check.dose.scanned);
    if (!(ordered > 0 && scanned > 0) || !state.meds.length) return "?";
    return Math.ceil(ordered / (scanned / state.meds.length));
  }

  // An answer that brings a finding shown already keeps its item: a press held on a reason while
  // the answer came ends on the button it began on (a rebuilt list lost the tap), and a comment
  // being typed keeps its focus. Anything drawn from the finding is in its key.
  function findingKey(finding, waiting) {
    const chosen = state.overrides[finding.code];
    const waste = finding.code === "PARTIAL_UNIT" ? wasteOf(state.lastCheck) : null;
    return JSON.stringify([waiting, finding.severity, finding.code, finding.message,
      (finding.override_reasons || []).map((reason) => [reason.code, reason.label, reason.needs_comment]),
      chosen ? chosen.reason : null, waste]);
  }
  function showFindings(items) {
    const list = $("findings");
    const seen = {};
    const keyed = items.map(({ key, build }) => {
      seen[key] = (seen[key] || 0) + 1;  // the same finding twice: two items
      return { key: `${key} ${seen[key]}`, build };
    });
    // Gone first, so that an item kept need not move (a moved button loses the press on it).
    const wanted = new Set(keyed.map((item) => item.key));
    for (const node of [...list.children]) if (!wanted.has(node.dataset.key)) node.remove();
    const kept = new Map([...list.children].map((node) => [node.dataset.key, node]));
    keyed.forEach(({ key, build }, index) => {
      let node = kept.get(key);
      if (!node) {
        node = build();
        node.dataset.key = key;
      }
      if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
    });
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
      const waste = finding.code === "PARTIAL_UNIT" ? wasteOf(state.lastCheck) : null;
      if (waste) {
        const note = document.createElement("p");
        note.id = "waste-note";
        note.className = "waste";
        note.textContent = format(T.waste_documented, { amount: `${trimNumber(waste.amount)} ${waste.unit}` });
        item.append(note);
      }
    }
    return item;
  }

  function chooseReason(finding, reason) {
    const wasteBefore = JSON.stringify(wasteOf(state.lastCheck));
    state.overrides[finding.code] = { code: finding.code, reason: reason.code,
                                      comment: (state.overrides[finding.code] || {}).comment || "" };
    showVerdict(state.lastCheck || state.patientCheck);
    // Wasting the rest, or no longer: checked again with the waste, which may need a witness.
    if (finding.code === "PARTIAL_UNIT" && JSON.stringify(wasteOf(state.lastCheck)) !== wasteBefore) {
      $("record").disabled = true;
      checkAgainForTap(recheck);
    }
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
        rows.push({ sort: "", order, label: T.prn, timing: "prn" });
      }
      for (const dose of order.doses) rows.push({ sort: dose.due_at, order, dose, label: T[dose.timing] || dose.timing,
                                                  timing: dose.timing });
    }
    // Due now first, then overdue, then missed (collapsed), then the rest in time order.
    const rank = (row) => ({ due: 0, overdue: 1, missed: 2 })[row.timing] ?? 3;
    rows.sort((a, b) => rank(a) - rank(b) || (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
    const missed = rows.filter((row) => row.timing === "missed");
    for (const row of rows.filter((r) => rank(r) < 2)) list.append(doseItem(row));
    if (missed.length) list.append(missedGroup(missed));
    for (const row of rows.filter((r) => rank(r) === 3)) list.append(doseItem(row));
    list.append(recentRecordsItem());
    $("doses").hidden = false;
    renderWorn(data.worn || []);
    renderReassessments(data.reassessments_due || []);
    await loadInfusions();
  }

  // --- measured before giving -------------------------------------------------------------------
  // The order's assessments (heart rate before metoprolol, glucose before insulin): typed here,
  // checked by the server's rules with the scans. A hold is a STOP that the nurse documents as
  // "held for a clinical reason", with the values, in the not-given dialog.
  function assessmentValues() {
    const asked = (state.lastCheck && state.lastCheck.order && state.lastCheck.order.assessments) || [];
    return asked.filter((ask) => (state.assessments[ask.kind] || "").trim() !== "")
      .map((ask) => ({ kind: ask.kind, value: state.assessments[ask.kind].trim().replace(",", ".") }));
  }
  function showAssessments(check) {
    const order = check.order;
    const asked = (order && order.assessments) || [];
    $("assessments").hidden = !asked.length || !!check.patientOnly;
    if (!asked.length) return;
    const fields = $("assessment-fields");
    const kinds = asked.map((ask) => ask.kind).join(",");
    if (fields.dataset.kinds !== kinds) {
      fields.dataset.kinds = kinds;
      fields.replaceChildren(...asked.map(assessmentField));
    }
    const holds = (order.hold_parameters || []).map((hold) => hold.text);
    $("hold-rules").hidden = !holds.length;
    $("hold-rules").textContent = holds.length ? format(T.hold_rules, { rules: holds.join("; ") }) : "";
    // A hold on a value measured (not hold parameters nobody can read: those go to the pharmacy).
    const held = (check.findings || []).some((f) => f.code === "HOLD_PARAMETER" && f.data && f.data.kind);
    $("document-held").hidden = !held || JSON.stringify(assessmentValues()) !== state.assessmentsChecked;
  }
  function assessmentField(ask) {
    const label = document.createElement("label");
    label.className = "assessment";
    const name = document.createElement("span");
    name.textContent = ask.label;
    const input = document.createElement("input");
    input.type = "text";
    input.inputMode = ask.decimals ? "decimal" : "numeric";
    input.autocomplete = "off";
    input.dataset.kind = ask.kind;
    input.dataset.keepFocus = "1";
    input.value = state.assessments[ask.kind] || "";
    input.placeholder = `${trimNumber(ask.minimum)}–${trimNumber(ask.maximum)}`;
    input.addEventListener("input", () => {
      state.assessments[ask.kind] = input.value;
      $("record").disabled = !canRecord();
      $("document-held").hidden = true;
      const changed = JSON.stringify(assessmentValues()) !== state.assessmentsChecked;
      $("assessments-check").classList.toggle("primary", changed);
    });
    input.addEventListener("keydown", (event) => {
      // A scanner's code starts with its symbology prefix "]": it belongs in the scan field, not
      // in a number (focused during keydown, the scan field receives the character itself).
      if (event.key === "]") { scanField.focus(); return; }
      if (event.key !== "Enter") return;
      event.preventDefault();
      const inputs = [...$("assessment-fields").querySelectorAll("input")];
      const next = inputs[inputs.indexOf(input) + 1];
      if (next) next.focus(); else $("assessments-check").click();
    });
    const unit = document.createElement("span");
    unit.className = "unit";
    unit.textContent = ask.unit;
    label.append(name, input, unit);
    return label;
  }
  $("assessments-check").addEventListener("click", () => {
    if (!state.lastCheck || !state.meds.length) return;
    $("assessments-check").classList.remove("primary");
    checkAgainForTap(recheck);
  });
  // The values the rules judged for this order's scan go with a not-given documented from its
  // row too, not only from "document held".
  function measuredFor(order) {
    const check = state.lastCheck;
    const values = assessmentValues();
    if (!check || !check.order || check.order.id !== order.id || !values.length) return {};
    if (JSON.stringify(values) !== state.assessmentsChecked) return {};
    return { assessments: values };
  }
  $("document-held").addEventListener("click", () => {
    const check = state.lastCheck;
    if (!check || !check.order) return;
    openNotGiven(check.order, check.scheduled_dose, { reason: "held_clinical", assessments: assessmentValues(),
                                                      fromCheck: true });
  });

  // --- PRN: the reason, and the effect reassessed after ----------------------------------------
  // A PRN dose is given for one of its order's indications: one tap picks it and the check runs
  // again with it (PRN_REASON_REQUIRED until then, amber like a value still to measure).
  function showPrnReason(check) {
    const order = check.order;
    const offered = (order && order.prn && order.prn_indications) || [];
    $("prn-reason").hidden = !offered.length || !!check.patientOnly;
    if (!offered.length) return;
    const choices = $("prn-reason-choices");
    if (choices.dataset.offered !== offered.join("\n")) {
      choices.dataset.offered = offered.join("\n");
      choices.replaceChildren(...offered.map((indication) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = indication;
        button.dataset.reason = indication;
        button.addEventListener("click", () => {
          if (!state.lastCheck || !state.meds.length) return;
          state.prnReason = indication;
          $("record").disabled = true;
          markPrnReason();
          checkAgainForTap(recheck);
        });
        return button;
      }));
    }
    markPrnReason();
  }
  function markPrnReason() {
    for (const button of $("prn-reason-choices").querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.reason === state.prnReason));
    }
  }

  // The patient's PRN doses whose effect is due to be reassessed (overdue first): documented here,
  // once, with the pain score after an analgesic. One key per dose: a retry after a lost answer
  // gets the first answer, never a second reassessment.
  let reassessTarget = null;
  const reassessKeys = {};
  function renderReassessments(due) {
    const list = $("reassess-list");
    list.replaceChildren();
    for (const item of due) {
      const line = format(T.reassess_line, { drug: item.medication, reason: item.prn_reason || "–",
        given: formatWhen(item.given_at), due: formatWhen(item.due_at) });
      const row = li(line, item.overdue ? "reassess-item overdue" : "reassess-item");
      row.dataset.administration = item.administration;
      if (item.overdue) {
        const flag = document.createElement("strong");
        flag.className = "reassess-overdue"; flag.textContent = `⚠ ${T.reassess_overdue} `;
        row.prepend(flag);
      }
      const button = document.createElement("button");
      button.type = "button"; button.className = "secondary reassess-open"; button.textContent = T.reassess_open;
      button.addEventListener("click", () => openReassess(item));
      row.append(" ", button);
      list.append(row);
    }
    $("reassess").hidden = !due.length;
  }
  function openReassess(item) {
    reassessKeys[item.administration] = reassessKeys[item.administration] || crypto.randomUUID();
    reassessTarget = { item, effect: "" };
    $("reassess-drug").textContent = `${item.medication} · ${formatWhen(item.given_at)}`;
    $("reassess-pain-row").hidden = !item.pain_score_required;
    $("reassess-pain").value = "";
    $("reassess-comment").value = "";
    for (const button of document.querySelectorAll("#reassess-effects button")) button.setAttribute("aria-pressed", "false");
    reassessReady();
    $("reassess-dialog").show();
    if (item.pain_score_required) $("reassess-pain").focus();
  }
  function reassessReady() {
    const target = reassessTarget;
    if (!target) return;
    const pain = $("reassess-pain").value.trim();
    const painOk = /^(10|[0-9])$/.test(pain) || (!target.item.pain_score_required && pain === "");
    $("reassess-confirm").disabled = !target.effect || !painOk;
  }
  $("reassess-pain").addEventListener("input", () => { if (reassessTarget) reassessReady(); });
  $("reassess-pain").addEventListener("keydown", (event) => {
    if (event.key === "]") { scanField.focus(); return; }
    if (event.key === "Enter") event.preventDefault();
  });
  for (const button of document.querySelectorAll("#reassess-effects button")) {
    button.addEventListener("click", () => {
      if (!reassessTarget) return;
      reassessTarget.effect = button.dataset.effect;
      for (const other of document.querySelectorAll("#reassess-effects button")) other.setAttribute("aria-pressed", String(other === button));
      reassessReady();
    });
  }
  $("reassess-confirm").addEventListener("click", async () => {
    const target = reassessTarget;
    if (!target || !target.effect) return;
    $("reassess-confirm").disabled = true;
    const pain = $("reassess-pain").value.trim();
    const body = { effect: target.effect, comment: $("reassess-comment").value.trim(), cart: config.cart,
                   pain_score: pain === "" ? null : Number(pain) };
    const key = reassessKeys[target.item.administration];
    let result;
    try {
      result = await api("POST", `administrations/${target.item.administration}/reassessment/`, body,
                         { "Idempotency-Key": key });
    } catch (error) {
      // Not known to be saved: the dialog stays with what she entered, and "Save" again sends the
      // same key, so a save whose answer was lost is answered, not saved twice.
      reassessReady();
      if (error.message !== "session") say(T.reassess_unknown, "error");
      return;
    }
    $("reassess-dialog").close();
    reassessTarget = null;
    if (result.status === 201) {
      delete reassessKeys[target.item.administration];
      say(format(result.data.late ? T.reassessed_late : T.reassessed,
                 { drug: target.item.medication, minutes: result.data.minutes_late }), "ok");
    } else if (result.data && result.data.error && result.data.error.code === "ALREADY_REASSESSED") {
      delete reassessKeys[target.item.administration];
      say(errorText(result.data), "ok");
    } else say(errorText(result.data), "error");
    await loadDoses();
    refocus();
  });
  $("reassess-cancel").addEventListener("click", () => { reassessTarget = null; $("reassess-dialog").close(); refocus(); });

  // --- patches and sites ------------------------------------------------------------------------
  // The site picker shows for injections and patches; a tap chooses and checks again, so the
  // rotation warning (SITE_RECENTLY_USED) appears before anything is recorded.
  function showSitePicker(check) {
    const site = check.site;
    $("site-picker").hidden = !(site && site.offered);
    if (!site) return;
    $("site-prompt").textContent = site.required && !state.site ? T.site_required : T.site_choose;
    for (const element of document.querySelectorAll("#site-picker [data-site]")) {
      const chosen = element.dataset.site === state.site;
      element.setAttribute("aria-pressed", String(chosen));
      element.classList.toggle("chosen", chosen);
    }
  }
  function chooseSite(code) {
    if (!state.lastCheck || !state.meds.length) return;
    state.site = code;
    checkAgainForTap(runCheck);
  }
  for (const element of document.querySelectorAll("#site-picker [data-site]")) {
    element.addEventListener("click", () => chooseSite(element.dataset.site));
  }
  function renderWorn(worn) {
    const list = $("worn-list");
    list.replaceChildren();
    for (const patch of worn) {
      const item = li(format(T.worn_line, { drug: patch.medication, site: patch.site_name,
        applied: formatWhen(patch.applied_at), due: patch.due_at ? formatWhen(patch.due_at) : "–" }),
        patch.overdue ? "worn-item overdue" : "worn-item");
      item.dataset.administration = patch.administration;
      if (patch.overdue) {
        const flag = document.createElement("strong");
        flag.className = "worn-overdue"; flag.textContent = `⚠ ${T.worn_overdue} `;
        item.prepend(flag);
      }
      const button = document.createElement("button");
      button.type = "button"; button.className = "secondary remove-patch"; button.textContent = T.worn_remove;
      button.addEventListener("click", () => openRemove(patch));
      item.append(" ", button);
      list.append(item);
    }
    $("worn").hidden = !worn.length;
  }
  let removeTarget = null;
  function openRemove(patch) {
    // One key per dialog: a double tap or a retry documents one removal.
    removeTarget = { patch, site: patch.site, key: crypto.randomUUID() };
    $("remove-drug").textContent = `${patch.medication} · ${patch.site_name}`;
    for (const button of document.querySelectorAll("#remove-sites button")) {
      button.setAttribute("aria-pressed", String(button.dataset.site === patch.site));
    }
    $("remove-confirm").disabled = !document.querySelector(`#remove-sites button[data-site="${patch.site}"]`);
    $("remove-label").value = "";
    $("remove-dialog").show();
    $("remove-label").focus();  // a scan of the patch's label lands here; without one it is documented
  }
  $("remove-label").addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  for (const button of document.querySelectorAll("#remove-sites button")) {
    button.addEventListener("click", () => {
      if (!removeTarget) return;
      removeTarget.site = button.dataset.site;
      for (const other of document.querySelectorAll("#remove-sites button")) other.setAttribute("aria-pressed", String(other === button));
      $("remove-confirm").disabled = false;
    });
  }
  $("remove-confirm").addEventListener("click", async () => {
    const target = removeTarget;
    if (!target || !target.site) return;
    $("remove-confirm").disabled = true;
    const body = { patient: state.patientScan, site: target.site, cart: config.cart };
    const label = $("remove-label").value.trim();
    if (label) body.medication = { code: label, keyed: false };
    let result;
    try {
      result = await api("POST", `administrations/${target.patch.administration}/remove/`, body,
                         { "Idempotency-Key": target.key });
    } catch (error) {
      $("remove-confirm").disabled = false;
      if (error.message !== "session") say(T.network_error, "error");
      return;
    }
    $("remove-dialog").close();
    removeTarget = null;
    const siteName = document.querySelector(`#remove-sites button[data-site="${target.site}"]`).textContent;
    if (result.status === 201) { say(format(T.removed, { drug: target.patch.medication, site: siteName }), "ok"); await loadDoses(); }
    else say(errorText(result.data), "error");
    refocus();
  });
  $("remove-cancel").addEventListener("click", () => { removeTarget = null; $("remove-dialog").close(); refocus(); });

  // --- infusions ------------------------------------------------------------------------------
  // An infusion order is given by hanging a bag at a rate on a line; the bags infusing now are
  // listed with their time and expected end, and each change scans the bag again (bag-dialog).
  function infusionOrder() {
    const check = state.lastCheck;
    return check && check.order && check.order.infusion ? check.order.infusion : null;
  }

  let infusionShownFor = null;
  const recordLabel = $("record").textContent;
  function showInfusion(check) {
    const infusion = check.order && check.order.infusion;
    $("infusion").hidden = !infusion;
    $("record").textContent = infusion ? `✔ ${T.hang_bag}` : recordLabel;
    if (!infusion) { infusionShownFor = null; return; }
    $("infusion-order").textContent = format(T.infusion_order, {
      rate: trimNumber(infusion.rate_ml_h), volume: infusion.volume_ml ? trimNumber(infusion.volume_ml) : "–",
      additives: infusion.additives || "–" });
    // The ordered rate is the default; what the nurse typed stays while the check is redrawn.
    if (infusionShownFor !== check.order.id) { $("infusion-rate").value = trimNumber(infusion.rate_ml_h); infusionShownFor = check.order.id; }
  }
  $("infusion-rate").addEventListener("change", () => { state.idempotencyKey = null; });

  async function loadInfusions() {
    if (!state.patient) return;
    const { status, data } = await api("GET", `patients/${encodeURIComponent(state.patient.mrn)}/infusions/`);
    if (status !== 200) return;
    const list = $("infusion-list");
    list.replaceChildren(...data.bags.map(bagItem));
    $("infusions").hidden = !data.bags.length;
  }

  function bagItem(bag) {
    const item = document.createElement("li");
    item.className = `bag ${bag.state}`;
    item.dataset.administration = bag.administration;
    const hours = Math.floor(bag.elapsed_minutes / 60);
    const text = format(T.bag_line, {
      drug: bag.medication + (bag.additives ? ` + ${bag.additives}` : ""), line: bag.line,
      state: T[`bag_${bag.state}`] || bag.state, rate: bag.rate_ml_h ? trimNumber(bag.rate_ml_h) : "0",
      elapsed: `${hours}:${String(bag.elapsed_minutes % 60).padStart(2, "0")}`,
      end: bag.expected_end_at ? formatWhen(bag.expected_end_at) : "–" });
    const words = document.createElement("span");
    words.className = "bag-text"; words.textContent = text;
    item.append(words);
    const actions = bag.state === "paused" ? ["resume", "stop", "complete"] : ["rate_change", "pause", "stop", "complete"];
    for (const action of actions) {
      const button = document.createElement("button");
      button.type = "button"; button.className = "secondary"; button.dataset.action = action;
      button.textContent = T[`bag_action_${action}`];
      button.addEventListener("click", () => openBag(bag, action));
      item.append(button);
    }
    return item;
  }

  // One bag action at a time; its key is kept until the server has answered, so that a retry
  // after a dropped connection records the event once.
  let bagAction = null;
  function openBag(bag, action) {
    bagAction = { bag, action, scan: null, key: crypto.randomUUID(), override: null };
    $("bag-title").textContent = T[`bag_action_${action}`];
    $("bag-drug").textContent = `${bag.medication} · ${T.bag_on_line} ${bag.line}`;
    $("bag-scan").value = ""; $("bag-rate").value = ""; $("bag-volume").value = "";
    $("bag-scanned").hidden = true; $("bag-problem").hidden = true; $("bag-findings").replaceChildren();
    $("bag-rate-row").hidden = action !== "rate_change";
    $("bag-volume-row").hidden = !["stop", "complete"].includes(action);
    $("bag-dialog").showModal();
    $("bag-scan").focus();
  }
  function bagProblem(text) { $("bag-problem").textContent = `✕ ${text}`; $("bag-problem").hidden = false; }
  $("bag-scan").addEventListener("keydown", (event) => {
    if (event.ctrlKey && event.key === "]") { event.preventDefault(); $("bag-scan").value += "\x1d"; return; }
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (!bagAction || !$("bag-scan").value.trim()) return;
    bagAction.scan = { code: $("bag-scan").value, keyed: false };
    bagAction.key = crypto.randomUUID();  // another bag scanned: another request
    $("bag-scan").value = "";
    $("bag-scanned").textContent = T.bag_scanned; $("bag-scanned").hidden = false;
    ($("bag-rate-row").hidden ? $("bag-confirm") : $("bag-rate")).focus();
  });
  $("bag-rate").addEventListener("input", () => { if (bagAction) bagAction.key = crypto.randomUUID(); });
  $("bag-cancel").addEventListener("click", () => { bagAction = null; $("bag-dialog").close(); refocus(); });
  $("bag-confirm").addEventListener("click", async () => {
    if (!bagAction) return;
    if (!bagAction.scan) return bagProblem(T.bag_scan_first);
    const body = { patient: state.patientScan, bag: bagAction.scan, action: bagAction.action };
    if (bagAction.action === "rate_change") body.rate_ml_h = $("bag-rate").value;
    if (!$("bag-volume-row").hidden && $("bag-volume").value) body.volume_infused_ml = $("bag-volume").value;
    if (bagAction.override) body.override = bagAction.override;
    $("bag-confirm").disabled = true;
    let result;
    try {
      result = await api("POST", "infusions/events/", body, { "Idempotency-Key": bagAction.key });
    } catch (error) {
      // No answer: nothing is shown as done. The same key goes with the retry, so the server
      // records the change once whether or not the first request reached it.
      bagProblem(T.bag_not_confirmed);
      return;
    } finally {
      $("bag-confirm").disabled = false;
    }
    const { status, data } = result;
    if (status === 201) {
      const done = bagAction;
      bagAction = null;
      $("bag-dialog").close();
      const volume = data.event.volume_infused_ml;
      say(format(T.bag_done, { action: T[`bag_action_${done.action}`], drug: data.bag.medication })
          + (volume ? ` ${format(T.bag_volume, { volume: trimNumber(volume) })}` : ""), "ok");
      await loadInfusions();
      refocus();
      return;
    }
    const details = (data.error && data.error.details) || {};
    const findings = details.findings || [];
    const list = $("bag-findings");
    list.replaceChildren(...findings.map((finding) => li(finding.message, `finding ${finding.severity.toLowerCase()}`)));
    const warning = findings.find((f) => f.severity === "WARN");
    if (data.error && data.error.code === "OVERRIDE_REQUIRED" && warning) {
      // One tap: the prescriber knows (the reason the rate rule offers first).
      for (const reason of warning.override_reasons.filter((r) => !r.needs_comment)) {
        const button = document.createElement("button");
        button.type = "button"; button.className = "secondary"; button.textContent = reason.label;
        button.addEventListener("click", () => { bagAction.override = { code: warning.code, reason: reason.code, comment: "" };
          bagAction.key = crypto.randomUUID(); $("bag-confirm").click(); });
        list.append(button);
      }
    }
    bagProblem(errorText(data));
  });

  function missedGroup(rows) {
    const item = li("", "dose missed-group");
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "quiet missed-toggle";
    toggle.setAttribute("aria-expanded", "false");
    toggle.textContent = `▸ ${format(T.missed_group, { count: rows.length })}`;
    const inner = document.createElement("ul");
    inner.hidden = true;
    for (const row of rows) inner.append(doseItem(row));
    toggle.addEventListener("click", () => {
      inner.hidden = !inner.hidden;
      toggle.setAttribute("aria-expanded", String(!inner.hidden));
      toggle.textContent = `${inner.hidden ? "▸" : "▾"} ${format(T.missed_group, { count: rows.length })}`;
    });
    item.append(toggle, inner);
    return item;
  }

  function doseItem({ order, dose, label, timing }) {
    const item = li("", `dose ${timing}`);
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = dose ? formatTime(dose.due_at) : "PRN";
    const what = document.createElement("span");
    what.className = "what";
    // An order per kg is dosed from the weight at the check: the list says how it was written.
    const dosing = (order.dose_per_kg || order.dose) +
      (order.max_dose_per_kg ? ` (${format(T.max_per_kg, { max: order.max_dose_per_kg })})` : "");
    what.textContent = `${order.medication} · ${dosing} · ${order.route_name || order.route}` +
      (order.status !== "active" ? ` (${T["order_" + order.status] || order.status})` : "");
    const tag = document.createElement("span");
    tag.className = "tag status";
    tag.textContent = label;
    item.append(when, what, tag);
    // A dose that fell due before the patient's transfer: planned (and perhaps given) on that ward.
    if (dose && dose.old_ward) {
      const moved = document.createElement("span");
      moved.className = "tag old-ward";
      moved.textContent = format(T.dose_old_ward, { ward: dose.old_ward });
      item.append(moved);
    }
    if ((order.allergies || []).length) item.append(allergyFlag(order.allergies));
    if (order.verbal && !order.verbal.cosigned_at) item.append(verbalFlag(order.verbal));
    if (!dose && order.prn) item.append(prnTimes(order.prn));
    const record = dose && (dose.records || []).at(-1);
    if (record) item.append(recordLine(record));
    if (dose && dose.missing_request) item.append(missingLine(dose.missing_request));
    // The row's buttons share one cell beside the status, whatever lines the row has below it.
    const actions = document.createElement("span");
    actions.className = "dose-actions";
    if (dose && ["due", "overdue", "missed", "upcoming"].includes(timing) && order.status === "active") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quiet action";
      button.textContent = T.action_not_given;
      button.addEventListener("click", () => openNotGiven(order, dose, measuredFor(order)));
      actions.append(button);
      if (!dose.missing_request || dose.missing_request.state !== "requested") actions.append(missingButton(order, dose));
    }
    if (record && record.correctable_until) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quiet action entered-in-error";
      button.textContent = T.action_entered_in_error;
      button.addEventListener("click", () => openEnteredInError(order, record));
      actions.append(button);
    }
    if (actions.childElementCount) item.append(actions);
    return item;
  }

  function allergyFlag(allergies) {
    const severe = allergies.some((a) => a.severity === "severe");
    const flag = document.createElement("span");
    flag.className = `allergy-flag${severe ? " severe" : ""}`;
    flag.textContent = `⚠ ${T.allergy_conflict}: ` +
      allergies.map((a) => a.name + (a.severity === "severe" ? ` (${T.severe})` : "")).join(", ");
    return flag;
  }

  function prnTimes(prn) {
    const text = document.createElement("span");
    text.className = "prn-times";
    const last = prn.last_given_at ? format(T.prn_last, { time: formatWhen(prn.last_given_at) }) : T.prn_none;
    let next = T.prn_never;
    if (prn.next_allowed_at) {
      // the server's judgement, not this cart's clock, which may run ahead
      next = prn.allowed_now ? T.prn_now : format(T.prn_next, { time: formatWhen(prn.next_allowed_at) });
    }
    const doses = (prn.last_doses || []).map((dose) => `${formatWhen(dose.given_at)} ${dose.amount}`);
    text.textContent = doses.length ? `${last} · ${next} · ${format(T.prn_last_doses, { doses: doses.join(", ") })}`
      : `${last} · ${next}`;
    return text;
  }

  function recordLine(record) {
    const line = document.createElement("span");
    line.className = "record";
    line.textContent = `${record.status_label}${record.reason_label ? ": " + record.reason_label : ""}` +
      `${record.comment ? " (" + record.comment + ")" : ""} · ${formatTime(record.at)} · ${record.by}`;
    return line;
  }

  // The last 72 hours of records, fetched only when the nurse asks.
  function recentRecordsItem() {
    const item = li("", "recent");
    const button = document.createElement("button");
    button.type = "button";
    button.id = "recent-button";
    button.className = "quiet";
    button.textContent = `▸ ${T.recent_records}`;
    const list = document.createElement("ul");
    list.id = "recent-list";
    list.hidden = true;
    button.addEventListener("click", async () => {
      if (!list.hidden) { list.hidden = true; button.textContent = `▸ ${T.recent_records}`; return; }
      let result;
      try {
        result = await api("GET", `patients/${encodeURIComponent(state.patient.mrn)}/administrations/recent/`);
      } catch (error) { if (error.message !== "session") say(T.network_error, "error"); return; }
      if (result.status !== 200) { say(errorText(result.data), "error"); return; }
      list.replaceChildren();
      for (const r of result.data.records) {
        list.append(li(`${formatWhen(r.at)} · ${r.medication}${r.amount ? " " + r.amount : ""}` +
                       `${r.route_name ? " · " + r.route_name : ""} · ${r.status_label}` +
                       `${r.reason_label ? ": " + r.reason_label : ""} · ${r.by}`, `record ${r.status}`));
      }
      if (!result.data.records.length) list.append(li(T.recent_none, "record"));
      list.hidden = false;
      button.textContent = `▾ ${T.recent_records}`;
    });
    item.append(button, list);
    return item;
  }

  function formatWhen(iso) {
    const [y, m, d] = iso.slice(0, 10).split("-");
    const today = new Date();
    const sameDay = Number(y) === today.getFullYear() && Number(m) === today.getMonth() + 1 && Number(d) === today.getDate();
    return sameDay ? formatTime(iso) : `${d}/${m} ${formatTime(iso)}`;
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
    const message = (data && data.error && data.error.message) || T.network_error;
    // A value measured that cannot be taken: which one, and its range, in her language.
    const measured = data && data.error && data.error.details && data.error.details.assessments;
    const why = measured && (Array.isArray(measured) ? measured
      : Object.values(measured).flatMap((item) => typeof item === "string" ? [item] : Object.values(item || {}).flat()))
      .find((text) => typeof text === "string");
    return why ? `${message} ${why}` : message;
  }
  function warningText(data) {
    return (data && data.warnings || []).map((warning) => ` ⚠ ${warning.message}`).join("");
  }
  function trimNumber(value) { return String(parseFloat(value)); }
  // An order per kg shows how it was written and the dose for today's weight.
  function orderedDose(order) {
    if (!order.dose_per_kg) return order.dose || "";
    return order.dose ? format(T.dose_per_kg, { per_kg: order.dose_per_kg, dose: order.dose }) : order.dose_per_kg;
  }
  function formatDate(iso) { const [y, m, d] = iso.split("-"); return `${d}/${m}/${y}`; }
  function formatTime(iso) { return iso.slice(11, 16); }

  function clearMeds() {
    state.meds = []; state.overrides = {}; state.witness = null; state.witnessPin = ""; state.idempotencyKey = null;
    state.cosigner = null; state.cosignerPin = "";
    state.site = ""; state.assessments = {}; state.assessmentsChecked = "";
    state.prnReason = ""; state.prnReasonChecked = "";
    $("assessment-fields").dataset.kinds = "";
    state.settling = null;
    hideVerdict();
    renderUnits();
    setPrompt(state.patient ? T.prompt_medication : T.prompt_patient);
  }

  function closePatient() {
    state = emptyState();
    if ($("switch-dialog").open) $("switch-dialog").close();
    for (const id of ["patient-name", "patient-dob", "patient-age", "patient-weight", "patient-mrn", "patient-bed",
                      "patient-allergies"]) $(id).textContent = "";
    $("dose-list").replaceChildren();
    $("worn-list").replaceChildren(); $("worn").hidden = true;
    $("findings").replaceChildren();
    $("patient").hidden = true; $("doses").hidden = true; $("verdict").hidden = true; $("message").hidden = true;
    $("infusion-list").replaceChildren(); $("infusions").hidden = true;
    if ($("bag-dialog").open) $("bag-dialog").close();
    setPrompt(T.prompt_patient);
  }

  // --- dialogs --------------------------------------------------------------------------------
  // Another patient's band: the old patient's dose goes at once, then a dialog names both
  // patients. Scanning the new band again switches, the current band stays; the dialog's own field
  // takes every keystroke of a scan, so none reaches the page behind it.
  async function askSwitch(scan, kind) {
    clearMeds();
    $("message").hidden = true;
    const { status, data } = await api("POST", "scan/check/", { patient: scan, ward: config.ward });
    if (status !== 200) return say(errorText(data), "error");
    if (!data.patient || (data.findings || []).some((f) => f.severity === "STOP")) {
      closePatient();
      showVerdict({ verdict: "stop", findings: data.findings || [] });
      return;
    }
    state.pendingSwitch = { scan, kind, check: data };
    $("switch-text").textContent = T.switch_confirm;
    for (const [which, patient] of [["current", state.patient], ["new", data.patient]]) {
      $(`switch-${which}-name`).textContent = patient.full_name;
      $(`switch-${which}-dob`).textContent = formatDate(patient.date_of_birth);
      $(`switch-${which}-mrn`).textContent = patient.mrn;
    }
    $("switch-notice").hidden = true;
    switchScan.value = "";
    $("switch-dialog").show();
    switchScan.focus();
  }

  function decideSwitch(kind) {
    const pending = state.pendingSwitch;
    const gsrn = kind.kind === "wristband" && kind.payload ? kind.payload.gsrn : null;
    if (gsrn && gsrn === pending.kind.payload.gsrn) return confirmSwitch();
    if (gsrn && gsrn === state.patientGsrn) return keepPatient();
    $("switch-notice").textContent = T.switch_other_scan;
    $("switch-notice").hidden = false;
    switchScan.focus();
  }

  async function confirmSwitch() {
    const pending = state.pendingSwitch;
    if (!pending) return;
    $("switch-dialog").close();
    closePatient();
    await showOpenedPatient(pending.scan, pending.kind, pending.check);
    refocus();
  }

  function keepPatient() {
    state.pendingSwitch = null;
    $("switch-dialog").close();
    refocus();
  }

  const switchScan = $("switch-scan");
  switchScan.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const text = switchScan.value;
      switchScan.value = "";
      if (text.trim()) {
        handleScanInDialog({ code: text, keyed: false });
      }
      return;
    }
    // Scanners that send GS as Ctrl+] (or other control keys): kept in the code, never a shortcut.
    if (event.ctrlKey && event.key.length === 1) {
      event.preventDefault();
      if (event.key === "]") switchScan.value += "\x1d";
    }
  });
  function handleScanInDialog(scan) {
    scanQueue = queued(async () => {
      try {
        const kind = await kindOf(scan);
        if (state.pendingSwitch) await decideSwitch(kind);
      } catch (error) {
        if (error.message === "offline") { keepPatient(); onScanOffline(scan); }
      }
    });
  }
  // While the dialog is open every key of a scan goes to its field, whatever has focus.
  document.addEventListener("keydown", (event) => {
    if (!$("switch-dialog").open || $("reauth-dialog").open || document.activeElement === switchScan) return;
    const typing = event.key.length === 1 && !(event.key === " " && document.activeElement.tagName === "BUTTON");
    if (typing || (event.key === "Enter" && switchScan.value)) switchScan.focus();
    if (event.key === "Enter" && switchScan.value) {
      event.preventDefault();
      switchScan.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    }
  }, true);
  $("switch-yes").addEventListener("click", confirmSwitch);
  $("switch-no").addEventListener("click", keepPatient);

  let notGivenTarget = null;
  function openNotGiven(order, dose, preset = {}) {
    // One key per dialog: a double tap or a retry documents the dose once.
    notGivenTarget = { order, dose, key: crypto.randomUUID(), reason: null,
                       assessments: preset.assessments || [], fromCheck: !!preset.fromCheck };
    $("not-given-drug").textContent = dose ? `${order.medication} · ${formatTime(dose.due_at)}` : order.medication;
    $("not-given-comment").value = "";
    $("not-given-summary").hidden = true;
    $("not-given-confirm").hidden = true;
    for (const button of document.querySelectorAll("#not-given-reasons button")) button.setAttribute("aria-pressed", "false");
    $("not-given-dialog").show();
    // A hold found by the rules: the reason is chosen for her, and still confirmed by her.
    const presetReason = preset.reason &&
      document.querySelector(`#not-given-reasons button[data-reason="${preset.reason}"]`);
    if (presetReason) presetReason.click();
  }
  // A reason only chooses; nothing is recorded until the nurse confirms the summary.
  for (const button of document.querySelectorAll("#not-given-reasons button")) {
    button.addEventListener("click", () => {
      if (!notGivenTarget) return;
      notGivenTarget.reason = button.dataset.reason;
      for (const other of document.querySelectorAll("#not-given-reasons button")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      $("not-given-summary").textContent = format(T.not_given_confirm,
        { drug: notGivenTarget.dose ? `${notGivenTarget.order.medication} ${formatTime(notGivenTarget.dose.due_at)}`
                                    : notGivenTarget.order.medication, reason: button.textContent });
      $("not-given-summary").hidden = false;
      $("not-given-confirm").hidden = false;
      if (button.dataset.reason === "other") $("not-given-comment").focus(); else $("not-given-confirm").focus();
    });
  }
  $("not-given-confirm").addEventListener("click", async () => {
    const target = notGivenTarget;
    if (!target || !target.reason) return;
    const comment = $("not-given-comment").value.trim();
    if (target.reason === "other" && !comment) { $("not-given-comment").focus(); return; }
    $("not-given-confirm").disabled = true;
    let answer;
    try {
      const body = { patient: state.patientScan, order: target.order.id, reason: target.reason, comment,
                     cart: config.cart };
      if (target.dose) body.scheduled_dose = target.dose.id;
      if (target.assessments.length) body.assessments = target.assessments;
      answer = await api("POST", "administrations/not-given/", body, { "Idempotency-Key": target.key });
    } catch (error) {
      $("not-given-confirm").disabled = false;
      $("not-given-dialog").close();
      notGivenTarget = null;
      if (error.reauth === "cancelled") say(T.not_given_cancelled, "error");
      else if (error.message !== "session") await settleLostNotGiven(target);
      refocus();
      return;
    }
    $("not-given-confirm").disabled = false;
    $("not-given-dialog").close();
    notGivenTarget = null;
    let { status, data } = answer;
    if (status >= 500) ({ status, data } = await settleLostNotGiven(target));
    if (status === 0) { refocus(); return; }
    if (status === 201) {
      // The held dose is documented: the unit scanned for it goes back, nothing is left to record.
      if (target.fromCheck) clearMeds();
      say(T.not_given_recorded, "ok");
      await loadDoses();
    } else say(errorText(data), "error");
    refocus();
  });
  async function settleLostNotGiven(target) {
    say(T.outcome_checking, "pending");
    let outcome;
    try {
      outcome = await outcomeOf(target.key);
    } catch (error) {
      if (error.message === "session") return { status: 0 };  // another nurse: said in words
      throw error;
    }
    if (outcome.outcome === "not_recorded") { say(T.not_given_not_recorded, "error"); return { status: 0 }; }
    if (outcome.outcome === "recorded") {
      if (target.fromCheck) clearMeds();
      say(T.not_given_recorded, "ok");
      await loadDoses();
      return { status: 0 };
    }
    say(errorText(outcome.answer), "error");
    return { status: 0 };
  }
  $("not-given-cancel").addEventListener("click", () => { notGivenTarget = null; $("not-given-dialog").close(); refocus(); });

  // --- a missing dose, asked for from the pharmacy ------------------------------------------------
  // The row shows only what the server answered (requested, sent); a request that failed says so.
  function missingLine(request) {
    const line = document.createElement("span");
    line.className = `missing-request ${request.state}`;
    line.textContent = request.state === "sent"
      ? format(T.missing_sent_line, { time: formatWhen(request.sent_at), by: request.sent_by })
      : format(T.missing_requested_line, { time: formatWhen(request.requested_at), by: request.requested_by,
                                           reason: request.reason_label });
    return line;
  }
  function missingButton(order, dose) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "quiet missing-action";  // not "action": that names the not-given button
    button.textContent = T.missing_action;
    button.addEventListener("click", () => openMissing(order, dose));
    return button;
  }
  let missingTarget = null;
  function openMissing(order, dose) {
    missingTarget = { order, dose, reason: null };
    $("missing-drug").textContent = `${order.medication} · ${order.dose} · ${formatTime(dose.due_at)}`;
    $("missing-comment").value = "";
    $("missing-problem").hidden = true;
    $("missing-confirm").disabled = true;
    for (const button of document.querySelectorAll("#missing-reasons button")) button.setAttribute("aria-pressed", "false");
    $("missing-dialog").show();
  }
  for (const button of document.querySelectorAll("#missing-reasons button")) {
    button.addEventListener("click", () => {
      if (!missingTarget) return;
      missingTarget.reason = button.dataset.reason;
      for (const other of document.querySelectorAll("#missing-reasons button")) other.setAttribute("aria-pressed", String(other === button));
      $("missing-confirm").disabled = false;
      (button.dataset.reason === "other" ? $("missing-comment") : $("missing-confirm")).focus();
    });
  }
  function closeMissing() { missingTarget = null; $("missing-dialog").close(); refocus(); }
  $("missing-cancel").addEventListener("click", closeMissing);
  $("missing-confirm").addEventListener("click", async () => {
    const target = missingTarget;
    if (!target || !target.reason) return;
    const comment = $("missing-comment").value.trim();
    if (target.reason === "other" && !comment) {
      $("missing-problem").textContent = `✕ ${T.missing_comment_needed}`; $("missing-problem").hidden = false;
      $("missing-comment").focus(); return;
    }
    $("missing-confirm").disabled = true;
    let answer;
    try {
      // Safe to send again: the server keeps one open request per dose and answers with it.
      answer = await api("POST", "missing-doses/", { scheduled_dose: target.dose.id, reason: target.reason,
                                                     comment, cart: config.cart });
    } catch (error) {
      closeMissing();
      if (error.message !== "session" || error.reauth === "cancelled") say(T.missing_no_answer, "error");
      return;
    }
    closeMissing();
    const { status, data } = answer;
    if (status === 201) say(format(T.missing_requested, { drug: data.medication }), "ok");
    else if (status === 200) say(format(T.missing_already, { by: data.requested_by, time: formatWhen(data.requested_at) }), "ok");
    else say(format(T.missing_not_sent, { reason: errorText(data) }), "error");
    await loadDoses();
  });

  // --- a verbal or telephone order, documented at the bedside -----------------------------------
  // The server creates the order (flagged verbal, unsigned); the nurse then gives it by scanning,
  // through the same check as every dose. One Idempotency-Key per dialog: a lost answer sent
  // again never documents the order twice.
  function verbalFlag(verbal) {
    const flag = document.createElement("span");
    flag.className = "tag verbal-unsigned";
    flag.textContent = format(T.verbal_unsigned, { prescriber: verbal.prescriber });
    return flag;
  }
  let verbalTarget = null;
  let formulary = null;
  async function openVerbal() {
    if (!state.patient) return;
    verbalTarget = { key: crypto.randomUUID(), kind: null };
    for (const button of document.querySelectorAll("#verbal-kinds button")) button.setAttribute("aria-pressed", "false");
    for (const id of ["verbal-prescriber", "verbal-dose", "verbal-time", "verbal-hours"]) $(id).value = "";
    $("verbal-read-back").checked = false;
    $("verbal-schedule").value = "stat";
    showVerbalWhen();
    $("verbal-problem").hidden = true;
    $("verbal-confirm").disabled = false;
    $("verbal-dialog").show();
    if (formulary === null) {
      try {
        const { status, data } = await api("GET", "medications/");
        if (status === 200) formulary = data;
      } catch (error) { /* the list stays empty: the nurse is told when she documents */ }
      $("verbal-medication").replaceChildren(...(formulary || []).map((medication) => {
        const option = document.createElement("option");
        option.value = medication.code;
        option.textContent = medication.name;
        return option;
      }));
    }
    $("verbal-prescriber").focus();
  }
  function showVerbalWhen() {
    $("verbal-time").hidden = $("verbal-schedule").value !== "once";
    $("verbal-hours").hidden = $("verbal-schedule").value !== "interval";
  }
  function verbalProblem(text) { $("verbal-problem").textContent = `✕ ${text}`; $("verbal-problem").hidden = false; }
  function closeVerbal() { verbalTarget = null; $("verbal-dialog").close(); refocus(); }
  function verbalStart(time) {
    // Today's local date at the time typed, as the cart's clock has it (the server bounds it).
    const [hours, minutes] = time.split(":").map(Number);
    const start = new Date();
    start.setHours(hours, minutes, 0, 0);
    return start.toISOString();
  }
  $("verbal-open").addEventListener("click", openVerbal);
  $("verbal-schedule").addEventListener("change", showVerbalWhen);
  $("verbal-cancel").addEventListener("click", closeVerbal);
  for (const button of document.querySelectorAll("#verbal-kinds button")) {
    button.addEventListener("click", () => {
      if (!verbalTarget) return;
      verbalTarget.kind = button.dataset.kind;
      for (const other of document.querySelectorAll("#verbal-kinds button")) other.setAttribute("aria-pressed", String(other === button));
    });
  }
  $("verbal-confirm").addEventListener("click", async () => {
    const target = verbalTarget;
    if (!target || !state.patient) return;
    if (!target.kind) { verbalProblem(T.verbal_kind_needed); return; }
    if (!$("verbal-read-back").checked) { verbalProblem(T.verbal_read_back_needed); return; }
    const schedule = $("verbal-schedule").value;
    const body = {
      kind: target.kind, prescriber: $("verbal-prescriber").value.trim(), medication: $("verbal-medication").value,
      dose: $("verbal-dose").value.trim().replace(",", "."), dose_unit: $("verbal-unit").value,
      route: $("verbal-route").value, schedule, read_back_confirmed: true,
      start_at: schedule === "once" && $("verbal-time").value ? verbalStart($("verbal-time").value) : null,
      interval_hours: schedule === "interval" && $("verbal-hours").value ? Number($("verbal-hours").value) : null,
    };
    $("verbal-confirm").disabled = true;
    let answer;
    try {
      answer = await api("POST", `patients/${encodeURIComponent(state.patient.mrn)}/verbal-orders/`, body,
                         { "Idempotency-Key": target.key });
    } catch (error) {
      // The same key stays: documenting again replays the first answer if it was saved.
      $("verbal-confirm").disabled = false;
      if (error.message !== "session" || error.reauth === "cancelled") verbalProblem(T.verbal_no_answer);
      return;
    }
    const { status, data } = answer;
    if (status !== 201) {
      $("verbal-confirm").disabled = false;
      verbalProblem(format(T.verbal_not_documented, { reason: errorText(data) }));
      return;
    }
    closeVerbal();
    say(format(data.status === "active" ? T.verbal_documented : T.verbal_documented_pending, { drug: data.medication }), "ok");
    await loadDoses();
  });

  // Her own record, within the time the server allows (it decides; the button only offers).
  let enteredInErrorTarget = null;
  function openEnteredInError(order, record) {
    enteredInErrorTarget = { record, key: crypto.randomUUID(), reason: null };
    $("eie-record").textContent = `${order.medication} · ${record.status_label}` +
      `${record.reason_label ? ": " + record.reason_label : ""} · ${formatTime(record.at)}`;
    $("eie-comment").value = "";
    $("eie-confirm").disabled = true;
    for (const button of document.querySelectorAll("#eie-reasons button")) button.setAttribute("aria-pressed", "false");
    $("eie-dialog").show();
  }
  for (const button of document.querySelectorAll("#eie-reasons button")) {
    button.addEventListener("click", () => {
      if (!enteredInErrorTarget) return;
      enteredInErrorTarget.reason = button.dataset.reason;
      for (const other of document.querySelectorAll("#eie-reasons button")) other.setAttribute("aria-pressed", String(other === button));
      $("eie-confirm").disabled = false;
      if (button.dataset.reason === "other") $("eie-comment").focus(); else $("eie-confirm").focus();
    });
  }
  $("eie-confirm").addEventListener("click", async () => {
    const target = enteredInErrorTarget;
    if (!target || !target.reason) return;
    const comment = $("eie-comment").value.trim();
    if (target.reason === "other" && !comment) { $("eie-comment").focus(); return; }
    $("eie-confirm").disabled = true;
    let result;
    try {
      result = await api("POST", `administrations/${target.record.id}/correct/`, { reason: target.reason, comment },
                         { "Idempotency-Key": target.key });
    } catch (error) {
      $("eie-confirm").disabled = false;
      if (error.message !== "session") say(T.network_error, "error");
      return;
    }
    $("eie-dialog").close();
    enteredInErrorTarget = null;
    if (result.status === 201) { say(T.entered_in_error_recorded, "ok"); await loadDoses(); } else say(errorText(result.data), "error");
    refocus();
  });
  $("eie-cancel").addEventListener("click", () => { enteredInErrorTarget = null; $("eie-dialog").close(); refocus(); });

  $("keyed-button").addEventListener("click", () => {
    $("keyed-code").value = ""; $("keyed-lot").value = ""; $("keyed-expiry").value = "";
    $("keyed-pack").hidden = true; $("keyed-problem").hidden = true;
    $("keyed-dialog").show(); $("keyed-code").focus();
  });
  $("keyed-ok").addEventListener("click", async () => {
    const text = $("keyed-code").value.trim();
    let typed = text;
    if (text) {
      try { typed = await keyedCodeWithPack(text); } catch (error) {
        if (error.message !== "session") keyedProblem(T.network_error);
        return;
      }
      if (typed === null) return;  // the dialog now asks for the lot and expiry
    }
    $("keyed-dialog").close();
    scanField.focus();  // at once: the next scan may already be on its way
    if (typed) handleScan({ code: typed, keyed: true });
  });

  // A typed GTIN alone would skip the recall and expiry checks (the server refuses it as
  // KEYED_LOT_EXPIRY_MISSING): ask for the lot and expiry printed on the pack, and send them as
  // the GS1 text a scan of that pack would give.
  async function keyedCodeWithPack(text) {
    if ($("keyed-pack").hidden) {
      const { status, data } = await api("POST", "scan/decode/", { code: text });
      const symbol = status === 200 && (data.symbols || []).find((s) => s.kind === "medication");
      if (!symbol || (symbol.payload.lot && symbol.payload.expiry)) return text;
      $("keyed-pack").hidden = false;
      $("keyed-pack").dataset.gtin = symbol.payload.gtin;
      $("keyed-pack").dataset.serial = symbol.payload.serial || "";
      $("keyed-lot").value = symbol.payload.lot || "";
      $("keyed-expiry").value = symbol.payload.expiry || "";
      $(symbol.payload.lot ? "keyed-expiry" : "keyed-lot").focus();
      return null;
    }
    const lot = $("keyed-lot").value.trim();
    const expiry = $("keyed-expiry").value;  // yyyy-mm-dd
    if (!lot || !/^[!-'*-~]{1,20}$/.test(lot)) { keyedProblem(T.keyed_lot_needed); $("keyed-lot").focus(); return null; }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expiry)) { keyedProblem(T.keyed_expiry_needed); $("keyed-expiry").focus(); return null; }
    const { gtin, serial } = $("keyed-pack").dataset;
    const yymmdd = expiry.slice(2, 4) + expiry.slice(5, 7) + expiry.slice(8, 10);
    return `(01)${gtin}(17)${yymmdd}(10)${lot}` + (serial ? `(21)${serial}` : "");
  }
  function keyedProblem(text) { $("keyed-problem").textContent = text; $("keyed-problem").hidden = false; }
  for (const id of ["keyed-code", "keyed-lot", "keyed-expiry"]) {
    $(id).addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); $("keyed-ok").click(); } });
  }
  $("keyed-cancel").addEventListener("click", () => { $("keyed-dialog").close(); refocus(); });

  $("witness-confirm").addEventListener("click", () => {
    state.witnessPin = $("witness-pin").value;
    $("witness-pin").value = "";
    // Back to the scan field at once, and the check in the scan queue: a scan sent while the
    // witness check is on its way is neither lost in the PIN field nor overtaken by it.
    scanField.focus();
    if (!state.witness) { $("witness-name").textContent = T.prompt_witness; return; }
    checkAgainForTap(runCheck);
  });
  $("witness-pin").addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); $("witness-confirm").click(); } });

  // The instructor's co-sign of a student's dose: her PIN, then the check again (as the witness's).
  $("cosign-confirm").addEventListener("click", () => {
    state.cosignerPin = $("cosign-pin").value;
    $("cosign-pin").value = "";
    scanField.focus();
    if (!state.cosigner) { $("cosign-name").textContent = T.prompt_cosign; return; }
    checkAgainForTap(runCheck);
  });
  $("cosign-pin").addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); $("cosign-confirm").click(); } });

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
  // The last seconds before the lock count down on a banner that names a scanned dose not yet
  // recorded; any key, scan or touch starts the idle time again. The login page after the lock
  // names that dose too (drug and amount: a locked screen shows no patient).
  let idleTimer = null, countdownTimer = null;
  function resetIdle() {
    clearTimeout(idleTimer);
    clearInterval(countdownTimer);
    $("idle-warning").hidden = true;
    idleTimer = setTimeout(countDown, (config.idleSeconds - config.idleWarningSeconds) * 1000);
  }
  function countDown() {
    let left = config.idleWarningSeconds;
    const tell = () => {
      const dose = knownUnrecordedDose();
      $("idle-warning-dose").hidden = !dose;
      $("idle-warning-dose").textContent = dose ? format(T.idle_unrecorded, { dose: dose.named }) : "";
      $("idle-warning-time").textContent = format(T.idle_locks_in, { seconds: left });
      $("idle-warning").hidden = false;
    };
    tell();
    countdownTimer = setInterval(() => {
      left -= 1;
      if (left > 0) { tell(); return; }
      clearInterval(countdownTimer);
      lock("idle");
    }, 1000);
  }
  // A GO or WARN on screen for units not recorded yet: what the nurse may believe is charted.
  function unrecordedDose() {
    const check = state.lastCheck;
    if (!state.patient || !check || !check.order || !state.meds.length || !["go", "warn"].includes(check.verdict)) return null;
    const drug = check.order.medication;
    const amount = (check.dose && check.dose.scanned) || check.order.dose;
    return { short: `${drug} ${amount}`, named: format(T.dose_named, { drug, amount, patient: state.patient.full_name }) };
  }
  // While the cart still asks what became of a lost answer, "not recorded" would be a guess.
  function knownUnrecordedDose() { return state.settling ? null : unrecordedDose(); }
  function lock(reason) {
    const dose = knownUnrecordedDose();
    closePatient();
    stopCamera();
    document.body.classList.add("locked");
    const form = $("logout-form");
    form.elements.reason.value = reason;
    form.elements.unrecorded.value = dose ? dose.short : "";
    form.submit();
  }
  for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, resetIdle, { passive: true });
  window.addEventListener("pagehide", closePatient);

  // --- the session ended on the server: log in again over the page ---------------------------
  // The same rules as the login page (the badge's Enter moves to the PIN; the cart's ward stays
  // this cart's). The same nurse: the request that met the end is sent again as it was. Another
  // nurse: nothing of the first nurse's is finished under her name; the screen is cleared and
  // says so. Cancelled: the cart says in words what was not recorded.
  let reauth = null, reauthBusy = false;
  function reauthenticate() {
    if (reauth) return reauth.promise;
    let resolve;
    const promise = new Promise((done) => { resolve = done; });
    reauth = { promise, resolve, dose: unrecordedDose(), unknown: Boolean(state.settling) };
    const pending = $("reauth-pending");
    pending.hidden = !reauth.dose;
    pending.textContent = reauth.dose
      ? format(reauth.unknown ? T.reauth_pending_unknown : T.reauth_pending, { dose: reauth.dose.named }) : "";
    $("reauth-problem").hidden = true;
    $("reauth-badge").value = "";
    $("reauth-pin").value = "";
    stopCamera();
    $("reauth-dialog").show();
    $("reauth-badge").focus();
    return promise;
  }

  async function submitReauth() {
    if (!reauth || reauthBusy) return;
    const badge = $("reauth-badge").value.trim();
    const pin = $("reauth-pin").value;
    if (!badge) { reauthProblem(T.login_no_badge, "reauth-badge"); return; }
    if (!/^[0-9]{6,8}$/.test(pin)) { reauthProblem(T.login_bad_pin, "reauth-pin"); return; }
    reauthBusy = true;
    $("reauth-ok").disabled = true;
    let answer;
    try {
      answer = await logIn(badge, pin);
    } catch (error) {
      reauthProblem(T.network_error, "reauth-pin");
      return;
    } finally {
      reauthBusy = false;
      $("reauth-ok").disabled = false;
    }
    const { response, data } = answer;
    if (!response.ok) {
      $("reauth-pin").value = "";
      reauthProblem(loginRefusal(response, data), "reauth-pin");
      return;
    }
    $("reauth-badge").value = "";
    $("reauth-pin").value = "";
    renewCsrfInputs();
    finishReauth(data);
  }

  // POST auth/badge/ with the CSRF token; the answer's cookie carries the new session's token.
  async function logIn(badge, pin) {
    const send = async () => {
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), API_TIMEOUT_MS);
      try {
        const response = await fetch(config.api + "auth/badge/", {
          method: "POST", credentials: "same-origin", signal: timeout.signal,
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ badge: { code: badge, keyed: false }, pin, cart: config.cart, ward: config.ward }),
        });
        let data = {};
        try { data = await response.json(); } catch (error) { data = {}; }
        return { response, data };
      } finally {
        clearTimeout(timer);
      }
    };
    let answer = await send();
    if (answer.response.status === 403 && answer.data.error && answer.data.error.code === "CSRF_FAILED") {
      // No CSRF cookie left (the browser's cookies were cleared): a GET sets one.
      await fetch(config.api + "auth/badge/", { credentials: "same-origin" });
      answer = await send();
    }
    return answer;
  }

  function loginRefusal(response, data) {
    const code = data.error && data.error.code;
    if (code === "LOGIN_THROTTLED") return format(T.reauth_wait, { seconds: response.headers.get("Retry-After") || "?" });
    if (code === "LOGIN_BUSY") return T.reauth_busy;
    if (code === "WARD_NOT_ASSIGNED") return T.reauth_ward;
    if (response.status >= 500) return T.network_error;
    return T.reauth_failed;
  }

  function reauthProblem(text, field) {
    $("reauth-problem").textContent = `✕ ${text}`;
    $("reauth-problem").hidden = false;
    $(field).focus();
  }

  // Forms of the page (log out, language) carry the CSRF token of the session they were drawn in.
  function renewCsrfInputs() {
    const token = csrfToken();
    for (const input of document.querySelectorAll('input[name="csrfmiddlewaretoken"]')) input.value = token;
  }

  function finishReauth(data) {
    const done = reauth;
    reauth = null;
    $("reauth-dialog").close();
    if (!(data.roles || []).some((role) => config.administeringRoles.includes(role))) {
      lock("expired");  // not someone who gives medication: the cart's login says so
      return;
    }
    if (data.username === config.username) {
      done.resolve("same");
      refocus();
      return;
    }
    const old = config.nurseName;
    config.username = data.username;
    config.nurseName = data.display_name || data.name || data.username;
    $("nurse-name").textContent = config.nurseName;
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    closePatient();
    let text = format(T.reauth_other, { new: config.nurseName, old });
    if (done.dose) {
      text += " " + format(done.unknown ? T.reauth_other_unknown : T.reauth_other_dose, { dose: done.dose.named, old });
    }
    say(text, "error");
    done.resolve("other");
    loadUnrecorded();
    refocus();
  }

  function cancelReauth() {
    const done = reauth;
    if (!done) return;
    reauth = null;
    $("reauth-dialog").close();
    let text = T.reauth_cancelled;
    if (done.dose) {
      text = format(done.unknown ? T.reauth_pending_unknown : T.reauth_cancelled_dose, { dose: done.dose.named }) + " " + text;
    }
    say(text, "error");
    done.resolve("cancelled");
    refocus();
  }

  $("reauth-badge").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); $("reauth-pin").focus(); }
  });
  $("reauth-pin").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); submitReauth(); }
  });
  $("reauth-ok").addEventListener("click", submitReauth);
  $("reauth-cancel").addEventListener("click", cancelReauth);
  // While it is open a badge scan lands in it, whatever had focus.
  document.addEventListener("keydown", (event) => {
    const dialog = $("reauth-dialog");
    if (!dialog.open || dialog.contains(document.activeElement)) return;
    if (event.key.length === 1 || event.key === "Enter") ($("reauth-badge").value ? $("reauth-pin") : $("reauth-badge")).focus();
  }, true);

  // --- scanned but not recorded: her own list, each one answered for -------------------------
  async function loadUnrecorded() {
    const list = $("unrecorded-list");
    list.replaceChildren();
    $("unrecorded").hidden = true;
    let result;
    try { result = await api("GET", "checks/unrecorded/"); } catch (error) { return; }
    if (result.status !== 200) return;
    list.replaceChildren(...(result.data.checks || []).map(unrecordedItem));
    $("unrecorded").hidden = !list.children.length;
  }

  function unrecordedText(check) {
    return [`${check.patient.full_name} (${check.patient.mrn})`, check.bed && `${T.bed} ${check.bed}`,
            [check.medication, check.dose, check.route_name || check.route].filter(Boolean).join(" · "),
            format(T.unrecorded_checked, { time: formatWhen(check.checked_at) }),
            check.due_at && format(T.unrecorded_due, { time: formatWhen(check.due_at) })].filter(Boolean).join(" · ");
  }

  function unrecordedItem(check) {
    const item = li("", "unrecorded-check");
    const text = document.createElement("span");
    text.textContent = unrecordedText(check);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary acknowledge";
    button.textContent = T.acknowledge;
    button.addEventListener("click", () => openAcknowledge(check, item));
    item.append(text, button);
    return item;
  }

  let acknowledging = null;
  function openAcknowledge(check, item) {
    acknowledging = { check, item, reason: null };
    $("ack-dose").textContent = unrecordedText(check);
    $("ack-comment").value = "";
    $("ack-problem").hidden = true;
    $("ack-confirm").disabled = true;
    for (const button of document.querySelectorAll("#ack-reasons button")) button.setAttribute("aria-pressed", "false");
    $("ack-dialog").show();
  }
  for (const button of document.querySelectorAll("#ack-reasons button")) {
    button.addEventListener("click", () => {
      if (!acknowledging) return;
      acknowledging.reason = button.dataset.reason;
      for (const other of document.querySelectorAll("#ack-reasons button")) other.setAttribute("aria-pressed", String(other === button));
      $("ack-confirm").disabled = false;
      if (button.dataset.reason === "other") $("ack-comment").focus(); else $("ack-confirm").focus();
    });
  }
  function ackProblem(text) { $("ack-problem").textContent = `✕ ${text}`; $("ack-problem").hidden = false; }
  $("ack-confirm").addEventListener("click", async () => {
    const target = acknowledging;
    if (!target || !target.reason) return;
    const comment = $("ack-comment").value.trim();
    if (target.reason === "other" && !comment) { ackProblem(T.comment_required); $("ack-comment").focus(); return; }
    $("ack-confirm").disabled = true;
    let result;
    try {
      result = await api("POST", `checks/${target.check.id}/acknowledge/`, { reason: target.reason, comment });
    } catch (error) {
      $("ack-confirm").disabled = false;
      if (error.message === "session") { acknowledging = null; $("ack-dialog").close(); refocus(); } else ackProblem(T.network_error);
      return;
    }
    $("ack-confirm").disabled = false;
    const { status, data } = result;
    // Answered already (a retry whose first answer was lost): it is off the list either way.
    if (status !== 201 && !(data.error && data.error.code === "ALREADY_ACKNOWLEDGED")) { ackProblem(errorText(data)); return; }
    acknowledging = null;
    $("ack-dialog").close();
    target.item.remove();
    $("unrecorded").hidden = !$("unrecorded-list").children.length;
    say(format(T.acknowledged, { drug: target.check.medication, patient: target.check.patient.full_name }), "ok");
    refocus();
  });
  $("ack-cancel").addEventListener("click", () => { acknowledging = null; $("ack-dialog").close(); refocus(); });

  // --- the ward worklist, before any wristband ---------------------------------------------------
  // The ward's due and overdue doses across patients, to plan the round. It follows the patient
  // banner (whatever opens or closes a patient shows or hides it), so it hides as soon as a patient
  // is open and comes back, refreshed, when she closes one. A row is not a button: it takes no
  // focus from the scan field and opens nothing; only the wristband scan opens a patient. Its own
  // fetch: a failed background refresh neither opens the login over the page nor raises the
  // no-connection banner; it says how old the list on screen is instead.
  const worklist = { data: null, fetchedAt: 0, failed: false };
  async function refreshWorklist() {
    if (!config.ward || !$("patient").hidden || document.body.classList.contains("locked")) return;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), API_TIMEOUT_MS);
    try {
      const response = await fetch(`${config.api}wards/${encodeURIComponent(config.ward)}/worklist/`,
                                   { credentials: "same-origin", cache: "no-store", signal: timeout.signal });
      if (!response.ok) throw new Error(String(response.status));
      worklist.data = await response.json();
      worklist.fetchedAt = Date.now();
      worklist.failed = false;
    } catch (error) {
      worklist.failed = true;
    } finally {
      clearTimeout(timer);
    }
    renderWorklist();
  }

  function renderWorklist() {
    const box = $("worklist");
    box.hidden = !$("patient").hidden || (!worklist.data && !worklist.failed);
    const age = $("worklist-age");
    const data = worklist.data;
    age.className = worklist.failed ? "worklist-age stale" : "worklist-age";
    if (!data) { age.textContent = `⚠ ${T.worklist_unavailable}`; $("worklist-list").replaceChildren(); return; }
    const minutes = Math.floor((Date.now() - worklist.fetchedAt) / 60000);
    age.textContent = worklist.failed
      ? `⚠ ${format(T.worklist_stale, { time: formatTime(data.generated_at), minutes })}`
      : format(T.worklist_window, { before: data.hours_before, ahead: data.hours_ahead, time: formatTime(data.generated_at) });
    const rows = data.rows.map(worklistItem);
    $("worklist-list").replaceChildren(...(rows.length ? rows : [li(T.worklist_empty, "worklist-empty")]));
  }

  function worklistItem(row) {
    const item = li("", `worklist-row ${row.overdue ? "overdue" : "due"} kind-${row.kind}`);
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = formatWhen(row.due_at);
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = [row.bed && format(T.worklist_bed, { bed: row.bed }), row.patient.full_name].filter(Boolean).join(" · ");
    const what = document.createElement("span");
    what.className = "what";
    const drug = row.medication;
    what.textContent = {
      removal: () => format(T.worklist_removal, { drug, site: row.detail }),
      bag_end: () => format(T.worklist_bag_end, { drug, line: row.detail }),
      reassessment: () => format(T.worklist_reassessment, { drug }),
    }[row.kind]?.() ?? [drug, row.dose, row.route_name || row.route].filter(Boolean).join(" · ");
    const tags = document.createElement("span");
    tags.className = "tags";
    const status = row.kind === "dose" ? row.status : (row.overdue ? "overdue" : "");
    if (status) tags.append(tag(`${row.overdue ? "⚠" : "●"} ${T[status] || status}`, row.overdue ? "overdue" : "due"));
    for (const pending of row.pending) tags.append(tag(`⚑ ${T[`worklist_${pending}`] || pending}`, "pending"));
    if (row.schedule === "stat") tags.append(tag(T.worklist_stat, "pending"));
    if (row.verbal_unsigned) tags.append(tag(`⚑ ${T.worklist_verbal_unsigned}`, "verbal-unsigned"));
    item.append(when, who, what, tags);
    item.addEventListener("click", () => {
      const hint = $("worklist-hint");
      hint.textContent = format(T.worklist_scan_hint, { patient: row.patient.full_name, bed: row.bed || "–" });
      hint.className = "worklist-hint asked";
    });
    return item;
  }
  function tag(text, kind) {
    const span = document.createElement("span");
    span.className = `tag ${kind}`;
    span.textContent = text;
    return span;
  }

  function startWorklist() {
    const hint = { text: $("worklist-hint").textContent, className: $("worklist-hint").className };
    let patientShown = !$("patient").hidden;
    new MutationObserver(() => {
      const shown = !$("patient").hidden;
      if (shown === patientShown) return;
      patientShown = shown;
      Object.assign($("worklist-hint"), { textContent: hint.text, className: hint.className });
      renderWorklist();
      if (!shown) refreshWorklist();
    }).observe($("patient"), { attributes: true, attributeFilter: ["hidden"] });
    setInterval(refreshWorklist, config.worklistRefreshSeconds * 1000);
    refreshWorklist();
  }

  setPrompt(T.prompt_patient);
  resetIdle();
  refocus();
  // One request at a time while the page opens: the worklist after her own unrecorded checks
  // (two at once met in one SQLite connection of the test server and lost the session).
  loadUnrecorded().finally(startWorklist);
})();
