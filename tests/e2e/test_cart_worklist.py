"""The ward worklist at the cart (issue 18): before any wristband the nurse sees her ward's due and
overdue doses across patients; a tap on a row opens nothing, the wristband scan opens the patient
and hides the list, and a list that could not be refreshed says how old it is."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import label, log_in, network_down, network_up, scan, screenshot, wedge

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "111111")  # nurse, NOI
AN = "wristband-BN2026000101.png"  # NOI 01: paracetamol 1 g due 08:00


def an_paracetamol(page):
    return page.locator(".worklist-row", has_text="Nguyễn Văn An").filter(has_text="Paracetamol")


def test_the_worklist_shows_before_the_first_scan_and_only_the_band_opens_the_patient(page):
    # given: Hoa logs in at a NOI cart at 08:10
    log_in(page, *HOA)

    # then: her ward's doses, overdue first, witness needed where it is
    worklist = page.locator("#worklist")
    expect(worklist).to_be_visible()
    expect(worklist).to_contain_text("Liều đến giờ và trễ giờ của khoa")
    expect(an_paracetamol(page)).to_have_count(1)
    expect(an_paracetamol(page)).to_contain_text("08:00")
    expect(an_paracetamol(page)).to_contain_text("Giường 01")
    first = page.locator(".worklist-row").first
    expect(first).to_have_class("worklist-row overdue kind-dose")
    expect(first).to_contain_text("Trễ giờ")
    insulin = page.locator(".worklist-row", has_text="Insulin").first
    expect(insulin).to_contain_text("Cần kiểm tra chéo")
    expect(page.locator(".worklist-row", has_text="Đỗ Minh Khôi")).to_have_count(0)  # NGOAI
    screenshot(page, "cart-worklist-vi")
    page.set_viewport_size({"width": 768, "height": 1024})  # a tablet: no row runs off the side
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    page.set_viewport_size({"width": 1366, "height": 768})

    # when: she taps a row
    an_paracetamol(page).click()

    # then: nothing opens; the list says to scan the band, and the scan field keeps the focus
    expect(page.locator("#worklist-hint")).to_contain_text(
        "Để mở thông tin người bệnh Nguyễn Văn An (giường 01)"
    )
    expect(page.locator("#patient")).to_be_hidden()
    expect(page.locator("#scan")).to_be_focused()

    # when: she scans An's wristband
    scan(page, wedge(AN, "]C1"))

    # then: the patient opens and the list hides
    expect(page.locator("#patient-name")).to_have_text("Nguyễn Văn An")
    expect(worklist).to_be_hidden()

    # when: she gives the paracetamol and closes the patient
    scan(page, wedge(label("PCM2611A", 1)))
    scan(page, wedge(label("PCM2611A", 2)))
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    page.click("#close-patient")

    # then: the list is back, read again: the dose given is no longer on it
    expect(worklist).to_be_visible()
    expect(page.locator("#worklist-hint")).to_have_text("Quét vòng tay để mở thông tin người bệnh.")
    expect(an_paracetamol(page)).to_have_count(0)
    expect(page.locator(".worklist-row", has_text="Nguyễn Văn An").first).to_be_visible()
    expect(page.locator("#scan")).to_be_focused()


def test_a_failed_refresh_says_how_old_the_list_is(page, settings):
    # given: a list that refreshes every second
    settings.CART_WORKLIST_REFRESH_SECONDS = 1
    log_in(page, *HOA)
    age = page.locator("#worklist-age")
    expect(age).to_contain_text("Cập nhật lúc 08:1")
    expect(an_paracetamol(page)).to_have_count(1)

    # when: the refresh fails
    network_down(page, "**/api/v1/wards/*/worklist/")

    # then: the rows stay, and the list says it is not current and from when
    expect(age).to_have_class("worklist-age stale")
    expect(age).to_contain_text("CHƯA CẬP NHẬT")
    expect(age).to_contain_text("lúc 08:1")
    expect(age).to_contain_text("phút trước")
    expect(an_paracetamol(page)).to_have_count(1)
    # a background list that failed neither raises the no-connection banner nor asks for a login
    expect(page.locator("#offline")).to_be_hidden()
    expect(page.locator("#scan")).to_be_focused()
    screenshot(page, "cart-worklist-stale-vi")

    # when: the connection is back, the next refresh says so
    network_up(page, "**/api/v1/wards/*/worklist/")
    expect(age).to_have_class("worklist-age")
    expect(age).not_to_contain_text("CHƯA CẬP NHẬT")
