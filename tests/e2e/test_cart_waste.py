"""Half a morphine ampoule at the cart (issue 17): Phúc's 5 mg PRN dose from a 10 mg/1 mL
ampoule, the other 5 mg wasted before a second nurse. Unhappy paths first: a wrong witness PIN,
the nurse as her own witness, the session ending before Record. Nothing is dropped in silence:
a dose and its waste are recorded together, once, or not at all and the cart says so."""

import pytest
from playwright.sync_api import expect

from scanning.models import Administration, Waste
from tests.e2e.conftest import label, log_in, scan, screenshot, wedge
from tests.e2e.test_cart import HOA, open_patient
from tests.e2e.test_cart_session import (
    log_in_over_the_page,
    record_keys,
    session_ends_on_the_server,
)

pytestmark = pytest.mark.django_db(transaction=True)

PHUC = "wristband-BN2026000103.png"  # morphine 5 mg IV PRN (high-alert, controlled)
BINH = ("]C18017952000200000000129", "222222")  # nurse, NOI


def morphine_ampoule_scanned(page):
    log_in(page, *HOA)
    open_patient(page, PHUC, "Lê Hoàng Phúc")
    scan(page, wedge(label("MOR2606", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict witness")
    expect(page.locator("#findings")).to_contain_text("5 mg")
    # a PRN analgesic: the pain score and the reason (issue 18)
    page.fill('#assessment-fields input[data-kind="pain_score"]', "8")
    page.click("#prn-reason-choices button")
    expect(page.locator("#prn-reason-choices button")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#findings")).not_to_contain_text("Chọn lý do")
    expect(page.locator("#scan")).to_be_focused()


def witness(page, badge: str, pin: str):
    scan(page, badge)
    expect(page.locator("#witness-pin")).to_be_focused()
    page.keyboard.type(pin)
    page.keyboard.press("Enter")


def remainder_wasted(page):
    page.click('button[data-code="PARTIAL_UNIT"][data-reason="REMAINDER_WASTED"]')
    expect(page.locator("#waste-note")).to_contain_text("5 mg")
    # checked again with the waste: Record stays off until that check (and the witness's,
    # queued before it) has answered
    expect(page.locator("#record")).to_be_enabled()


def test_a_wrong_witness_pin_records_nothing(page):
    morphine_ampoule_scanned(page)

    witness(page, BINH[0], "000000")

    expect(page.locator("#findings")).to_contain_text("PIN")
    expect(page.locator("#record")).to_be_disabled()
    assert not Administration.objects.exists() and not Waste.objects.exists()


def test_the_nurse_cannot_witness_her_own_waste(page):
    morphine_ampoule_scanned(page)

    witness(page, *HOA)

    expect(page.locator("#findings")).to_contain_text("người khác")
    expect(page.locator("#record")).to_be_disabled()
    assert not Waste.objects.exists()


def test_the_session_ending_before_record_logs_in_and_records_dose_and_waste_once(page):
    morphine_ampoule_scanned(page)
    witness(page, *BINH)
    remainder_wasted(page)
    keys = record_keys(page)
    session_ends_on_the_server()

    page.click("#record")

    expect(page.locator("#reauth-dialog")).to_be_visible()
    assert not Administration.objects.exists() and not Waste.objects.exists()
    log_in_over_the_page(page, *HOA)
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#message")).to_contain_text("5 mg")
    assert len(keys) == 2 and keys[0] == keys[1]
    waste = Waste.objects.get()
    assert (waste.amount, waste.unit, waste.witness.username) == (5, "mg", "dieuduong.binh")


def test_half_a_morphine_ampoule_is_given_and_the_rest_wasted_before_the_witness(page):
    morphine_ampoule_scanned(page)
    witness(page, *BINH)
    expect(page.locator("#witness-confirmed")).to_contain_text("Bình")
    expect(page.locator("#verdict")).to_have_class("verdict warn")

    remainder_wasted(page)
    screenshot(page, "cart-waste-vi")
    page.click("#record")

    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#message")).to_contain_text("Đã huỷ bỏ 5 mg")
    record = Administration.objects.get()
    assert (record.amount, record.unit) == (5, "mg")
    assert record.waste.witness.username == "dieuduong.binh"
    assert record.waste.performer.username == "dieuduong.hoa"


def test_record_waits_for_the_check_with_the_waste_queued_behind_the_witness_check(page):
    """The witness's check answers while the check with the waste is still queued behind it:
    Record stays off until that last check has answered, so no record races it."""
    morphine_ampoule_scanned(page)
    held = []
    page.route("**/api/v1/scan/check/", lambda route: held.append(route))
    witness(page, *BINH)
    page.click('button[data-code="PARTIAL_UNIT"][data-reason="REMAINDER_WASTED"]')
    for _ in range(50):  # route handlers run while Playwright waits
        if held:
            break
        page.wait_for_timeout(100)
    with page.expect_response("**/api/v1/scan/check/"):
        held.pop().continue_()  # the witness's check answers; the waste's is sent next, held
    expect(page.locator("#witness-confirmed")).to_contain_text("Bình")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    expect(page.locator("#record")).to_be_disabled()

    held.pop().continue_()
    page.unroute("**/api/v1/scan/check/")
    expect(page.locator("#record")).to_be_enabled()
    page.click("#record")
    expect(page.locator("#message")).to_contain_text("5 mg")
    expect(page.locator("#message")).to_have_class("message ok")
    assert Waste.objects.get().witness.username == "dieuduong.binh"
