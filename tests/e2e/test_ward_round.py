"""A ward round (issue 13, "Done when"): one nurse, Hoa, at one cart on the NOI ward, through
eight patients in one browser session, meeting every state the cart has on the way, and then the
database says exactly what she recorded and nothing she did not.

| bed | patient  | what happens                                                              |
|-----|----------|---------------------------------------------------------------------------|
| 01  | An       | paracetamol 1 g from two 500 mg packs: GO, recorded                       |
| 04  | Hương    | ibuprofen with a moderate NSAID allergy: WARN, a reason, recorded         |
| 02  | Ngọc     | metformin XR instead of the ordered tablet: STOP, nothing recordable      |
| 07  | Bảo      | potassium chloride concentrate: amber until Lan's badge and PIN, recorded |
| 05  | Đức      | omeprazole refused: documented not given, after the confirmation          |
| 03  | Phúc     | a ceftriaxone vial scanned, then Lệ's band: the switch drops Phúc's dose  |
| 08  | Lệ       | aspirin GO; the answer to Record is lost after the server saved it        |
| 06  | Trang    | furosemide scanned, the cart locks when idle; after logging in again, the |
|     |          | pack is typed with its lot and expiry, two WARNs with reasons, recorded   |

Every step waits for the state it leads to before the next scan: a wedge typing into a field
that a closing dialog or a pending answer still holds is the classic flake. Nothing is timed."""

from datetime import date

import pytest
from playwright.sync_api import expect

from scanning.models import AdministeredUnit, Administration, AdministrationStatus, Override
from tests.e2e.conftest import label, log_in, lose_answers_after_saving, scan, screenshot, wedge

pytestmark = pytest.mark.django_db(transaction=True)

HOA = ("]C18017952000200000000112", "111111")  # nurse, NOI
LAN_BADGE = "]C18017952000200000000143"  # charge nurse on NOI and NGOAI, PIN 444444
FUROSEMIDE_INJ_GTIN = "09520003000100"  # Furosemid 20 mg/2 mL, lot FUI2608, expiry 2027-08-31
ADMINISTRATIONS = "**/api/v1/administrations/"

AN = ("BN2026000101", "Nguyễn Văn An")
NGOC = ("BN2026000102", "Trần Thị Bích Ngọc")
PHUC = ("BN2026000103", "Lê Hoàng Phúc")
HUONG = ("BN2026000104", "Phạm Thị Hương")
DUC = ("BN2026000105", "Hoàng Văn Đức")
TRANG = ("BN2026000106", "Vũ Thị Thu Trang")
BAO = ("BN2026000107", "Đặng Quốc Bảo")
LE = ("BN2026000108", "Bùi Thị Lệ")


