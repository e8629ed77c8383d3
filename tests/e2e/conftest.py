import json
import os
import threading
import time
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from PIL import Image

from tests.demo_copy import DemoCopy
from tests.scanning.conftest import DEMO_NOW

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by fixtures in
# that same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BARCODES = settings.BASE_DIR / "fixtures" / "barcodes"
INDEX = json.loads((BARCODES / "index.json").read_text(encoding="utf-8"))
SCREENSHOTS = settings.BASE_DIR / "docs" / "screenshots"


def wedge(name: str, prefix: str = "]d2") -> str:
    """What a keyboard-wedge scanner types for a fixture label: symbology id, then the data."""
    return prefix + INDEX[name]["element_string"]


@pytest.fixture(scope="session")
def chromium_path():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}: CI must run the browser tests")
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory):
    """A .y4m video of a unit-dose label in a 640×480 frame, for Chromium's fake camera."""
    label = Image.open(BARCODES / "unit-dose-08936012345001-PCM2611AS003.png").convert("RGB")
    frame = Image.new("RGB", (640, 480), (235, 232, 225))
    frame.paste(label, ((640 - label.width) // 2, (480 - label.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (320, 240)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    path = tmp_path_factory.mktemp("camera") / "label.y4m"
    with path.open("wb") as video:
        video.write(b"YUV4MPEG2 W640 H480 F5:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            video.write(b"FRAME\n" + planes)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path, fake_camera):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={fake_camera}",
            ],
        )
        yield browser
        browser.close()


DEMO = DemoCopy()


@pytest.fixture
def demo(transactional_db):
    with time_machine.travel(DEMO_NOW, tick=True) as traveller:
        DEMO.load()
        yield traveller
    live_server_requests_finish()


def live_server_requests_finish(timeout: float = 15) -> None:
    """Wait for the live server's request threads to end before the database is flushed: a
    request still running when the browser closed (a record, a poll) holds locks that the flush's
    TRUNCATE would deadlock with on PostgreSQL."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread is threading.current_thread() or "process_request" not in thread.name:
            continue
        # threading.enumerate() lists a thread still starting too, and joining one raises: a
        # request that came in as the page closed (CI saw it once, the worklist's last refresh).
        while True:
            try:
                thread.join(max(0.0, deadline - time.monotonic()))
                break
            except RuntimeError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.01)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_report = report
    return report


@pytest.fixture
def page(request, browser, live_server, demo):
    from playwright.sync_api import expect

    # CI runs two passes side by side on two cores: an answer can take seconds there.
    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    context.grant_permissions(["camera"], origin=live_server.url)
    # Which element each tap reached (a tap "with no effect" under load: did it arrive, and where?).
    context.add_init_script(TAP_TRACE)
    page = context.new_page()
    errors, traffic, in_flight = [], [], {}
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda line: traffic.append(f"{time.perf_counter():.1f} {line.text}"))
    page.on("request", lambda r: in_flight.setdefault(id(r), r))
    page.on(
        "requestfinished", lambda r: traffic.append(exchange(r, r.response(), in_flight=in_flight))
    )
    page.on(
        "requestfailed", lambda r: traffic.append(exchange(r, None, r.failure, in_flight=in_flight))
    )
    page.base_url = live_server.url
    yield page
    report = getattr(request.node, "call_report", None)
    if report is not None and report.failed:
        # A browser test that fails under load says what the cart saw: the API's answers and how
        # long they took, and the state that keeps Record off (offline, a check still queued).
        waiting = ", ".join(f"{r.method} /{r.url.split('/', 3)[-1]}" for r in in_flight.values())
        lines = ["cart traffic:", *traffic[-40:], f"still waiting: {waiting or '–'}"]
        print("\n".join([*lines, "cart state: " + cart_state(page)]))
    context.close()
    assert errors == [], errors


TAP_TRACE = """
addEventListener("DOMContentLoaded", () => {
  const name = (node) => node && node.nodeType === 1
    ? node.tagName.toLowerCase() + (node.id ? "#" + node.id : "")
      + (node.dataset && (node.dataset.site || node.dataset.reason || node.dataset.code)
         ? "[" + (node.dataset.site || node.dataset.reason || node.dataset.code) + "]" : "")
      + (node.isConnected ? "" : " (detached)")
    : String(node);
  for (const type of ["pointerdown", "pointerup", "click"]) {
    document.addEventListener(type, (event) => console.log(`${type} ${name(event.target)}`), true);
  }
});
"""


def exchange(request, response, failure=None, *, in_flight=None) -> str:
    if in_flight is not None:
        in_flight.pop(id(request), None)
    took = request.timing.get("responseEnd", -1)
    outcome = failure or (response.status if response is not None else "no answer")
    path = "/" + request.url.split("/", 3)[-1]
    return f"{time.perf_counter():.1f} {request.method} {path} → {outcome} ({took:.0f} ms)"


def cart_state(page) -> str:
    try:
        return page.evaluate(
            """() => JSON.stringify({
                body: document.body.className,
                offline: !(document.getElementById("offline") || {hidden: true}).hidden,
                record: (document.getElementById("record") || {}).disabled,
                verdict: (document.getElementById("verdict") || {}).className,
                message: (document.getElementById("message") || {}).textContent,
            })"""
        )
    except Exception as error:  # the page may be gone: the traffic above still says what it saw
        return f"unavailable ({error})"


def log_in(page, badge: str, pin: str, ward: str = "NOI"):
    page.goto(page.base_url + "/cart/login/")
    page.keyboard.type(badge, delay=3)
    page.keyboard.press("Enter")
    page.keyboard.type(pin)
    page.select_option("#ward", ward)
    page.keyboard.press("Enter")
    page.wait_for_url("**/cart/")


def scan(page, text: str):
    """Type as a wedge scanner does: fast keystrokes, then Enter, into whatever has focus."""
    page.keyboard.type(text, delay=2)
    page.keyboard.press("Enter")


def screenshot(page, name: str, *, show=None):
    """docs/screenshots/<name>.png when UPDATE_SCREENSHOTS is set; `show` (a locator) is scrolled
    into view first, for a state below the fold."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        if show is not None:
            show.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def label(lot: str, number: int = 1) -> str:
    """The fixture file of the `number`-th serialised unit of a demo lot."""
    return next(
        name
        for name, entry in sorted(INDEX.items())
        if entry.get("lot") == lot and entry.get("serial", "").endswith(f"S{number:03d}")
    )


def network_down(page, pattern: str = "**/api/v1/**"):
    """The cart's connection drops: every API request fails as on a dead Wi-Fi."""
    page.route(pattern, lambda route: route.abort("internetdisconnected"))


def network_up(page, pattern: str = "**/api/v1/**"):
    page.unroute(pattern)


def lose_answers_after_saving(page, pattern: str) -> list:
    """Requests to `pattern` reach the server, which does its work; the answer never comes back.
    Returns the requests seen."""
    seen = []

    def handler(route):
        seen.append(route.request)
        route.fetch()
        route.abort("connectionreset")

    page.route(pattern, handler)
    return seen


def fail_first(page, pattern: str, times: int) -> list:
    """The first `times` requests to `pattern` are dropped before reaching the server; the rest
    go through."""
    seen = []

    def handler(route):
        seen.append(route.request)
        if len(seen) <= times:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(pattern, handler)
    return seen
