"""What a nurse does at the cart, in Debian's Chromium, typing as a wedge scanner types."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from scanning.models import Administration, Override
from tests.e2e.conftest import label, log_in, scan, screenshot, wedge

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "1111")  # nurse, NOI
MAI = ("]C18017952000200000000136", "3333")  # nurse, NGOAI
LAN_BADGE = "]C18017952000200000000143"  # charge nurse, PIN 4444
AN = "wristband-BN2026000101.png"  # paracetamol 1 g due 08:00; penicillin allergy
NGOC = "wristband-BN2026000102.png"
PHAT = "wristband-BN2026000116.png"  # NGOAI: heparin 5000 IU IV due 08:00 (high-alert)


def open_patient(page, band: str, name: str):
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(band, "]C1"))
    expect(page.locator("#patient-name")).to_have_text(name)
    expect(page.locator("#doses")).to_be_visible()


def test_right_drug_is_go_and_is_recorded(page):
    # given
    log_in(page, *HOA)
    screenshot(page, "cart-empty-vi")
    open_patient(page, AN, "Nguyễn Văn An")
    expect(page.locator("#patient-mrn")).to_have_text("BN2026000101")
    expect(page.locator("#patient-dob")).to_have_text("14/03/1956")
    # when
    scan(page, wedge(label("PCM2611A", 1)))
    expect(page.locator("#progress")).to_contain_text("1")
    scan(page, wedge(label("PCM2611A", 2)))
    # then
    expect(page.locator("#verdict")).to_have_class("verdict go")
    screenshot(page, "cart-go-vi")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    administration = Administration.objects.get()
    assert administration.patient.mrn == "BN2026000101" and administration.units.count() == 2
    expect(page.locator(".dose.given")).to_have_count(1)
    assert page.evaluate("document.activeElement.id") == "scan"


def test_another_patients_drug_is_stop_and_cannot_be_recorded(page):
    log_in(page, *HOA)
    open_patient(page, NGOC, "Trần Thị Bích Ngọc")
    scan(page, wedge(label("PCM2611A", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#findings")).to_contain_text("y lệnh")
    expect(page.locator("#record")).to_be_disabled()
    screenshot(page, "cart-stop-vi")
    assert not Administration.objects.exists()


def test_an_expired_lot_is_stop(page):
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    scan(page, wedge(label("PCM2409X", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#record")).to_be_disabled()
    assert not Administration.objects.exists()


def test_an_early_dose_warns_and_needs_a_reason(page, demo):
    demo.move_to(datetime(2026, 11, 24, 6, 45, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    scan(page, wedge(label("PCM2611A", 3)))
    scan(page, wedge(label("PCM2611A", 4)))
    expect(page.locator("#verdict")).to_have_class("verdict warn")
    expect(page.locator("#record")).to_be_disabled()
    screenshot(page, "cart-warn-vi")
    page.click('button[data-code="TOO_EARLY"][data-reason="PATIENT_LEAVING_UNIT"]')
    expect(page.locator("#record")).to_be_enabled()
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    assert Override.objects.get().finding_code == "TOO_EARLY"


def test_a_high_alert_drug_needs_a_second_nurse(page):
    log_in(page, *MAI, ward="NGOAI")
    open_patient(page, PHAT, "Huỳnh Tấn Phát")
    scan(page, wedge(label("HEP2608", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#witness")).to_be_visible()
    screenshot(page, "cart-witness-vi")
    scan(page, LAN_BADGE)
    expect(page.locator("#witness-pin")).to_be_focused()
    page.keyboard.type("4444")
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    assert Administration.objects.get().witness.username == "dieuduong.lan"


def test_a_wrong_witness_pin_keeps_the_stop(page):
    log_in(page, *MAI, ward="NGOAI")
    open_patient(page, PHAT, "Huỳnh Tấn Phát")
    scan(page, wedge(label("HEP2608", 2)))
    scan(page, LAN_BADGE)
    page.keyboard.type("0000")
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#record")).to_be_disabled()


def test_idle_cart_locks_and_hides_the_patient(page, settings):
    settings.CART_IDLE_LOCK_SECONDS = 2
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    page.wait_for_url("**/cart/login/?locked=1", timeout=10_000)
    assert "Nguyễn Văn An" not in page.content()
    page.goto(page.base_url + "/cart/")
    expect(page).to_have_url(page.base_url + "/cart/login/")


def test_another_wristband_switches_patient_only_after_confirmation(page):
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    scan(page, wedge(NGOC, "]C1"))
    expect(page.locator("#switch-dialog")).to_be_visible()
    page.click("#switch-no")
    expect(page.locator("#patient-name")).to_have_text("Nguyễn Văn An")
    scan(page, wedge(NGOC, "]C1"))
    page.click("#switch-yes")
    expect(page.locator("#patient-name")).to_have_text("Trần Thị Bích Ngọc")


def test_the_camera_reads_a_label(page):
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    page.click("#camera-button")
    expect(page.locator("#verdict")).to_be_visible(timeout=15_000)
    expect(page.locator("#progress")).to_contain_text("500 mg")
    expect(page.locator("#camera-dialog")).to_be_hidden()


def test_english_is_one_tap_away(page):
    log_in(page, *HOA)
    page.click('button.lang[value="en"]')
    expect(page.locator("#prompt")).to_have_text("Scan the patient's wristband")
    screenshot(page, "cart-empty-en")
    open_patient(page, AN, "Nguyễn Văn An")
    scan(page, wedge(label("PCM2611A", 5)))
    expect(page.locator("#verdict")).to_have_class("verdict warn")
    screenshot(page, "cart-warn-en")
    scan(page, wedge(label("PCM2611A", 6)))
    expect(page.locator("#verdict")).to_have_class("verdict go")
    screenshot(page, "cart-go-en")


def test_the_page_fits_a_tablet(page):
    page.set_viewport_size({"width": 768, "height": 1024})
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    scan(page, wedge(label("PCM2611A", 1)))
    expect(page.locator("#verdict")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768
    screenshot(page, "cart-tablet-vi")


def test_a_refused_dose_is_documented_as_not_given(page):
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    page.locator(".dose.due button").first.click()
    expect(page.locator("#not-given-dialog")).to_be_visible()
    page.click('#not-given-reasons button[data-reason="refused"]')
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator(".dose.not_given")).to_have_count(1)
    record = Administration.objects.get()
    assert (record.status, record.reason) == ("not_done", "refused")
    expect(page.locator("#scan")).to_be_focused()


def test_a_typed_code_is_flagged_and_needs_an_unable_to_scan_reason(page):
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    page.click("#keyed-button")
    page.fill("#keyed-code", "(01)08936012345001(17)271130(10)PCM2611A(21)PCM2611AS001")
    page.click("#keyed-ok")
    expect(page.locator("#verdict")).to_be_visible()
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(label("PCM2611A", 2)))
    expect(page.locator("#verdict")).to_have_class("verdict warn")
    page.click('button[data-code="KEYED_ENTRY"][data-reason="DAMAGED_BARCODE"]')
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    units = Administration.objects.get().units.order_by("serial")
    assert [unit.scanned for unit in units] == [False, True]
    assert Override.objects.get().reason == "DAMAGED_BARCODE"


def test_a_server_failure_is_not_a_stop_and_the_retry_records_once(page):
    # given: the first record's answer is lost to a 503 (the dose was in fact written)
    log_in(page, *HOA)
    open_patient(page, AN, "Nguyễn Văn An")
    scan(page, wedge(label("PCM2611A", 1)))
    scan(page, wedge(label("PCM2611A", 2)))
    expect(page.locator("#verdict")).to_have_class("verdict go")
    keys = []

    def lose_the_answer(route):
        keys.append(route.request.headers["idempotency-key"])
        assert "client_time" in route.request.post_data_json
        route.fetch()
        route.fulfill(
            status=503,
            json={"error": {"code": "DATABASE_UNAVAILABLE", "message": "x", "details": {}}},
        )

    page.route("**/api/v1/administrations/", lose_the_answer)
    # when
    page.click("#record")
    # then: an error to retry, not a STOP; Record is still there
    expect(page.locator("#message")).to_have_class("message error")
    expect(page.locator("#message")).to_contain_text("không bị ghi hai lần")
    expect(page.locator("#verdict")).to_have_class("verdict go")
    expect(page.locator("#record")).to_be_enabled()
    page.unroute("**/api/v1/administrations/")
    with page.expect_request("**/api/v1/administrations/") as retried:
        page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    assert retried.value.headers["idempotency-key"] == keys[0]
    assert Administration.objects.count() == 1
