"""Patches and body sites at the cart (issue 17): a second patch while the first is on is a STOP,
the first is removed from the patient's list, then the new one goes on; tapping a site that was
used for the same substance within its look-back warns with the last time."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

import gs1
from hospital.models import User
from pharmacy.models import ScheduleKind
from scanning.models import Administration, Removal
from tests.e2e.conftest import log_in, scan, screenshot
from tests.factories import (
    AdmissionFactory,
    MedicationFactory,
    OrderFactory,
    PackageFactory,
    SubstanceFactory,
    WristbandFactory,
)
from wards.models import Ward

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "111111")  # nurse, NOI
serials = iter(range(1, 1000))


def bedside(medication, *, dose, unit, route, package=("1", "each")):
    """A patient on NOI with a PRN order for `medication`; the wedge texts of band and units."""
    ward = Ward.objects.get(code="NOI")
    pharmacist = User.objects.get(username="duocsi.tuan")
    package = PackageFactory(
        medication=medication, quantity=Decimal(package[0]), quantity_unit=package[1]
    )
    admission = AdmissionFactory(ward=ward, patient__full_name="Tạ Văn Dán")
    band = WristbandFactory(admission=admission, instance=1, printed_by=pharmacist)
    OrderFactory(
        admission=admission,
        medication=medication,
        dose_value=Decimal(dose),
        dose_unit=unit,
        route=route,
        schedule_kind=ScheduleKind.PRN,
        times_of_day=[],
        prn_indication="đau",
        prn_min_interval_minutes=1,
        prn_max_per_24h=Decimal("100000"),
        start_at=timezone.now() - timedelta(days=1),
        verified_by=pharmacist,
    )
    band_text = "]C1" + gs1.wristband_element_string(
        gs1.WristbandPayload(gsrn=admission.patient.gsrn, instance=band.instance)
    )

    def unit_text():
        payload = gs1.MedicationPayload(
            gtin=package.gtin, expiry=date(2030, 1, 31), lot="E2E", serial=f"S{next(serials)}"
        )
        return "]d2" + gs1.medication_element_string(payload)

    return band_text, unit_text


def pick_reason(page):
    """The order's one indication, tapped: a PRN dose names why it is given (issue 18)."""
    page.click("#prn-reason-choices button")


def fentanyl_patch():
    substance = SubstanceFactory(code="fentanyl", name="Fentanyl", site_lookback_hours=168)
    return MedicationFactory(
        name="Fentanyl 25 mcg/giờ miếng dán",
        substance=substance,
        strength_value=Decimal("25"),
        strength_unit="mcg",
        dose_form="patch",
        routes=["TD"],
        requires_removal=True,
        wear_hours=72,
    )


def recorded_at(page, unit: str, site: str):
    """A unit scanned, the order's reason tapped and `site` tapped on the body map: GO, recorded."""
    scan(page, unit)
    pick_reason(page)
    page.click(f'#body-map [data-site="{site}"]')
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")


def first_patch_on(page):
    """Tạ Văn Dán with a fentanyl patch recorded on her left upper arm; the wedge text of a next
    unit, each call a new serial."""
    band, unit = bedside(fentanyl_patch(), dose="25", unit="mcg", route="TD")
    log_in(page, *HOA)
    scan(page, band)
    recorded_at(page, unit(), "LUA")
    return unit


