"""What a nurse waits for at the cart, in the browser: wristband → banner, drug → verdict.

    .venv/bin/python -m bench.cart_timings [--repeat N] [--workers N] [--json FILE] [--smoke]

Issue 13 asks for "wristband → banner under 150 ms, drug → verdict under 120 ms in the browser on
the demo". The benchmark makes its own database (`bench_cart_timings`), loads the demo hospital
into it (fixtures/demo_hospital.json, due times relative to now), starts gunicorn with
`bench.settings` (sync workers, static files served by WhiteNoise as in the deployment) on
127.0.0.1, and drives Debian's Chromium (headless, through Playwright) at the real cart page:
nurse Hoa logs in at a NOI cart, then for each repetition a wedge scanner "types" a patient's
wristband, then one of that patient's packs, and she closes the patient. Four bed/drug pairs
take turns (a GO, an allergy WARN, a STOP, a GO), so that no answer is always the same one.

Measured inside the page, from the scanner's Enter (a capturing keydown listener, before the
cart's own) to the first animation frame in which the state is on screen (a requestAnimationFrame
loop started before the scan): the patient banner (name shown), the dose list, and the verdict.
The frame clock rounds each figure up by at most one frame (about 16 ms). The typing itself is
not counted: a real scanner's keystrokes take a few milliseconds whatever the cart does.

Baselines, interleaved with the repetitions (same browser, same server, same moment's load): a
GET of a small static file (`/static/cart/release.js`, no cache) and an empty API round trip
(`GET /api/v1/auth/badge/`, Django and DRF but no query), both timed with `performance.now()`
around `fetch()`. A banner costs two API round trips (scan/decode, scan/check) and a render; a
verdict the same; their ratios to the empty round trip say how much of the wait is the cart's own
work. The API requests' share comes from the Resource Timing entries of each scan.

Nothing is recorded: the cart only checks. Traffic goes to 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import _common
from bench._common import mark, percentile

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
INDEX = _common.ROOT / "fixtures" / "barcodes" / "index.json"
HOA_BADGE = "]C18017952000200000000112"
HOA_PIN = "111111"
WARD = "NOI"
BANNER_TARGET_MS = 150.0
VERDICT_TARGET_MS = 120.0
WAIT_MS = 30_000


@dataclass(frozen=True)
class Bed:
    mrn: str
    name: str
    label: str  # the fixture file of the pack scanned for this patient
    expect: str  # the verdict the demo gives it


BEDS = (
    Bed("BN2026000105", "Hoàng Văn Đức", "unit-dose-08936012345070-OME2611S001.png", "go"),
    Bed("BN2026000104", "Phạm Thị Hương", "unit-dose-08936012345131-IBU2608S001.png", "warn"),
    Bed("BN2026000102", "Trần Thị Bích Ngọc", "unit-dose-08936012345056-MXR2611S001.png", "stop"),
    Bed("BN2026000108", "Bùi Thị Lệ", "unit-dose-08936012345148-ASP2610S001.png", "go"),
)

# Installed once in the cart page: the Enter time, and watchers that resolve with the time from
# that Enter to the first frame in which a state is visible.
PROBE = """(wait) => {
  const bench = window.__bench = { enter: 0 };
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter") bench.enter = performance.now();
  }, true);
  const shown = (id) => { const element = document.getElementById(id); return !element.hidden; };
  bench.until = (visible) => new Promise((resolve, reject) => {
    const started = performance.now();
    const frame = (now) => {
      if (bench.enter && visible()) resolve(now - bench.enter);
      else if (now - started > wait) reject(new Error("not shown in time"));
      else requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  bench.watchPatient = (name) => {
    bench.enter = 0;
    performance.clearResourceTimings();
    bench.banner = bench.until(() => shown("patient") &&
      document.getElementById("patient-name").textContent === name);
    bench.doses = bench.until(() => shown("doses"));
  };
  bench.watchVerdict = () => {
    bench.enter = 0;
    performance.clearResourceTimings();
    bench.verdict = bench.until(() => shown("verdict") &&
      /\\b(go|warn|stop|witness)\\b/.test(document.getElementById("verdict").className));
  };
  // The requests that ran between the Enter and the state shown `within` ms later: a request the
  // cart sends after the state is shown (a refresh) is not part of its time.
  bench.apiMs = (names, within) => performance.getEntriesByType("resource")
    .filter((entry) => names.some((name) => entry.name.includes(name)))
    .filter((entry) => entry.startTime >= bench.enter &&
      entry.responseEnd <= bench.enter + within)
    .reduce((sum, entry) => sum + entry.duration, 0);
  bench.fetchMs = async (url) => {
    const started = performance.now();
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    await response.text();
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return performance.now() - started;
  };
}"""


def wedge(name: str, prefix: str, index: dict) -> str:
    """What a keyboard-wedge scanner types for a fixture label: symbology id, then the data."""
    return prefix + index[name]["element_string"]


def scan(page, text: str) -> None:
    page.keyboard.type(text, delay=2)
    page.keyboard.press("Enter")


def log_in(page, base_url: str) -> None:
    page.goto(base_url + "/cart/login/")
    page.keyboard.type(HOA_BADGE, delay=3)
    page.keyboard.press("Enter")
    page.keyboard.type(HOA_PIN)
    page.select_option("#ward", WARD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/cart/", timeout=WAIT_MS)


def one_round(page, bed: Bed, index: dict) -> dict:
    """One patient: the band, then the pack, then closing the patient. Its figures in ms."""
    from playwright.sync_api import expect

    expect(page.locator("#scan")).to_be_focused(timeout=WAIT_MS)
    page.evaluate("name => window.__bench.watchPatient(name)", bed.name)
    scan(page, wedge(f"wristband-{bed.mrn}.png", "]C1", index))
    banner = page.evaluate("() => window.__bench.banner")
    doses = page.evaluate("() => window.__bench.doses")
    banner_api = page.evaluate(
        "within => window.__bench.apiMs(['/scan/decode/', '/scan/check/'], within)", banner
    )

    expect(page.locator("#verdict")).to_be_hidden(timeout=WAIT_MS)
    expect(page.locator("#scan")).to_be_focused(timeout=WAIT_MS)
    page.evaluate("() => window.__bench.watchVerdict()")
    scan(page, wedge(bed.label, "]d2", index))
    verdict = page.evaluate("() => window.__bench.verdict")
    verdict_api = page.evaluate(
        "within => window.__bench.apiMs(['/scan/decode/', '/scan/check/'], within)", verdict
    )
    shown = page.locator("#verdict").get_attribute("class").split()[-1]
    if shown != bed.expect:
        raise RuntimeError(f"{bed.name}: verdict {shown!r}, the demo gives {bed.expect!r}")

    page.click("#close-patient")
    expect(page.locator("#patient")).to_be_hidden(timeout=WAIT_MS)
    return {
        "banner": banner,
        "doses": doses,
        "verdict": verdict,
        "banner_api": banner_api,
        "verdict_api": verdict_api,
    }


def baselines(page, n: int) -> dict:
    return {
        "static": page.evaluate("n => window.__bench.fetchMs('/static/cart/release.js?n=' + n)", n),
        "api": page.evaluate("() => window.__bench.fetchMs('/api/v1/auth/badge/')"),
    }


def drive(base_url: str, *, repeat: int, warmup: int, log) -> dict:
    from playwright.sync_api import sync_playwright

    index = json.loads(INDEX.read_text(encoding="utf-8"))
    figures: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            log_in(page, base_url)
            page.evaluate(PROBE, WAIT_MS)
            log(f"{warmup} unmeasured rounds, then {repeat}")
            for n in range(warmup + repeat):
                round_figures = one_round(page, BEDS[n % len(BEDS)], index)
                round_figures.update(baselines(page, n))
                if n >= warmup:
                    for name, value in round_figures.items():
                        figures.setdefault(name, []).append(value)
            if errors:
                raise RuntimeError(f"JavaScript errors in the cart: {errors}")
            version = browser.version
        finally:
            browser.close()
    return {"ms": figures, "chromium": version}


def _summary(values: Sequence[float]) -> dict:
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p90": percentile(values, 0.9),
        "max": max(values),
    }


ROWS = (
    ("banner", "wristband → patient banner"),
    ("doses", "wristband → dose list"),
    ("verdict", "drug → verdict"),
    ("static", "baseline: GET a static file"),
    ("api", "baseline: empty API round trip"),
)


def render(results: dict) -> str:
    s = results["summary"]
    api = s["api"]["median"]
    lines = [
        f"{'in the browser, Enter → first frame showing it':52s} {'median':>7s} {'p90':>7s} "
        f"{'max':>7s}  (ms)",
        *(
            f"  {label:50s} {s[key]['median']:7.1f} {s[key]['p90']:7.1f} {s[key]['max']:7.1f}"
            for key, label in ROWS
        ),
        "",
        "Ratios to the empty API round trip (medians)",
        f"  banner {s['banner']['median'] / api:.1f} ×, dose list {s['doses']['median'] / api:.1f} ×, "
        f"verdict {s['verdict']['median'] / api:.1f} ×, static file {s['static']['median'] / api:.1f} ×",
        "Of which the two API requests (scan/decode + scan/check, Resource Timing), medians",
        f"  banner {s['banner_api']['median']:.1f} ms of {s['banner']['median']:.1f}, "
        f"verdict {s['verdict_api']['median']:.1f} ms of {s['verdict']['median']:.1f}",
        "",
        "Targets (issue 13), on the p90",
        f"  wristband → banner ≤ {BANNER_TARGET_MS:.0f} ms: {s['banner']['p90']:.1f} ms "
        f"{mark(s['banner']['p90'] <= BANNER_TARGET_MS)}",
        f"  drug → verdict ≤ {VERDICT_TARGET_MS:.0f} ms: {s['verdict']['p90']:.1f} ms "
        f"{mark(s['verdict']['p90'] <= VERDICT_TARGET_MS)}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cart_timings", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=None, help="measured rounds (30)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4)")
    parser.add_argument("--database", default="bench_cart_timings", help="dropped and recreated")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--smoke", action="store_true", help="4 rounds, seconds")
    args = parser.parse_args(argv)
    repeat = args.repeat or (4 if args.smoke else 30)
    warmup = 1 if args.smoke else 4
    if not Path(CHROMIUM).exists():
        print(
            f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)", file=sys.stderr
        )
        return 2
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    from bench.administer import gunicorn

    load_before = _common.load_average()
    server = _common.server_url()
    db_url = _common.recreate_database(server, args.database)
    try:
        _common.django_setup(db_url)
        _common.migrate()
        from django.db import connections

        from pharmacy.demo import demo_hospital_load
        from scanning.models import Administration

        demo_hospital_load()
        connections.close_all()
        with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as scratch:
            log_path = Path(scratch) / "gunicorn.log"
            with gunicorn(db_url, workers=args.workers, conn_max_age=600, log=log_path) as port:
                log(f"gunicorn: {args.workers} sync workers on 127.0.0.1:{port}, the demo loaded")
                results = drive(f"http://127.0.0.1:{port}", repeat=repeat, warmup=warmup, log=log)
        recorded = Administration.objects.count()
        if recorded:
            raise RuntimeError(f"the benchmark only checks, yet {recorded} doses were recorded")
    finally:
        from django.db import connections

        connections.close_all()
        _common.drop_database(server, args.database)
    results["summary"] = {name: _summary(values) for name, values in results["ms"].items()}
    results["repeat"] = repeat
    results["workers"] = args.workers
    results["machine"] = _common.machine()
    results["load_average"] = {"before": load_before, "after": _common.load_average()}
    results["seconds"] = time.perf_counter() - started
    print(f"{results['machine']}, Chromium {results['chromium']}")
    print(f"load average before: {load_before}; after: {results['load_average']['after']}")
    print(
        f"gunicorn {args.workers} sync workers on PostgreSQL, the demo hospital; nurse Hoa at a "
        f"{WARD} cart; {repeat} rounds after {warmup} unmeasured, {len(BEDS)} patients in turn"
    )
    print()
    print(render(results))
    print(f"\n{results['seconds']:.0f} s")
    if args.json is not None:
        args.json.write_text(
            json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
