"""The charge nurse's ward dashboard, in Debian's Chromium: tiles open their lists, the page
refreshes in place, locks after idle like the cart and stops refreshing once it is locked or the
session is gone."""

import time

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

LAN = ("]C18017952000200000000143", "444444")  # charge nurse, both wards
DECEASED = "Kiều Văn Lộc"  # NOI 09, died before the load: none of his doses is due


def open_dashboard(page):
    log_in(page, *LAN)
    page.goto(page.base_url + "/dashboard/?ward=NOI")
    expect(page.locator("#tiles")).to_be_visible()


def dashboard_requests(page) -> list[str]:
    seen: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen.append(request.url)
            if "/dashboard/" in request.url and "logout" not in request.url
            else None
        ),
    )
    return seen


def test_each_tile_opens_its_list_of_patients(page):
    open_dashboard(page)
    due = page.locator("#tile-due-now")
    expect(page.locator("#list-due-now")).to_be_hidden()

    due.click()

    listed = page.locator("#list-due-now")
    expect(listed).to_be_visible()
    expect(due).to_have_attribute("aria-expanded", "true")
    row = listed.locator("tbody tr", has_text="Paracetamol").filter(has_text="Nguyễn Văn An")
    expect(row).to_contain_text("01")  # bed
    expect(row).to_contain_text("Paracetamol")
    expect(row).to_contain_text("08:00")
    expect(row).to_contain_text("Đến giờ")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "dashboard-vi")

    page.locator("#tile-without-band").click()
    expect(listed).to_be_hidden()
    expect(page.locator("#list-without-band")).to_be_visible()
    page.locator("#list-without-band [data-close]").click()
    expect(page.locator("#list-without-band")).to_be_hidden()
    assert DECEASED not in page.locator("#tile-lists").inner_html()


def test_the_dashboard_in_english(page):
    open_dashboard(page)
    page.click("button[value=en]")
    page.locator("#tile-due-now").click()
    expect(page.locator("#list-due-now")).to_contain_text("Due now")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "dashboard-en")


def test_the_idle_dashboard_counts_down_hides_everyone_logs_out_and_stops(page, settings):
    settings.DASHBOARD_IDLE_LOCK_SECONDS = 4  # the last second is the countdown
    open_dashboard(page)
    seen = dashboard_requests(page)

    expect(page.locator("#notice")).to_contain_text("khóa", timeout=6_000)
    page.wait_for_url("**/cart/login/?next=*locked=1", timeout=10_000)

    assert "Nguyễn Văn An" not in page.content()
    expect(page.locator("main")).to_contain_text("tự khóa")
    count = len(seen)
    time.sleep(1.5)
    assert len(seen) == count  # nothing refreshes behind the login
    page.goto(page.base_url + "/dashboard/")
    expect(page).to_have_url(page.base_url + "/cart/login/?next=/dashboard/")


def test_touching_the_screen_keeps_it_open(page, settings):
    settings.DASHBOARD_IDLE_LOCK_SECONDS = 3
    open_dashboard(page)

    for _ in range(4):
        time.sleep(1)
        page.mouse.click(5, 700)

    expect(page).to_have_url(page.base_url + "/dashboard/?ward=NOI")


def test_the_figures_refresh_in_place_and_stop_when_the_session_ends(page, settings):
    settings.DASHBOARD_REFRESH_SECONDS = 1
    settings.DASHBOARD_IDLE_LOCK_SECONDS = 600
    open_dashboard(page)
    page.evaluate("window.notReloaded = true")
    seen = dashboard_requests(page)
    page.locator("#tile-due-now").click()

    page.wait_for_timeout(2_500)
    assert len(seen) >= 2, seen
    assert page.evaluate("window.notReloaded") is True  # refreshed without a reload
    expect(page.locator("#list-due-now")).to_be_visible()  # the open list stays open

    Session.objects.all().delete()  # logged out elsewhere, or the session expired

    page.wait_for_url("**/cart/login/?next=*", timeout=5_000)
    assert "Nguyễn Văn An" not in page.content()
    count = len(seen)
    time.sleep(2)
    assert len(seen) == count


def test_the_logout_button(page):
    open_dashboard(page)

    page.click("#logout")

    page.wait_for_url("**/cart/login/?next=*")
    assert "Nguyễn Văn An" not in page.content()