def test_apply_a_patch_a_second_is_a_stop_remove_the_first_then_apply(page, demo):
    band, unit = bedside(fentanyl_patch(), dose="25", unit="mcg", route="TD")
    log_in(page, *HOA)
    scan(page, band)
    expect(page.locator("#patient-name")).to_have_text("Tạ Văn Dán")

    # the first patch: no record until a site is tapped on the body map
    scan(page, unit())
    pick_reason(page)
    expect(page.locator("#site-picker")).to_be_visible()
    expect(page.locator("#record")).to_be_disabled()
    page.click('#body-map [data-site="LUA"]')
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#worn-list")).to_contain_text("cánh tay trái")

    # a second patch while the first is on: STOP, whatever the site
    demo.shift(timedelta(minutes=2))  # past the order's PRN interval: only the patch stops it
    scan(page, unit())
    pick_reason(page)
    page.click('#site-list [data-site="RUA"]')
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#findings")).to_contain_text("chưa được ghi nhận tháo")
    expect(page.locator("#record")).to_be_disabled()
    screenshot(page, "cart-patch-stop-vi", show=page.locator("#verdict"))
    page.click("#clear-meds")

    # remove the first from the patient's list, then the second goes on
    page.click("#worn-list .remove-patch")
    expect(page.locator("#remove-confirm")).to_be_enabled()  # the site it was put on
    expect(page.locator("#remove-label")).to_be_focused()
    page.keyboard.type(unit(), delay=2)  # its label, scanned
    page.keyboard.press("Enter")
    expect(page.locator("#remove-dialog")).to_be_visible()  # Enter does not confirm by itself
    page.click("#remove-confirm")
    expect(page.locator("#message")).to_contain_text("Đã ghi nhận tháo")
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#worn")).to_be_hidden()
    scan(page, unit())
    pick_reason(page)
    page.click('#site-list [data-site="RUA"]')
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#worn-list")).to_contain_text("cánh tay phải")

    removal = Removal.objects.get()
    assert (removal.site, removal.scanned) == ("LUA", True)
    assert sorted(Administration.objects.values_list("site", flat=True)) == ["LUA", "RUA"]


def test_tapping_a_site_used_recently_warns_with_the_last_time(page, demo):
    substance = SubstanceFactory(code="enoxaparin-e2e", name="Enoxaparin", site_lookback_hours=48)
    enoxaparin = MedicationFactory(
        name="Enoxaparin 40 mg/0,4 mL",
        substance=substance,
        strength_value=Decimal("40"),
        strength_unit="mg",
        per_value=Decimal("0.4"),
        per_unit="mL",
        dose_form="injection",
        routes=["SC"],
        divisible=True,
    )
    band, unit = bedside(enoxaparin, dose="40", unit="mg", route="SC", package=("0.4", "mL"))
    log_in(page, *HOA)
    scan(page, band)
    recorded_at(page, unit(), "LLAQ")

    demo.shift(timedelta(minutes=2))
    scan(page, unit())
    pick_reason(page)
    page.click('#body-map [data-site="LLAQ"]')
    expect(page.locator("#verdict")).to_have_class("verdict warn")
    expect(page.locator("#findings")).to_contain_text("Vị trí bụng dưới bên trái đã dùng cho")
    screenshot(page, "cart-site-warn-vi", show=page.locator("#site-picker"))
    page.click('#body-map [data-site="RLAQ"]')  # another site: GO
    expect(page.locator("#verdict")).to_have_class("verdict go")


def test_a_check_answered_after_the_removal_dialog_opened_takes_neither_focus_nor_the_screen(
    page, demo
):
    """A site tap's check still on its way when she clears the units and opens the removal: its
    answer neither pulls the label scan out of the dialog (half a label there, half a scan in the
    main field) nor shows a verdict for units no longer on the screen."""
    unit = first_patch_on(page)

    demo.shift(timedelta(minutes=2))
    scan(page, unit())
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    held = []
    page.route("**/api/v1/scan/check/", lambda route: held.append(route))
    page.click('#site-list [data-site="RUA"]')
    for _ in range(50):  # route handlers run while Playwright waits
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1  # the tap's check, held back
    page.click("#clear-meds")
    expect(page.locator("#verdict")).to_be_hidden()
    page.click("#worn-list .remove-patch")
    expect(page.locator("#remove-label")).to_be_focused()

    label = unit()
    with page.expect_response("**/api/v1/scan/check/"):
        held[0].continue_()
    page.keyboard.type(label, delay=2)  # the check's answer is handled while the label comes in
    page.click("#remove-confirm")
    expect(page.locator("#message")).to_contain_text("Đã ghi nhận tháo")
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#verdict")).to_be_hidden()
    assert Removal.objects.get().scanned is True


