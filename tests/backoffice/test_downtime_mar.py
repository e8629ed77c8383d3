"""The downtime MAR: one ward's admitted patients, their next 24 h of doses and their last 24 h of
records, on paper, read back from the PDF's text."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from backoffice.printing.mar import downtime_mar_pdf
from backoffice.printing.selectors import downtime_mar_get
from pharmacy.models import DoseState, OrderStatus, ScheduleKind
from scanning.models import Administration, AdministrationStatus
from tests.backoffice.printing_helpers import assert_size_mm, pdf_text, read_pdf
from tests.factories import (
    AdmissionFactory,
    AllergyFactory,
    BedFactory,
    MedicationFactory,
    NurseFactory,
    OrderFactory,
    PatientFactory,
    ScheduledDoseFactory,
    SubstanceFactory,
    WardFactory,
)

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 24, 8, 10, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def given(order, *, at_time, dose=None, nurse=None, status=AdministrationStatus.COMPLETED, **extra):
    return Administration.objects.create(
        patient=order.admission.patient,
        admission=order.admission,
        order=order,
        scheduled_dose=dose,
        status=status,
        performer=nurse or NurseFactory(first_name="Hoa", last_name="Nguyễn Thị"),
        administered_at=at_time,
        amount=Decimal("500") if status == AdministrationStatus.COMPLETED else None,
        unit="mg" if status == AdministrationStatus.COMPLETED else "",
        route="PO" if status == AdministrationStatus.COMPLETED else "",
        **extra,
    )


@pytest.fixture
def ward():
    """NOI with one patient who has a bit of everything, and the patients who must not appear."""
    noi = WardFactory(code="NOI", name="Khoa Nội tổng hợp", window_minutes=60)
    an = AdmissionFactory(
        ward=noi,
        bed=BedFactory(ward=noi, code="01"),
        patient=PatientFactory(full_name="Nguyễn Văn An", mrn="BN2026000101", sex="M"),
    )
    AllergyFactory(
        patient=an.patient,
        allergen_code="penicillins",
        allergen_name="Penicillin",
        severity="severe",
        reaction="Phản vệ",
    )
    paracetamol = OrderFactory(
        admission=an, medication=MedicationFactory(name="Paracetamol 500 mg viên nén")
    )
    for due in (at(24, 6), at(24, 20), at(25, 8), at(25, 20)):
        ScheduledDoseFactory(order=paracetamol, due_at=due)
    given_dose = ScheduledDoseFactory(order=paracetamol, due_at=at(24, 8), state=DoseState.GIVEN)
    given(paracetamol, at_time=at(24, 7, 55), dose=given_dose)
    given(paracetamol, at_time=at(23, 2))  # 30 h ago: not in the last 24 h
    withdrawn = given(paracetamol, at_time=at(23, 20))
    given(
        paracetamol,
        at_time=at(23, 21),
        status=AdministrationStatus.ENTERED_IN_ERROR,
        corrects=withdrawn,
        reason="duplicate",
    )
    given(
        paracetamol,
        at_time=at(23, 21, 30),
        status=AdministrationStatus.NOT_DONE,
        reason="refused",
    )

    amoxicillin = OrderFactory(
        admission=an,
        medication=MedicationFactory(
            name="Amoxicillin 500 mg viên nang",
            substance=SubstanceFactory(
                code="amoxicillin", name="Amoxicillin", allergy_class_code="penicillins"
            ),
        ),
        times_of_day=["14:00"],
    )
    ScheduledDoseFactory(order=amoxicillin, due_at=at(24, 14))
    heparin = OrderFactory(
        admission=an,
        medication=MedicationFactory(
            name="Heparin 5000 IU/mL",
            substance=SubstanceFactory(code="heparin", name="Heparin"),
            high_alert=True,
            routes=["SC"],
        ),
        dose_value=Decimal("5000"),
        dose_unit="IU",
        route="SC",
    )
    ScheduledDoseFactory(order=heparin, due_at=at(24, 10))
    vancomycin = OrderFactory(
        admission=an,
        medication=MedicationFactory(
            name="Vancomycin 500 mg bột pha tiêm",
            substance=SubstanceFactory(code="vancomycin", name="Vancomycin"),
            time_critical=True,
            routes=["IV"],
        ),
        dose_value=Decimal("1000"),
        route="IV",
    )
    ScheduledDoseFactory(order=vancomycin, due_at=at(24, 22))
    held = OrderFactory(
        admission=an,
        medication=MedicationFactory(name="Omeprazol 20 mg viên nang"),
        status=OrderStatus.ON_HOLD,
        status_reason="Nhịn ăn trước mổ",
    )
    ScheduledDoseFactory(order=held, due_at=at(24, 12))
    pending = OrderFactory(
        admission=an,
        medication=MedicationFactory(name="Metformin 500 mg viên nén"),
        status=OrderStatus.PENDING_VERIFICATION,
        verified_by=None,
        verified_at=None,
    )
    ScheduledDoseFactory(order=pending, due_at=at(24, 12))
    OrderFactory(
        admission=an,
        medication=MedicationFactory(name="Morphin 10 mg/mL ống tiêm", high_alert=True),
        schedule_kind=ScheduleKind.PRN,
        times_of_day=[],
        prn_indication="Đau nhiều (VAS ≥ 7)",
        prn_min_interval_minutes=240,
        prn_max_per_24h=Decimal("20"),
        dose_value=Decimal("5"),
    )

    # not on the sheet: discharged, deceased, another ward
    AdmissionFactory(
        ward=noi,
        patient=PatientFactory(full_name="Tạ Thị Xuân", mrn="BN2026000117"),
        admitted_at=NOW - timedelta(days=3),
        discharged_at=NOW - timedelta(days=1),
    )
    AdmissionFactory(
        ward=noi,
        patient=PatientFactory(
            full_name="Kiều Văn Lộc", mrn="BN2026000118", deceased_at=NOW - timedelta(hours=2)
        ),
    )
    ngoai = WardFactory(code="NGOAI", name="Khoa Ngoại tổng hợp")
    other = AdmissionFactory(
        ward=ngoai, patient=PatientFactory(full_name="Đỗ Minh Khôi", mrn="BN2026000109")
    )
    ScheduledDoseFactory(order=OrderFactory(admission=other), due_at=at(24, 12))
    return noi


# --------------------------------------------------------------------------- what is on it


def test_only_the_wards_living_admitted_patients_are_listed(ward):
    sheet = downtime_mar_get(ward=ward)
    assert [patient.mrn for patient in sheet.patients] == ["BN2026000101"]


def test_doses_from_the_oldest_still_overdue_to_24_hours_ahead_of_active_orders(ward):
    # 08:10 now: the 06:00 paracetamol is overdue on the cart (missed only after 11:00), so it
    # must be on the paper sheet too
    (an,) = downtime_mar_get(ward=ward).patients
    assert [(dose.due_at.strftime("%d %H:%M"), dose.medication) for dose in an.doses] == [
        ("24 06:00", "Paracetamol 500 mg viên nén"),
        ("24 10:00", "Heparin 5000 IU/mL"),
        ("24 14:00", "Amoxicillin 500 mg viên nang"),
        ("24 20:00", "Paracetamol 500 mg viên nén"),
        ("24 22:00", "Vancomycin 500 mg bột pha tiêm"),
        ("25 08:00", "Paracetamol 500 mg viên nén"),
    ]
    heparin, amoxicillin = an.doses[1], an.doses[2]
    assert heparin.high_alert and heparin.dose == "5000 IU" and heparin.route.startswith("SC")
    assert amoxicillin.allergies and "Penicillin" in amoxicillin.allergies[0]


def test_prn_and_on_hold_orders_and_the_last_24_hours_of_records(ward):
    (an,) = downtime_mar_get(ward=ward).patients
    assert [order.medication for order in an.prn_orders] == ["Morphin 10 mg/mL ống tiêm"]
    assert an.prn_orders[0].min_interval_minutes == 240
    assert [(order.medication, order.reason) for order in an.held_orders] == [
        ("Omeprazol 20 mg viên nang", "Nhịn ăn trước mổ")
    ]
    # newest first; the withdrawn record and its correction and the 30 h old one are left out
    assert [record.at.strftime("%d %H:%M") for record in an.given] == ["24 07:55", "23 21:30"]
    assert an.given[0].by == "Nguyễn Thị Hoa"


def test_the_pdf_says_it_all_on_a4_landscape(ward):
    with translation.override("en"):
        content = downtime_mar_pdf(downtime_mar_get(ward=ward))
    pages = read_pdf(content, render=False)
    for page in pages:
        assert_size_mm(page, 297, 210)
        # every page says whose it is
        assert "BN2026000101" in page.text and "NGUYỄN VĂN AN" in page.text
    text = flat("\n".join(page.text for page in pages))
    assert "Downtime medication administration record" in text
    assert "Ward: NOI – Khoa Nội tổng hợp" in text
    assert "Date of birth: 02/11/1968" in text
    assert "Allergies: Penicillin (Severe – Phản vệ)" in text
    for due, medication in [
        ("24/11 10:00", "Heparin 5000 IU/mL"),
        ("24/11 14:00", "Amoxicillin 500 mg viên nang"),
        ("24/11 20:00", "Paracetamol 500 mg viên nén"),
        ("25/11 08:00", "Paracetamol 500 mg viên nén"),
    ]:
        assert f"{due} {medication}" in text
    assert "High-alert: a second nurse checks" in text
    assert (
        "24/11 22:00 Vancomycin 500 mg bột pha tiêm 1000 mg IV (intravenous) Time-critical: ±30 min"
        in text
    )
    assert "ALLERGY: Penicillin (Severe)" in text
    assert "Morphin 10 mg/mL ống tiêm" in text and "Đau nhiều (VAS ≥ 7)" in text
    assert "On hold – do not give" in text and "Nhịn ăn trước mổ" in text
    assert "24/11 07:55" in text and "not given: patient refused" in text
    assert "24/11 06:00" in text  # overdue, not yet missed
    assert f"Page 1 of {len(pages)}" in text
    for absent in (
        "25/11 20:00",
        "Metformin",
        "Tạ Thị Xuân",
        "Kiều Văn Lộc",
        "Đỗ Minh Khôi",
        "23/11 02:00",
        "23/11 20:00",
    ):
        assert absent not in text


def test_the_active_language_decides_the_words(ward):
    with translation.override("vi"):
        sheet_vi = downtime_mar_get(ward=ward)
        text_vi = flat(pdf_text(downtime_mar_pdf(sheet_vi)))
    with translation.override("en"):
        text_en = flat(pdf_text(downtime_mar_pdf(downtime_mar_get(ward=ward))))
    assert "Giường 01" in text_vi and "Mã BN: BN2026000101" in text_vi
    assert "Dị ứng: Penicillin (Nặng – Phản vệ)" in text_vi and "Nam" in text_vi
    assert "Bed 01" in text_en and "MRN: BN2026000101" in text_en and "Male" in text_en
    assert "Giường" not in text_en


def test_an_empty_ward_still_prints_a_sheet_that_says_so():
    empty = WardFactory(code="ICU")
    with translation.override("en"):
        text = flat(pdf_text(downtime_mar_pdf(downtime_mar_get(ward=empty))))
    assert "No patients are admitted to this ward." in text and "ICU" in text


def test_the_number_of_queries_does_not_grow_with_the_patients(ward):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            downtime_mar_get(ward=ward)
        return len(captured.captured_queries)

    one_patient = queries()
    for bed in range(2, 12):
        admission = AdmissionFactory(ward=ward, bed=BedFactory(ward=ward, code=f"{bed:02d}"))
        AllergyFactory(patient=admission.patient)
        order = OrderFactory(admission=admission)
        ScheduledDoseFactory(order=order, due_at=at(24, 20))
        given(order, at_time=at(24, 7))
    assert len(downtime_mar_get(ward=ward).patients) == 11
    assert queries() == one_patient <= 5


# --------------------------------------------------------------------------- the page and the command


def test_the_pharmacist_downloads_a_wards_sheet(
    client, pharmacist, ward, django_assert_max_num_queries
):
    client.force_login(pharmacist)
    listing = client.get(reverse("pharmacy:print-downtime-wards"))
    assert reverse("pharmacy:print-downtime-mar", args=["NOI"]) in listing.content.decode()
    # session, user, groups/permissions and the sheet: a fixed number whatever the ward's size
    with django_assert_max_num_queries(12):
        response = client.get(reverse("pharmacy:print-downtime-mar", args=["NOI"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert "NGUYỄN VĂN AN" in pdf_text(response.content)


def test_an_unknown_ward_is_a_404(client, pharmacist, ward):
    client.force_login(pharmacist)
    assert client.get(reverse("pharmacy:print-downtime-mar", args=["NOPE"])).status_code == 404


def test_a_nurse_gets_no_sheet(client, ward):
    client.force_login(NurseFactory(is_staff=True))
    response = client.get(reverse("pharmacy:print-downtime-mar", args=["NOI"]))
    assert response.status_code == 302 and "/pharmacy/login/" in response["Location"]


def test_the_command_writes_the_sheet_for_cron(ward, tmp_path):
    out = tmp_path / "noi.pdf"
    out.write_bytes(b"yesterday's sheet")
    call_command("downtime_mar", "NOI", "--out", str(out), "--language", "en")
    text = flat(pdf_text(out.read_bytes()))
    assert "NGUYỄN VĂN AN" in text and "Downtime medication administration record" in text
    assert [path.name for path in tmp_path.iterdir()] == ["noi.pdf"]


def test_the_command_refuses_an_unknown_ward_or_directory(ward, tmp_path):
    with pytest.raises(CommandError, match="NOI"):
        call_command("downtime_mar", "NOPE", "--out", str(tmp_path / "x.pdf"))
    with pytest.raises(CommandError, match="No directory"):
        call_command("downtime_mar", "NOI", "--out", str(tmp_path / "missing" / "x.pdf"))