@pytest.fixture(autouse=True)
def patient_waits(page):
    """A loaded two-CPU machine answers slower than a desk: every expect() waits longer (only
    for this module; the browser tests' default comes back after it). After `page`, which sets
    that default."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=10_000)


def band(patient) -> str:
    return wedge(f"wristband-{patient[0]}.png", "]C1")


def scan_when_ready(page, text: str):
    """Scan only once the scan field has the keys (no dialog open, nothing holding focus)."""
    expect(page.locator("#scan")).to_be_focused()
    scan(page, text)


def open_patient(page, patient):
    scan_when_ready(page, band(patient))
    expect(page.locator("#patient-name")).to_have_text(patient[1])
    expect(page.locator("#patient-mrn")).to_have_text(patient[0])
    expect(page.locator("#doses")).to_be_visible()


def record(page, drug: str):
    expect(page.locator("#record")).to_be_enabled()
    page.click("#record")
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#message")).to_contain_text(drug)
    expect(page.locator("#verdict")).to_be_hidden()


def next_bed(page):
    """She closes the patient before walking to the next bed."""
    page.click("#close-patient")
    expect(page.locator("#patient")).to_be_hidden()
    expect(page.locator("#scan")).to_be_focused()


def given(patient):
    return Administration.objects.filter(
        patient__mrn=patient[0], status=AdministrationStatus.COMPLETED
    )


def test_a_ward_round_of_eight_patients_records_exactly_what_she_gave(page, settings):
    log_in(page, *HOA)

    # An, bed 01: two 500 mg tablets for the 1 g dose; the first is only part of it.
    open_patient(page, AN)
    scan_when_ready(page, wedge(label("PCM2611A", 1)))
    expect(page.locator("#progress")).to_be_visible()
    expect(page.locator("#record")).to_be_disabled()
    scan_when_ready(page, wedge(label("PCM2611A", 2)))
    expect(page.locator("#verdict")).to_have_class("verdict go")
    expect(page.locator("#units li")).to_have_count(2)
    record(page, "Paracetamol")
    expect(page.locator(".dose.given")).to_have_count(1)
    next_bed(page)

    # Hương, bed 04: a moderate NSAID allergy is a WARN that needs her reason before Record.
    open_patient(page, HUONG)
    scan_when_ready(page, wedge(label("IBU2608", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict warn")
    expect(page.locator("#record")).to_be_disabled()
    page.click('button[data-code="ALLERGY"][data-reason="PRESCRIBER_AWARE"]')
    record(page, "Ibuprofen")
    next_bed(page)

    # Ngọc, bed 02: the extended-release tablet is not what was ordered: STOP, no way to record.
    open_patient(page, NGOC)
    scan_when_ready(page, wedge(label("MXR2611", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict stop")
    expect(page.locator("#findings .finding.stop")).not_to_have_count(0)
    expect(page.locator("#record")).to_be_disabled()
    page.click("#clear-meds")
    expect(page.locator("#verdict")).to_be_hidden()
    next_bed(page)

    # Bảo, bed 07: potassium chloride concentrate waits, amber, for a second nurse.
    open_patient(page, BAO)
    scan_when_ready(page, wedge(label("KCL2607", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict witness")
    expect(page.locator("#record")).to_be_disabled()
    scan_when_ready(page, LAN_BADGE)
    expect(page.locator("#witness-pin")).to_be_focused()
    page.keyboard.type("444444")
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_class("verdict go")
    expect(page.locator("#witness-confirmed")).to_contain_text("Phạm Thị Lan")
    record(page, "Kali clorid")
    next_bed(page)

    # Đức, bed 05: he refuses his omeprazole; a reason alone records nothing, the confirm does.
    open_patient(page, DUC)
    page.locator(".dose.due", has_text="Omeprazol").locator("button.action").click()
    expect(page.locator("#not-given-dialog")).to_be_visible()
    page.click('#not-given-reasons button[data-reason="refused"]')
    expect(page.locator("#not-given-summary")).to_contain_text("Omeprazol")
    expect(page.locator("#not-given-confirm")).to_be_visible()
    assert not Administration.objects.filter(patient__mrn=DUC[0]).exists()
    page.click("#not-given-confirm")
    expect(page.locator("#not-given-dialog")).to_be_hidden()
    expect(page.locator("#message")).to_have_class("message ok")
    row = page.locator(".dose.not_given", has_text="Omeprazol")
    expect(row.locator(".record")).to_contain_text("từ chối")
    expect(row.locator(".record")).to_contain_text("Hoa Nguyễn Thị")
    next_bed(page)

    # Phúc, bed 03: a ceftriaxone vial is scanned (early: WARN, no reason yet)…
    open_patient(page, PHUC)
    scan_when_ready(page, wedge(label("CTX2608", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict warn")
    # … and then Lệ's band: the dialog names both, Phúc's dose is gone from the screen.
    scan_when_ready(page, band(LE))
    expect(page.locator("#switch-dialog")).to_be_visible()
    expect(page.locator("#switch-current-name")).to_have_text(PHUC[1])
    expect(page.locator("#switch-new-name")).to_have_text(LE[1])
    expect(page.locator("#verdict")).to_be_hidden()
    expect(page.locator("#switch-scan")).to_be_focused()
    scan(page, band(LE))  # the new band again: switch
    expect(page.locator("#switch-dialog")).to_be_hidden()
    expect(page.locator("#patient-name")).to_have_text(LE[1])
    expect(page.locator("#verdict")).to_be_hidden()

    # Lệ, bed 08: aspirin is GO; the server saves the record but its answer never arrives.
    expect(page.locator("#doses")).to_be_visible()
    scan_when_ready(page, wedge(label("ASP2610", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict go")
    lost = lose_answers_after_saving(page, ADMINISTRATIONS)
    with page.expect_request("**/api/v1/administrations/outcome/"):
        page.click("#record")
    # the cart asks what became of it and shows the server's truth: recorded, once
    expect(page.locator("#message")).to_have_class("message ok")
    expect(page.locator("#message")).to_contain_text("Aspirin")
    page.unroute(ADMINISTRATIONS)
    assert len(lost) == 1
    expect(page.locator(".dose.given")).to_have_count(1)
    expect(page.locator("#offline")).to_be_hidden()
    next_bed(page)

    # Trang, bed 06: a short idle setting (read by the page when it loads), a furosemide
    # ampoule scanned, and she is called away: the cart locks and forgets the patient.
    idle_seconds = settings.CART_IDLE_LOCK_SECONDS
    settings.CART_IDLE_LOCK_SECONDS = 6
    page.reload()
    open_patient(page, TRANG)
    scan_when_ready(page, wedge(label("FUI2608", 1)))
    expect(page.locator("#verdict")).to_have_class("verdict warn")
    page.wait_for_url("**/cart/login/?locked=1", timeout=30_000)
    assert TRANG[1] not in page.content()
    settings.CART_IDLE_LOCK_SECONDS = idle_seconds

    # She logs in again and goes on; the label of the next ampoule is smudged: she types the
    # GTIN, then the lot and expiry printed on the pack.
    log_in(page, *HOA)
    open_patient(page, TRANG)
    expect(page.locator("#verdict")).to_be_hidden()  # nothing of the dose before the lock
    page.click("#keyed-button")
    expect(page.locator("#keyed-code")).to_be_focused()
    page.fill("#keyed-code", FUROSEMIDE_INJ_GTIN)
    page.click("#keyed-ok")
    expect(page.locator("#keyed-pack")).to_be_visible()
    page.fill("#keyed-lot", "FUI2608")
    page.fill("#keyed-expiry", "2027-08-31")
    page.click("#keyed-ok")
    expect(page.locator("#keyed-dialog")).to_be_hidden()
    expect(page.locator("#verdict")).to_have_class("verdict warn")
    page.click('button[data-code="KEYED_ENTRY"][data-reason="DAMAGED_BARCODE"]')
    page.click('button[data-code="ALLERGY"][data-reason="TOLERATED_BEFORE"]')
    record(page, "Furosemid")
    # and her record is in the patient's last 72 hours
    expect(page.locator(".dose.given", has_text="Furosemid")).to_have_count(1)
    page.click("#recent-button")
    recent = page.locator("#recent-list")
    expect(recent).to_contain_text("Furosemid")
    expect(recent).to_contain_text("Hoa Nguyễn Thị")
    screenshot(page, "cart-recent-vi", show=recent)

    # then: what she recorded is there once each, by her, with its status…
    assert Administration.objects.count() == 6
    assert set(Administration.objects.values_list("performer__username", flat=True)) == {
        "dieuduong.hoa"
    }
    an = given(AN).get()
    assert an.amount == 1000 and an.units.count() == 2
    huong = given(HUONG).get()
    assert [(o.finding_code, o.reason) for o in huong.overrides.all()] == [
        ("ALLERGY", "PRESCRIBER_AWARE")
    ]
    assert given(BAO).get().witness.username == "dieuduong.lan"
    le = given(LE).get()
    assert le.units.get().serial == "ASP2610S001"
    duc = Administration.objects.get(patient__mrn=DUC[0])
    assert (duc.status, duc.reason, duc.order.medication.name) == (
        AdministrationStatus.NOT_DONE,
        "refused",
        "Omeprazol 20 mg viên nang",
    )
    trang = given(TRANG).get()
    unit = trang.units.get()
    assert (unit.lot, unit.expiry, unit.serial, unit.scanned) == (
        "FUI2608",
        date(2027, 8, 31),
        "",
        False,
    )
    assert set(trang.overrides.values_list("finding_code", "reason")) == {
        ("KEYED_ENTRY", "DAMAGED_BARCODE"),
        ("ALLERGY", "TOLERATED_BEFORE"),
    }
    # … and what she did not record is nowhere: the STOP, the dose the switch dropped, the
    # ampoule scanned before the lock.
    assert not Administration.objects.filter(patient__mrn__in=[NGOC[0], PHUC[0]]).exists()
    assert not AdministeredUnit.objects.filter(
        serial__in=["MXR2611S001", "CTX2608S001", "FUI2608S001"]
    ).exists()
    assert Override.objects.count() == 3
