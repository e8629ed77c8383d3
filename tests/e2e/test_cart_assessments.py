"""Values measured before giving, at the cart (issue 18): the demo's metoprolol for Phan Văn Thành
(NOI 12) is held when the heart rate is under 60 or the systolic pressure under 100. The cart asks
for both before Record can be pressed; a low heart rate is a STOP that is documented as held with
the values; values changed after a check are checked again; a scan typed while a value field has
focus still goes to the scan field; a lost answer is settled, not recorded twice."""

import pytest
from playwright.sync_api import expect

from pharmacy.models import MedicationOrder
from scanning.models import Administration, AdministrationStatus
from tests.e2e.conftest import label, log_in, lose_answers_after_saving, scan, screenshot, wedge

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "111111")  # nurse, NOI
THANH = "wristband-BN2026000121.png"


def metoprolol_scanned(page):
    log_in(page, *HOA)
    expect(page.locator("#scan")).to_be_focused()
    scan(page, wedge(THANH, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Phan Văn Thành")
    scan(page, wedge(label("MTP2611", 1)))
    # Waiting for values is amber, not a red STOP: nothing is wrong yet.
    expect(page.locator("#verdict")).to_have_class("verdict witness")
    expect(page.locator("#verdict-word")).to_have_text(
        "CHỜ – đo và nhập chỉ số trước khi dùng thuốc"
    )


def enter(page, heart_rate: str, systolic: str):
    page.fill('#assessment-fields input[data-kind="heart_rate"]', heart_rate)
    page.fill('#assessment-fields input[data-kind="systolic_bp"]', systolic)


def test_metoprolol_is_held_on_a_heart_rate_of_52_and_documented_with_the_values(page):
    metoprolol_scanned(page)
    # The check asks for both values and names the hold parameters; nothing can be recorded.
    expect(page.locator("#findings")).to_contain_text("cần đo và nhập: mạch, huyết áp tâm thu")
    expect(page.locator("#hold-rules")).to_contain_text("mạch < 60 lần/phút")
    expect(page.locator("#record")).to_be_disabled()

    enter(page, "52", "118")
    expect(page.locator("#record")).to_be_disabled()  # not checked yet
    page.click("#assessments-check")

    expect(page.locator("#findings")).to_contain_text("Tạm hoãn liều Metoprolol")
    expect(page.locator("#findings")).to_contain_text("mạch 52 lần/phút")
    expect(page.locator("#record")).to_be_disabled()
    screenshot(page, "cart-hold-parameter-vi", show=page.locator("#assessments"))
    page.click("#document-held")
    expect(page.locator("#not-given-dialog")).to_be_visible()
    expect(
        page.locator('#not-given-reasons button[data-reason="held_clinical"]')
    ).to_have_attribute("aria-pressed", "true")
    assert not Administration.objects.exists()  # chosen, not yet confirmed
    page.click("#not-given-confirm")

    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#verdict")).to_be_hidden()
    held = Administration.objects.get()
    assert (held.status, held.reason) == (AdministrationStatus.NOT_DONE, "held_clinical")
    assert {(a.kind, int(a.value)) for a in held.assessments.all()} == {
        ("heart_rate", 52),
        ("systolic_bp", 118),
    }


def test_values_changed_after_a_go_are_checked_again_before_record(page):
    metoprolol_scanned(page)
    enter(page, "72", "128")
    page.click("#assessments-check")
    expect(page.locator("#verdict")).to_have_class("verdict go")
    expect(page.locator("#record")).to_be_enabled()

    # She re-measures: 50. Record goes off until the rules have seen 50.
    page.fill('#assessment-fields input[data-kind="heart_rate"]', "50")
    expect(page.locator("#record")).to_be_disabled()
    page.click("#assessments-check")

    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#findings")).to_contain_text("mạch 50 lần/phút")
    expect(page.locator("#record")).to_be_disabled()
    assert not Administration.objects.exists()


def test_an_implausible_value_is_refused_in_words_and_nothing_is_recorded(page):
    metoprolol_scanned(page)
    enter(page, "600", "128")
    page.click("#assessments-check")

    expect(page.locator("#message")).to_contain_text(
        "Mạch phải là số nguyên trong khoảng 20 đến 300"
    )
    expect(page.locator("#record")).to_be_disabled()
    assert not Administration.objects.exists()


def test_a_scan_while_a_value_field_has_focus_goes_to_the_scan_field(page):
    metoprolol_scanned(page)
    field = page.locator('#assessment-fields input[data-kind="heart_rate"]')
    field.click()
    expect(field).to_be_focused()

    scan(page, wedge(label("PCM2611A", 1)))  # another patient's paracetamol, by mistake

    expect(page.locator("#units li")).to_have_count(2)
    expect(field).to_have_value("")


def test_the_answer_to_the_held_dose_lost_after_saving_is_settled_not_sent_twice(page):
    metoprolol_scanned(page)
    enter(page, "52", "118")
    page.click("#assessments-check")
    expect(page.locator("#findings")).to_contain_text("Tạm hoãn liều Metoprolol")
    seen = lose_answers_after_saving(page, "**/api/v1/administrations/not-given/")
    page.click("#document-held")
    page.click("#not-given-confirm")

    expect(page.locator("#message")).to_have_class("message ok")
    assert len(seen) == 1
    held = Administration.objects.get()
    assert held.reason == "held_clinical" and held.assessments.count() == 2
    expect(page.locator("#verdict")).to_be_hidden()


def test_an_order_that_comes_to_ask_for_values_after_the_check_shows_its_fields(page):
    # given: at her check the order asks for nothing (GO) ...
    orders = MedicationOrder.objects.filter(medication__code="metoprolol-25-tab")
    asked = orders.values_list("assessments_required", "hold_parameters").get()
    orders.update(assessments_required=[], hold_parameters=[])
    log_in(page, *HOA)
    scan(page, wedge(THANH, "]C1"))
    expect(page.locator("#patient-name")).to_have_text("Phan Văn Thành")
    scan(page, wedge(label("MTP2611", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict go")
    # ... and before she records, an update from the HIS asks for the heart rate and pressure.
    orders.update(assessments_required=asked[0], hold_parameters=asked[1])

    page.click("#record")

    # The refusal brings the fields the order now asks for; nothing was recorded.
    expect(page.locator('#assessment-fields input[data-kind="heart_rate"]')).to_be_visible()
    expect(page.locator("#verdict-word")).to_have_text(
        "CHỜ – đo và nhập chỉ số trước khi dùng thuốc"
    )
    expect(page.locator("#record")).to_be_disabled()
    assert not Administration.objects.exists()
    enter(page, "72", "128")
    page.click("#assessments-check")
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    given = Administration.objects.get()
    assert {(a.kind, int(a.value)) for a in given.assessments.all()} == {
        ("heart_rate", 72),
        ("systolic_bp", 128),
    }
