"""PDF label stock: every printed wristband, badge and unit-dose label, rasterised at 300 dpi,
reads back through the bedside decoder as exactly what was issued, on a page of the stock's size."""

import re
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from reportlab.pdfbase import pdfmetrics

import gs1
from backoffice.printing import pdf, services
from hospital.models import Role
from tests.backoffice.printing_helpers import assert_size_mm, read_pdf, scans
from tests.factories import (
    AdmissionFactory,
    BedFactory,
    LotRecallFactory,
    NurseFactory,
    PackageFactory,
    PatientFactory,
    UserFactory,
    WardFactory,
    WristbandFactory,
)
from wards.models import Wristband

NOW = datetime(2026, 11, 24, 8, 10, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
NAME = "Nguyễn Thị Hồng Nhung"
PATIENT_GSRN = gs1.make_gsrn("95201234567890123")
BADGE_GSRN = gs1.make_gsrn("95201234567890124")
GTIN = gs1.normalize_gtin(gs1.make_gtin("952000300001"))


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def wristband_scan(gsrn: str, instance: int) -> gs1.WristbandPayload:
    return gs1.WristbandPayload(gsrn=gsrn, instance=instance)


def assert_wristband_page(page, gsrn: str, instance: int) -> None:
    assert_size_mm(page, 250, 25)
    found = scans(page)
    assert set(found) == {"Code128", "DataMatrix"}
    for scan in found.values():
        assert scan.kind == "wristband"
        assert scan.payload == wristband_scan(gsrn, instance)
    assert found["Code128"].symbology_id == "]C1"
    assert found["DataMatrix"].symbology_id == "]d2"


# --------------------------------------------------------------------------- pure PDF builders


def test_wristband_pdf_is_25_by_250_mm_and_reads_back_as_the_band():
    # given
    band = pdf.WristbandLabel(
        element_string=gs1.wristband_element_string(wristband_scan(PATIENT_GSRN, 7)),
        full_name=NAME,
        date_of_birth=date(1985, 9, 2),
        mrn="BV-000123",
        sex="Nữ",
    )
    # when
    (page,) = read_pdf(pdf.wristbands_pdf([band]))
    # then
    assert_wristband_page(page, PATIENT_GSRN, 7)
    assert NAME in page.text
    assert "02/09/1985" in page.text and "BV-000123" in page.text
    assert "(8018)" + PATIENT_GSRN + " (8019)7" in page.text


def test_badge_pdf_is_id1_and_reads_back_as_the_badge():
    badge = pdf.BadgeLabel(
        element_string=gs1.badge_element_string(gs1.BadgePayload(gsrn=BADGE_GSRN)),
        full_name="Trần Văn Đức",
        role_title="Điều dưỡng",
    )
    (page,) = read_pdf(pdf.badges_pdf([badge]))
    assert_size_mm(page, 85.6, 53.98)
    found = scans(page)
    assert set(found) == {"Code128", "DataMatrix"}
    assert all(scan.payload == gs1.BadgePayload(gsrn=BADGE_GSRN) for scan in found.values())
    assert "Trần Văn Đức" in page.text


@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_every_label_reads_back_from_a_thermal_printer_of_common_resolutions(dpi):
    # Bars sit on the 300-dpi grid; a 203-dpi head rounds them unevenly and must still scan.
    wristband = pdf.wristbands_pdf(
        [
            pdf.WristbandLabel(
                element_string=gs1.wristband_element_string(wristband_scan(PATIENT_GSRN, 2)),
                full_name=NAME,
                date_of_birth=date(1985, 9, 2),
                mrn="BV-1",
                sex="Nữ",
            )
        ]
    )
    badge = pdf.badges_pdf(
        [
            pdf.BadgeLabel(
                element_string=gs1.badge_element_string(gs1.BadgePayload(gsrn=BADGE_GSRN)),
                full_name="Trần Văn Đức",
                role_title="Điều dưỡng",
            )
        ]
    )
    medication = gs1.MedicationPayload(
        gtin=GTIN, expiry=date(2027, 12, 31), lot="L(2)A", serial="7K3QX9M2RD-0001"
    )
    unit_dose = pdf.unit_dose_labels_pdf(
        [
            pdf.UnitDoseLabel(
                element_string=gs1.medication_element_string(medication),
                medication_name="Amoxicillin",
                strength_text="500 mg",
            )
        ]
    )
    expected = {
        wristband: {"Code128", "DataMatrix"},
        badge: {"Code128", "DataMatrix"},
        unit_dose: {"DataMatrix"},
    }
    payloads = {
        wristband: wristband_scan(PATIENT_GSRN, 2),
        badge: gs1.BadgePayload(gsrn=BADGE_GSRN),
        unit_dose: medication,
    }
    for content, formats in expected.items():
        (page,) = read_pdf(content, dpi=dpi, thermal=True)
        found = scans(page)
        assert set(found) == formats
        assert {scan.payload for scan in found.values()} == {payloads[content]}


def test_decomposed_vietnamese_is_printed_composed():
    # A name typed on a Mac arrives decomposed: "ễ" as "e" + two combining marks.
    decomposed = unicodedata.normalize("NFD", NAME)
    assert decomposed != NAME
    band = pdf.WristbandLabel(
        element_string=gs1.wristband_element_string(wristband_scan(PATIENT_GSRN, 1)),
        full_name=decomposed,
        date_of_birth=date(1985, 9, 2),
        mrn="BV-1",
        sex="Nữ",
    )
    (page,) = read_pdf(pdf.wristbands_pdf([band]), render=False)
    assert NAME in page.text


def test_labels_embed_dejavu_for_vietnamese_letters():
    content = pdf.badges_pdf(
        [
            pdf.BadgeLabel(
                element_string=gs1.badge_element_string(gs1.BadgePayload(gsrn=BADGE_GSRN)),
                full_name="Đặng Quốc Bảo",
                role_title="Dược sĩ",
            )
        ]
    )
    assert b"DejaVuSans-Bold" in content and b"/FontFile2" in content


def test_a_name_too_long_for_the_band_is_shortened_not_drawn_over_the_barcode():
    long_name = "Công Tôn Nữ Thị Hoàng Anh Tuyết Nhung Phương Thảo Ngọc Diệp " * 3
    band = pdf.WristbandLabel(
        element_string=gs1.wristband_element_string(wristband_scan(PATIENT_GSRN, 3)),
        full_name=long_name,
        date_of_birth=date(1990, 1, 1),
        mrn="BV-2",
        sex="Nữ",
    )
    (page,) = read_pdf(pdf.wristbands_pdf([band]))
    assert_wristband_page(page, PATIENT_GSRN, 3)
    assert "…" in page.text


def test_fit_text_stays_inside_its_width():
    lines, size = pdf.fit_text(
        "Amoxicillin + Acid clavulanic 875 mg/125 mg viên nén bao phim",
        size=9,
        min_size=5,
        max_width=70,
        max_lines=2,
        bold=True,
    )
    pdf.register_fonts()
    assert 5 <= size <= 9 and len(lines) <= 2
    assert all(pdfmetrics.stringWidth(line, pdf.FONT_BOLD, size) <= 70 for line in lines)


def test_a_unit_dose_run_has_one_50_by_25_mm_page_per_label_each_with_its_own_serial():
    # given
    package = PackageFactory.build(gtin=GTIN, hospital_repackaged=True)
    package.medication.name = "Paracetamol 500 mg viên nén"
    # when
    labels = services.unit_dose_run(
        package=package, lot="UD-PCM-01", expiry=date(2027, 3, 31), count=6
    )
    pages = read_pdf(pdf.unit_dose_labels_pdf(labels))
    # then
    assert len(pages) == 6
    serials = []
    for page in pages:
        assert_size_mm(page, 50, 25)
        found = scans(page)
        assert set(found) == {"DataMatrix"}
        scan = found["DataMatrix"]
        assert scan.kind == "medication" and scan.symbology_id == "]d2"
        payload = scan.payload
        assert (payload.gtin, payload.lot, payload.expiry) == (GTIN, "UD-PCM-01", date(2027, 3, 31))
        assert payload.serial in page.text
        text = " ".join(page.text.split())
        assert "Paracetamol 500 mg viên nén" in text and "Lô: UD-PCM-01" in text
        assert "HSD: 31/03/2027" in text
        serials.append(payload.serial)
    assert len(set(serials)) == 6
    assert [serial.rsplit("-", 1)[1] for serial in serials] == [f"{n:04d}" for n in range(1, 7)]


def test_two_runs_never_share_a_serial():
    first, second = services.unit_dose_serials(500), services.unit_dose_serials(500)
    assert len(set(first) | set(second)) == 1000
    assert all(len(serial) <= 20 for serial in first)


@pytest.mark.parametrize("count", [0, -1, 501])
def test_a_run_has_1_to_500_labels(count):
    with pytest.raises(ValueError):
        services.unit_dose_serials(count)


def test_nothing_to_print_is_an_error_not_an_empty_pdf():
    with pytest.raises(ValueError):
        pdf.wristbands_pdf([])


# --------------------------------------------------------------------------- who may print


@pytest.fixture
def admission(db):
    ward = WardFactory(code="NOI")
    admission = AdmissionFactory(
        ward=ward,
        bed=BedFactory(ward=ward, code="01"),
        patient=PatientFactory(gsrn=PATIENT_GSRN, full_name=NAME, mrn="BN2026000101"),
    )
    WristbandFactory(admission=admission, instance=1)
    return admission


@pytest.fixture
def pharmacist_client(client, pharmacist):
    client.force_login(pharmacist)
    return client


@pytest.fixture
def administrator(db):
    return UserFactory(role=Role.ADMIN, is_staff=True)


PRINT_PAGES = [
    ("pharmacy:print-index", {}),
    ("pharmacy:print-unit-dose", {}),
    ("pharmacy:print-downtime-wards", {}),
    ("pharmacy:print-downtime-mar", {"ward_code": "NOI"}),
]


@pytest.mark.parametrize(("name", "kwargs"), PRINT_PAGES)
def test_nurses_and_anonymous_users_are_sent_to_the_login(client, admission, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/pharmacy/login/" in anonymous["Location"]
    client.force_login(NurseFactory(is_staff=True))
    as_nurse = client.get(url)
    assert as_nurse.status_code == 302 and "/pharmacy/login/" in as_nurse["Location"]


def test_a_nurse_or_anonymous_user_cannot_print_a_wristband(client, admission):
    url = reverse("pharmacy:print-wristband", args=[admission.external_id])
    anonymous = client.post(url)
    assert anonymous.status_code == 302 and "/pharmacy/login/" in anonymous["Location"]
    client.force_login(NurseFactory(is_staff=True))
    response = client.post(url)
    assert response.status_code == 302 and "/pharmacy/login/" in response["Location"]
    assert admission.wristbands.get().voided_at is None


@pytest.mark.parametrize(("name", "kwargs"), PRINT_PAGES)
def test_the_pharmacist_opens_every_print_page(pharmacist_client, admission, name, kwargs):
    response = pharmacist_client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200


def test_the_pharmacy_home_links_to_printing(pharmacist_client):
    response = pharmacist_client.get(reverse("pharmacy:index"))
    assert reverse("pharmacy:print-index") in response.content.decode()


# --------------------------------------------------------------------------- wristbands


def test_printing_a_new_band_voids_the_old_one_and_returns_its_pdf(pharmacist_client, admission):
    url = reverse("pharmacy:print-wristband", args=[admission.external_id])
    confirm = pharmacist_client.get(url)
    assert confirm.status_code == 200
    assert confirm.context["active_band"].instance == 1
    # when
    response = pharmacist_client.post(url)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    # the site's object-src 'none' would stop Chrome's PDF viewer; framing stays forbidden
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    (page,) = read_pdf(response.content)
    assert_wristband_page(page, PATIENT_GSRN, 2)
    bands = {band.instance: band for band in Wristband.objects.filter(admission=admission)}
    assert bands[1].voided_at is not None and bands[1].void_reason
    assert bands[2].voided_at is None
    assert bands[2].printed_by.username == response.wsgi_request.user.username


def test_the_band_is_printed_in_vietnamese_whatever_the_pharmacists_language(
    pharmacist_client, admission
):
    pharmacist_client.cookies["django_language"] = "en"
    response = pharmacist_client.post(
        reverse("pharmacy:print-wristband", args=[admission.external_id])
    )
    assert response["Content-Language"] == "en"
    (page,) = read_pdf(response.content, render=False)
    assert "Giới: Nữ" in page.text and "Ngày sinh: 02/11/1968" in page.text


def test_a_closed_admission_gets_no_band(pharmacist_client, admission):
    admission.discharged_at = timezone.now()
    admission.save()
    response = pharmacist_client.post(
        reverse("pharmacy:print-wristband", args=[admission.external_id])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert list(admission.wristbands.values_list("instance", flat=True)) == [1]


def test_the_admission_page_links_to_the_new_band(pharmacist_client, admission):
    response = pharmacist_client.get(
        reverse("pharmacy:wards_admission_change", args=[admission.pk])
    )
    assert reverse("pharmacy:print-wristband", args=[admission.external_id]) in (
        response.content.decode()
    )


def test_the_admin_action_prints_one_band_per_page_for_several_admissions(
    pharmacist_client, admission
):
    # given: a second open admission and a discharged one
    second = AdmissionFactory(
        ward=admission.ward,
        bed=BedFactory(ward=admission.ward, code="02"),
        patient__full_name="Lê Văn Tám",
    )
    closed = AdmissionFactory(ward=admission.ward, discharged_at=timezone.now())
    # when
    response = pharmacist_client.post(
        reverse("pharmacy:wards_admission_changelist"),
        {"action": "print_new_wristband", "_selected_action": [admission.pk, second.pk, closed.pk]},
    )
    # then: bed order, a new instance each, and nothing for the closed admission
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    first_page, second_page = read_pdf(response.content)
    assert_wristband_page(first_page, PATIENT_GSRN, 2)
    assert_wristband_page(second_page, second.patient.gsrn, 1)
    assert not closed.wristbands.exists()
    assert admission.wristbands.get(instance=1).voided_at is not None


def test_the_admin_action_refuses_a_user_without_the_permission(client, admission):
    # An administrator-like staff member without wards.add_wristband
    user = UserFactory(is_staff=True, is_superuser=False, role=Role.ADMIN)
    user.groups.first().permissions.remove(
        *user.groups.first().permissions.filter(codename="add_wristband")
    )
    client.force_login(user)
    response = client.post(
        reverse("pharmacy:wards_admission_changelist"),
        {"action": "print_new_wristband", "_selected_action": [admission.pk]},
    )
    assert response.get("Content-Type") != "application/pdf"
    assert list(admission.wristbands.values_list("instance", flat=True)) == [1]


# --------------------------------------------------------------------------- badges


def test_an_administrator_prints_a_badge_that_reads_back_as_the_badge(client, administrator):
    nurse = NurseFactory(first_name="Hoa", last_name="Nguyễn Thị", badge_gsrn=BADGE_GSRN)
    client.force_login(administrator)
    response = client.get(reverse("pharmacy:print-badge", args=[nurse.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    (page,) = read_pdf(response.content)
    assert_size_mm(page, 85.6, 53.98)
    found = scans(page)
    assert {scan.payload for scan in found.values()} == {gs1.BadgePayload(gsrn=BADGE_GSRN)}
    # family name first, role in the hospital's language
    assert "Nguyễn Thị Hoa" in page.text and "Điều dưỡng" in page.text


def test_the_staff_page_links_to_the_badge(client, administrator):
    nurse = NurseFactory(badge_gsrn=BADGE_GSRN)
    link = reverse("pharmacy:print-badge", args=[nurse.pk])
    client.force_login(administrator)
    page = client.get(reverse("pharmacy:hospital_user_change", args=[nurse.pk]))
    assert link in page.content.decode()


def test_a_pharmacist_cannot_print_badges(pharmacist_client):
    nurse = NurseFactory(badge_gsrn=BADGE_GSRN)
    response = pharmacist_client.get(reverse("pharmacy:print-badge", args=[nurse.pk]))
    assert response.status_code == 403


def test_a_user_without_a_badge_gsrn_gets_a_message_not_a_badge(client, administrator):
    nurse = NurseFactory(badge_gsrn=None)
    client.force_login(administrator)
    response = client.get(reverse("pharmacy:print-badge", args=[nurse.pk]), follow=True)
    assert response.status_code == 200
    assert "GSRN thẻ" in " ".join(str(m) for m in response.context["messages"])  # vi default


def test_the_badge_action_prints_every_selected_badge(client, administrator):
    nurses = [NurseFactory(), NurseFactory(), NurseFactory(badge_gsrn=None)]
    client.force_login(administrator)
    response = client.post(
        reverse("pharmacy:hospital_user_changelist"),
        {"action": "print_badges", "_selected_action": [nurse.pk for nurse in nurses]},
    )
    assert response["Content-Type"] == "application/pdf"
    pages = read_pdf(response.content)
    printed = {scan.payload.gsrn for page in pages for scan in scans(page).values()}
    assert len(pages) == 2
    assert printed == {nurses[0].badge_gsrn, nurses[1].badge_gsrn}


# --------------------------------------------------------------------------- unit-dose runs


@pytest.fixture
def repackaged(db):
    return PackageFactory(
        gtin=GTIN, hospital_repackaged=True, medication__name="Paracetamol 500 mg viên nén"
    )


def run(client, **overrides):
    data = {"gtin": GTIN, "lot": "UD-PCM-01", "expiry": "2027-03-31", "count": "4"} | overrides
    return client.post(reverse("pharmacy:print-unit-dose"), data)


def test_the_label_run_form_returns_one_label_per_unit(pharmacist_client, repackaged):
    response = run(pharmacist_client, gtin=GTIN[1:])  # typed as the 13 digits printed
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages = read_pdf(response.content)
    assert len(pages) == 4
    payloads = [scans(page)["DataMatrix"].payload for page in pages]
    assert {(p.gtin, p.lot, p.expiry) for p in payloads} == {(GTIN, "UD-PCM-01", date(2027, 3, 31))}
    assert len({p.serial for p in payloads}) == 4


def test_a_scanned_label_fills_the_gtin(pharmacist_client, repackaged):
    scanned = "]d2" + gs1.medication_element_string(
        gs1.MedicationPayload(gtin=GTIN, lot="OLD", serial="X1")
    )
    response = run(pharmacist_client, gtin=scanned, count="1")
    assert response["Content-Type"] == "application/pdf"


def test_a_run_of_500_labels_prints_500_distinct_serials(pharmacist_client, repackaged):
    response = run(pharmacist_client, count="500")
    assert response["Content-Type"] == "application/pdf"
    pages = read_pdf(response.content, render=False)
    assert len(pages) == 500
    serials = set()
    for page in pages:
        serials |= set(re.findall(r"\(21\)(\S+)", page.text))
    assert len(serials) == 500


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"gtin": "12345"}, "gtin"),
        ({"gtin": "not a code"}, "gtin"),
        ({"gtin": gs1.make_gtin("952000399999")}, "gtin"),  # valid, but not in the formulary
        ({"gtin": ""}, "gtin"),
        ({"lot": ""}, "lot"),
        ({"lot": "LÔ 1"}, "lot"),  # space and a Vietnamese letter: not GS1 AI 10
        ({"lot": "A" * 21}, "lot"),
        ({"expiry": "2026-11-23"}, "expiry"),  # yesterday
        ({"expiry": "2040-01-01"}, "expiry"),
        ({"expiry": "31/02/2027"}, "expiry"),
        ({"expiry": "soon"}, "expiry"),
        ({"count": "0"}, "count"),
        ({"count": "501"}, "count"),
        ({"count": "ten"}, "count"),
        ({"count": "1e9"}, "count"),
    ],
)
def test_bad_label_run_input_gives_the_form_back_with_an_error(
    pharmacist_client, repackaged, overrides, field
):
    response = run(pharmacist_client, **overrides)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert field in response.context["form"].errors


def test_a_manufacturer_gtin_gets_no_unit_dose_labels(pharmacist_client, repackaged):
    bought = PackageFactory(hospital_repackaged=False)
    response = run(pharmacist_client, gtin=bought.gtin)
    assert response.status_code == 200
    assert "GTIN của nhà sản xuất" in response.context["form"].errors["gtin"][0]  # vi default


def test_a_recalled_lot_gets_no_labels(pharmacist_client, repackaged):
    LotRecallFactory(package=repackaged, lot="UD-PCM-01")
    response = run(pharmacist_client)
    assert response.status_code == 200
    assert "lot" in response.context["form"].errors


def test_expiring_today_is_still_printable(pharmacist_client, repackaged):
    today = timezone.localdate()
    response = run(pharmacist_client, expiry=today.isoformat(), count="1")
    assert response["Content-Type"] == "application/pdf"
    (page,) = read_pdf(response.content)
    assert scans(page)["DataMatrix"].payload.expiry == today


def test_a_lot_recalled_on_the_manufacturers_pack_gets_no_unit_dose_labels(
    pharmacist_client, repackaged
):
    bought = PackageFactory(hospital_repackaged=False, medication=repackaged.medication)
    LotRecallFactory(package=bought, lot="UD-PCM-01")
    response = run(pharmacist_client)
    assert response.status_code == 200
    assert "lot" in response.context["form"].errors


def test_a_unit_dose_label_prints_its_gs1_text_at_a_legible_size():
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_raw

    from gs1 import labels

    # given
    package = PackageFactory.build(gtin=GTIN, hospital_repackaged=True)
    package.medication.name = "Paracetamol 500 mg viên nén"
    (label,) = services.unit_dose_run(
        package=package, lot="UD-PCM-01", expiry=date(2027, 3, 31), count=1
    )
    content = pdf.unit_dose_labels_pdf([label])
    # when
    (page,) = read_pdf(content, render=False)
    document = pdfium.PdfDocument(content)
    text_page = document[0].get_textpage()
    start = text_page.get_text_range().index("(01)")
    size_pt = pdfium_raw.FPDFText_GetFontSize(text_page.raw, start)
    text_page.close()
    document.close()
    # then: the whole code, as a nurse would type it, at 2 mm or more
    hri = labels.label_hri(label.element_string)
    assert hri.startswith(f"(01){GTIN} (17)270331 (10)UD-PCM-01 (21)")
    assert hri in " ".join(page.text.split())
    assert size_pt >= 2.0 * 72 / 25.4


def test_the_label_sheet_reads_back_and_is_redrawn_on_request():
    """docs/screenshots/label-sheet.png: a wristband, six unit-dose labels and a badge, rendered
    from the PDFs at 150 dpi (UPDATE_SCREENSHOTS=1 writes it)."""
    import os

    from django.conf import settings
    from PIL import Image, ImageDraw

    from gs1 import labels

    band = pdf.WristbandLabel(
        element_string=gs1.wristband_element_string(
            wristband_scan(gs1.make_gsrn("95200010000000101"), 2)
        ),
        full_name="Nguyễn Văn An",
        date_of_birth=date(1956, 3, 14),
        mrn="BN2026000101",
        sex="Nam",
    )
    badge = pdf.BadgeLabel(
        element_string=gs1.badge_element_string(
            gs1.BadgePayload(gsrn=gs1.make_gsrn("95200020000000011"))
        ),
        full_name="Nguyễn Thị Hoa",
        role_title="Điều dưỡng",
    )
    package = PackageFactory.build(gtin=GTIN, hospital_repackaged=True)
    package.medication.name = "Paracetamol 500 mg viên nén"
    unit_doses = services.unit_dose_run(
        package=package, lot="UD-PCM-01", expiry=date(2027, 3, 31), count=6
    )
    dpi = 150

    def image(content: bytes) -> list[Image.Image]:
        return [page.image for page in read_pdf(content, dpi=dpi)]

    (band_image,) = image(pdf.wristbands_pdf([band]))
    (badge_image,) = image(pdf.badges_pdf([badge]))
    unit_images = image(pdf.unit_dose_labels_pdf(unit_doses))

    gap, title = 36, 40
    sheet = Image.new("L", (1610, 650), 236)
    draw = ImageDraw.Draw(sheet)
    bold = labels.label_font(26, bold=True)

    def place(label: Image.Image, x: int, y: int) -> None:
        draw.rectangle((x - 1, y - 1, x + label.width, y + label.height), outline=150, width=2)
        sheet.paste(label, (x, y))

    draw.text((gap, 24), "Vòng tay người bệnh / Patient wristband – 250 × 25 mm", font=bold)
    place(band_image, gap, 24 + title)
    top = 24 + title + band_image.height + gap
    draw.text((gap, top), "Nhãn đơn liều / Unit-dose labels – 50 × 25 mm", font=bold)
    for index, label in enumerate(unit_images):
        column, row = index % 3, index // 3
        place(
            label,
            gap + column * (label.width + gap),
            top + title + row * (label.height + gap),
        )
    badge_x = gap + 3 * (unit_images[0].width + gap) + gap
    draw.text((badge_x, top), "Thẻ nhân viên / Staff badge – ID-1", font=bold)
    place(badge_image, badge_x, top + title)

    # every label on the sheet shows its code as text
    assert all(labels.label_hri(u.element_string).split()[0] == f"(01){GTIN}" for u in unit_doses)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        sheet.save(settings.BASE_DIR / "docs" / "screenshots" / "label-sheet.png", optimize=True)


def test_the_longest_lot_the_form_takes_prints_whole_on_a_unit_dose_label():
    from gs1 import labels

    package = PackageFactory.build(gtin=GTIN, hospital_repackaged=True)
    package.medication.name = "Amoxicillin + Acid clavulanic 500 mg/125 mg"
    (label,) = services.unit_dose_run(
        package=package, lot="L" * 20, expiry=date(2027, 3, 31), count=1
    )

    (page,) = read_pdf(pdf.unit_dose_labels_pdf([label]))

    assert labels.label_hri(label.element_string) in " ".join(page.text.split())
    assert scans(page)["DataMatrix"].payload.lot == "L" * 20
