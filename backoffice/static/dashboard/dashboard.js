"use strict";
// The ward dashboard: each tile opens its list; the figures refresh in place (no reload, so the
// idle time keeps counting); after a period without use the screen counts down, hides every
// patient and logs out, like the cart. Once locked or logged out nothing refreshes any more.
(() => {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const notice = document.getElementById("notice");
  const logoutForm = document.getElementById("logout-form");
  const WARN_SECONDS = Math.min(30, Math.max(1, Math.floor(config.idleSeconds / 4)));
  let openList = null;
  let refreshTimer = null;
  let idleTimer = null;
  let countdownTimer = null;
  let ended = false;

  // --- tiles and their lists -----------------------------------------------------------------
  function show(id) {
    openList = id;
    for (const tile of document.querySelectorAll(".tile[aria-controls]")) {
      const mine = tile.id === "tile-" + id;
      tile.setAttribute("aria-expanded", String(mine));
      document.getElementById(tile.getAttribute("aria-controls")).hidden = !mine;
    }
    const list = id && document.getElementById("list-" + id);
    if (list) list.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("click", (event) => {
    const tile = event.target.closest(".tile[aria-controls]");
    if (tile) {
      const id = tile.id.replace(/^tile-/, "");
      show(openList === id ? null : id);
      return;
    }
    const close = event.target.closest("[data-close]");
    if (close) {
      show(null);
      document.getElementById("tile-" + close.dataset.close).focus();
    }
  });

  function say(text, kind) {
    notice.textContent = text;
    notice.className = "notice " + kind;
    notice.hidden = !text;
  }

  // --- ending: locked, logged out, or the session gone ----------------------------------------
  function stop() {
    ended = true;
    clearInterval(refreshTimer);
    clearTimeout(idleTimer);
    clearInterval(countdownTimer);
  }
  function forgetPatients() {
    document.body.classList.add("locked");
    document.getElementById("dashboard-content").replaceChildren();
  }
  function lock() {
    if (ended) return;
    stop();
    forgetPatients();
    say("", "");
    logoutForm.elements.reason.value = "idle";
    logoutForm.submit();
  }
  function sessionEnded() {
    stop();
    forgetPatients();
    const next = location.pathname + location.search;
    location.assign(config.loginUrl + "?next=" + encodeURIComponent(next));
  }
  logoutForm.addEventListener("submit", () => {
    stop();
    forgetPatients();
  });
  window.addEventListener("pagehide", stop);

  // --- idle lock with a countdown --------------------------------------------------------------
  function resetIdle() {
    if (ended) return;
    clearTimeout(idleTimer);
    clearInterval(countdownTimer);
    if (notice.classList.contains("locking")) say("", "");
    idleTimer = setTimeout(countdown, (config.idleSeconds - WARN_SECONDS) * 1000);
  }
  function countdown() {
    let left = WARN_SECONDS;
    const tell = () => say(config.strings.locking.replace("{seconds}", String(left)), "locking");
    tell();
    countdownTimer = setInterval(() => {
      left -= 1;
      if (left <= 0) lock();
      else tell();
    }, 1000);
  }
  for (const type of ["keydown", "pointerdown", "wheel", "touchstart"]) {
    document.addEventListener(type, resetIdle, { passive: true });
  }

  // --- refreshing in place ---------------------------------------------------------------------
  async function refresh() {
    if (ended) return;
    let response;
    try {
      response = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
    } catch (error) {
      stale();
      return;
    }
    if (ended) return;
    if (response.status === 401 || response.status === 403 || new URL(response.url).pathname !== location.pathname) {
      sessionEnded(); // logged out elsewhere, expired, or no longer allowed: never keep showing
      return;
    }
    if (!response.ok) {
      stale();
      return;
    }
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    if (ended) return;
    const content = fresh.getElementById("dashboard-content");
    const updated = fresh.getElementById("updated");
    if (!content) {
      sessionEnded();
      return;
    }
    document.getElementById("dashboard-content").replaceWith(content);
    if (updated) document.getElementById("updated").replaceWith(updated);
    if (notice.classList.contains("stale")) say("", "");
    show(openList);
  }
  function stale() {
    const time = document.querySelector("#updated time");
    say(config.strings.stale.replace("{time}", time ? time.textContent : "?"), "stale");
  }

  refreshTimer = setInterval(refresh, config.refreshSeconds * 1000);
  resetIdle();
})();