def test_taps_queued_behind_a_slow_check_are_dropped_when_she_starts_over(page, demo):
    """The reason tapped (its check slow to answer), then a site, then "Start over" and the
    removal dialog: the site's check, still queued, is dropped (it would be a check of no units,
    its verdict or refusal on a cleared screen), and neither answer takes the dialog's focus."""
    unit = first_patch_on(page)

    demo.shift(timedelta(minutes=2))
    scan(page, unit())
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    held, checks = [], []
    page.on("request", lambda r: checks.append(r) if r.url.endswith("/scan/check/") else None)
    page.route("**/api/v1/scan/check/", lambda route: held.append(route))
    pick_reason(page)
    for _ in range(50):  # route handlers run while Playwright waits
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1  # the reason's check, held back
    page.click('#site-list [data-site="RUA"]')  # queued behind it
    page.click("#clear-meds")
    expect(page.locator("#verdict")).to_be_hidden()
    page.click("#worn-list .remove-patch")
    expect(page.locator("#remove-label")).to_be_focused()

    with page.expect_response("**/api/v1/scan/check/"):
        held[0].continue_()
    page.wait_for_timeout(500)  # what the queue would send after it
    assert len(checks) == len(held) == 1
    expect(page.locator("#remove-label")).to_be_focused()
    expect(page.locator("#verdict")).to_be_hidden()
    expect(page.locator("#message")).not_to_have_class("message error")


def test_a_held_tap_below_the_fold_lands_where_she_pressed(page, demo):
    """A gloved press lasts longer than the scan field's return of focus (150 ms after it loses
    it): focusing the field must not scroll the page under her finger, or the tap ends on
    whatever came under it and "Start over" does nothing (seen in CI under load)."""
    unit = first_patch_on(page)
    expect(page.locator("#worn-list")).to_contain_text("cánh tay trái")

    scan(page, unit())
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    start_over = page.locator("#clear-meds")
    start_over.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0  # the scan field is above the fold
    box = start_over.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(400)
    page.mouse.up()
    expect(page.locator("#verdict")).to_be_hidden()
    expect(page.locator("#scan")).to_be_focused()


def test_a_scan_brings_its_verdict_into_view_wherever_she_had_scrolled(page, demo):
    """Scrolled down to the patch list (focus still in the scan field, as after a swipe), the
    next scan's verdict comes into view: a STOP below or above the screen is a STOP unread. The
    screen of a cart zoomed for reading (1366×768 at 175 %) is a short one."""
    page.set_viewport_size({"width": 780, "height": 440})
    unit = first_patch_on(page)
    expect(page.locator("#worn-list")).to_contain_text("cánh tay trái")

    page.mouse.move(600, 400)
    page.mouse.wheel(0, 5000)
    expect(page.locator("#scan")).to_be_focused()
    page.wait_for_function("window.scrollY > 0")
    scan(page, unit())
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#verdict-word")).to_be_in_viewport()


def test_a_label_of_another_product_is_refused_in_the_nurses_language(page, demo):
    """The cart shows the server's refusal as it comes: in Vietnamese, not the English of the
    code (REMOVAL_SCAN_MISMATCH), and the patch stays on the patient's list."""
    band, unit = bedside(fentanyl_patch(), dose="25", unit="mcg", route="TD")
    other = PackageFactory()
    other_label = "]d2" + gs1.medication_element_string(
        gs1.MedicationPayload(gtin=other.gtin, expiry=date(2030, 1, 31), lot="E2E", serial="X1")
    )
    log_in(page, *HOA)
    scan(page, band)
    scan(page, unit())
    pick_reason(page)
    page.click('#body-map [data-site="LUA"]')
    expect(page.locator("#verdict")).to_have_class("verdict go")
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")

    page.click("#worn-list .remove-patch")
    expect(page.locator("#remove-label")).to_be_focused()
    page.keyboard.type(other_label, delay=2)
    page.click("#remove-confirm")

    expect(page.locator("#message")).to_have_class("message error")
    expect(page.locator("#message")).to_contain_text(
        "Mã vừa quét không phải của sản phẩm đã dán cho người bệnh."
    )
    expect(page.locator("#worn-list")).to_contain_text("cánh tay trái")
    assert not Removal.objects.exists()
