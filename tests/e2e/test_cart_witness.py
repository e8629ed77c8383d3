"""The second-nurse check at the cart (issue 13, item 5): waiting for her is its own amber state,
not a STOP; her name shows once the rules accept her; the scan field has focus again at once, so
the next scan is never dropped."""

import pytest
from playwright.sync_api import expect

from scanning.models import Administration
from tests.e2e.conftest import label, log_in, scan, screenshot, wedge

pytestmark = pytest.mark.django_db(transaction=True)

MAI = ("]C18017952000200000000136", "333333")  # nurse, NGOAI
LAN_BADGE = "]C18017952000200000000143"  # charge nurse, PIN 444444
PHAT = "wristband-BN2026000116.png"  # NGOAI: heparin 5000 IU IV due 08:00 (high-alert)


def heparin_waiting_for_a_witness(page):
    log_in(page, *MAI, ward="NGOAI")
    scan(page, wedge(PHAT, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Huỳnh Tấn Phát")
    scan(page, wedge(label("HEP2608", 1)))


def test_a_pending_witness_is_amber_and_named_not_a_red_stop(page):
    heparin_waiting_for_a_witness(page)

    verdict = page.locator("#verdict")
    expect(verdict).to_have_class("verdict witness")
    expect(page.locator("#verdict-word")).to_have_text("CHỜ – cần điều dưỡng thứ hai kiểm tra chéo")
    expect(verdict).not_to_contain_text("DỪNG")
    expect(page.locator("#findings .finding.stop")).to_have_count(0)
    expect(page.locator("#findings .finding.witness")).to_contain_text("kiểm tra chéo")
    expect(page.locator("#record")).to_be_disabled()
    expect(page.locator("#witness-confirmed")).to_be_hidden()
    screenshot(page, "cart-witness-vi")


def test_the_confirmed_witness_is_named_and_the_next_scan_is_not_dropped(page):
    heparin_waiting_for_a_witness(page)
    scan(page, LAN_BADGE)
    expect(page.locator("#witness-pin")).to_be_focused()

    page.keyboard.type("444444")
    page.keyboard.press("Enter")
    # at once, before the witness check has answered: the scan field has the keys
    expect(page.locator("#scan")).to_be_focused()

    expect(page.locator("#verdict")).to_have_class("verdict go")
    expect(page.locator("#witness-confirmed")).to_have_text(
        "Điều dưỡng kiểm tra chéo: Phạm Thị Lan"
    )
    screenshot(page, "cart-witness-confirmed-vi")
    with page.expect_request("**/api/v1/scan/decode/"):
        scan(page, wedge(label("HEP2608", 2)))  # a second unit: the scan reaches the cart
    expect(page.locator("#verdict")).not_to_have_class("verdict go")  # two units: too much
    expect(page.locator("#scan")).to_be_focused()


def test_a_wrong_witness_pin_stays_amber_and_focus_returns_to_the_scan_field(page):
    heparin_waiting_for_a_witness(page)
    scan(page, LAN_BADGE)
    expect(page.locator("#witness-pin")).to_be_focused()
    page.keyboard.type("000000")
    page.keyboard.press("Enter")

    expect(page.locator("#findings")).to_contain_text("PIN")
    expect(page.locator("#verdict")).to_have_class("verdict witness")
    expect(page.locator("#record")).to_be_disabled()
    expect(page.locator("#scan")).to_be_focused()
    # the witness scans her badge again and types the right PIN: recorded with her on it
    scan(page, LAN_BADGE)
    expect(page.locator("#witness-pin")).to_be_focused()
    page.keyboard.type("444444")
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    assert Administration.objects.get().witness.username == "dieuduong.lan"


def test_the_witness_in_english(page):
    heparin_waiting_for_a_witness(page)
    page.click('button.lang[value="en"]')
    expect(page.locator("#prompt")).to_have_text("Scan the patient's wristband")
    # the page was loaded again in English: its scan field has the keys once it has focus
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(PHAT, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Huỳnh Tấn Phát")
    scan(page, wedge(label("HEP2608", 3)))
    expect(page.locator("#verdict-word")).to_have_text("WAIT – needs a second nurse to check")
    screenshot(page, "cart-witness-en")
