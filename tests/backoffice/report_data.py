"""A small hospital whose every report figure is worked out by hand in the tests.

Every record is written by the real bedside services (`administration_record`,
`administration_not_given`, `administration_correct`) at a frozen local time, so the scan events,
units, overrides and corrections are exactly what a cart would leave behind.

Times are local (Asia/Ho_Chi_Minh, UTC+7). D1 and D2 are the report days; NOW is D3 10:00.

NOI (window ±60 min, time-critical ±30 min) — nurses Hoa and Bình, charge nurse Lan
  A  Nguyễn Văn An, bed 01: paracetamol 500 mg at 08:00 and 20:00; tramadol 50 mg PRN
     #1  D1 08:05 Hoa   given, on time, all scanned
     #2  D1 21:30 Hoa   given for 20:00, late (TOO_LATE/CLINICAL_DELAY)
     #3  D2 06:50 Bình  given for 08:00, early (TOO_EARLY/PROCEDURE_SCHEDULED), tablet typed
                        (KEYED_ENTRY/DAMAGED_BARCODE)
         D2 20:00       nothing recorded: missed
     #5  D1 10:00 Hoa   tramadol PRN
     #6  D1 15:00 Hoa   tramadol PRN, withdrawn by Lan at 15:30 as a duplicate (does not count)
     #7  D2 09:00 Bình  tramadol PRN, wristband typed (KEYED_ENTRY/DAMAGED_BARCODE)
     #A9 D2 23:50 Bình  tramadol PRN (the last minutes of D2: 16:50 UTC)
         D3 08:00       open, overdue at NOW
         D3 12:00       documented not given (NPO) by Hoa at D3 09:30
  B  Lê Hoàng Phúc, bed 02: ceftriaxone 1 g IV at 06:00 and 18:00 (time-critical);
     heparin 5000 IU SC at 10:00 (high-alert)
     #8  D1 06:40 Hoa   given for 06:00, late (TOO_LATE/PATIENT_UNAVAILABLE)
     #9  D1 18:30 Hoa   given, exactly on the window's edge: on time
     #10 D2 06:10 Bình  not given, refused
     #11 D2 18:00 Bình  given 1 g; Lan corrects at 18:20 (wrong dose) with a 0.5 g replacement
     #B3 D3 06:45 Hoa   given for D3 06:00, late, wristband typed (TOO_LATE/PATIENT_UNAVAILABLE,
                        KEYED_ENTRY/DAMAGED_BARCODE)
         D3 10:00       heparin due now (high-alert)
  E  Tạ Thị Xuân, bed 03: admitted D3 09:00, no wristband yet

NGOAI (window ±30 min, time-critical ±15 min) — nurse Mai
  C  Đỗ Minh Khôi, bed 01: paracetamol 500 mg at 08:00, 14:00, 20:00; tramadol 50 mg PRN
     #13 D1 08:30 Mai   given, exactly on the edge: on time
     #14 D1 14:45 Mai   given, late; wristband and tablet typed (TOO_LATE/CLINICAL_DELAY,
                        KEYED_ENTRY/SCANNER_FAILURE)
     #15 D1 20:05 Mai   not given, NPO
     #16 D2 08:00 Mai   given with the tablet typed (KEYED_ENTRY/NO_BARCODE), withdrawn by Mai
                        at 08:20 (wrong patient): the dose is missed
     #17 D2 13:20 Mai   given for 14:00, early (TOO_EARLY/PATIENT_LEAVING_UNIT)
     #18 D2 20:10 Mai   not given (refused), withdrawn at 20:20: the dose is missed
     #C0 D0 23:50 Mai   tramadol PRN (the day before D1; 16:50 UTC on D0)
     #19 D2 10:00 Mai   tramadol PRN
     #20 D2 16:00 Mai   tramadol PRN
     #C3 D3 00:10 Mai   tramadol PRN (the first minutes of D3: still D2 in UTC)
"""

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.db import transaction

import gs1
from hospital.models import Role
from pharmacy.models import Medication, Package, ScheduledDose, ScheduleKind, Substance
from scanning.dosemath import Quantity
from scanning.models import Administration
from scanning.scans import ScanInput
from scanning.services import (
    CheckRequest,
    OverrideInput,
    administration_correct,
    administration_not_given,
    administration_record,
)
from tests.factories import (
    AdmissionFactory,
    BedFactory,
    NurseFactory,
    OrderFactory,
    PatientFactory,
    PharmacistFactory,
    UserFactory,
    WardFactory,
    WristbandFactory,
)

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
D0 = date(2026, 11, 22)
D1 = date(2026, 11, 23)
D2 = date(2026, 11, 24)
D3 = date(2026, 11, 25)
EXPIRY = date(2027, 12, 31)


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime.combine(day, time(int(hours), int(minutes)), tzinfo=HCMC)


NOW = at(D3, "10:00")


@dataclass
class ReportData:
    noi: object
    ngoai: object
    hoa: object
    binh: object
    mai: object
    lan: object
    pharmacist: object
    paracetamol: Package
    ceftriaxone: Package
    tramadol: Package
    heparin: Package
    admissions: dict = field(default_factory=dict)
    orders: dict = field(default_factory=dict)
    doses: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    _serials: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- scans as a cart sends them -----------------------------------------------------------

    def band(self, patient: str, *, keyed: bool = False) -> ScanInput:
        admission = self.admissions[patient]
        element_string = gs1.wristband_element_string(
            gs1.WristbandPayload(gsrn=admission.patient.gsrn, instance=1)
        )
        if keyed:  # a person types what is printed under the barcode
            return ScanInput(code=gs1.to_hri(element_string), keyed=True)
        return ScanInput(code="]C1" + element_string)

    def unit(self, package: Package, *, keyed: bool = False) -> ScanInput:
        element_string = gs1.medication_element_string(
            gs1.MedicationPayload(
                gtin=package.gtin, expiry=EXPIRY, lot="L2611", serial=f"S{next(self._serials):05d}"
            )
        )
        if keyed:
            return ScanInput(code=gs1.to_hri(element_string), keyed=True)
        return ScanInput(code="]d2" + element_string)

    # --- the bedside services at a frozen time ------------------------------------------------

    def give(
        self,
        key: str,
        *,
        nurse,
        patient: str,
        package: Package,
        when: datetime,
        band_keyed: bool = False,
        unit_keyed: bool = False,
        overrides: dict[str, str] | None = None,
    ) -> Administration:
        with time_machine.travel(when, tick=False), transaction.atomic():
            outcome = administration_record(
                performer=nurse,
                request=CheckRequest(
                    patient=self.band(patient, keyed=band_keyed),
                    medications=(self.unit(package, keyed=unit_keyed),),
                    cart="NOI-1",
                    prn_reason="đau",  # ignored for a scheduled order
                ),
                overrides=[
                    OverrideInput(code=code, reason=reason)
                    for code, reason in (overrides or {}).items()
                ],
            )
        assert outcome.administration is not None, (
            key,
            outcome.refusal_code,
            [(f.code, str(f.severity)) for f in outcome.result.findings],
        )
        self.records[key] = outcome.administration
        return outcome.administration

    def not_given(
        self, key: str, *, nurse, patient: str, order: str, dose: str, reason: str, when
    ) -> Administration:
        with time_machine.travel(when, tick=False), transaction.atomic():
            record = administration_not_given(
                performer=nurse,
                patient=self.band(patient),
                order=self.orders[order],
                reason=reason,
                scheduled_dose=self.doses[dose],
            )
        self.records[key] = record
        return record

    def correct(self, key: str, *, nurse, reason: str, when, replacement=None, comment=""):
        with time_machine.travel(when, tick=False), transaction.atomic():
            return administration_correct(
                performer=nurse,
                administration=self.records[key],
                reason=reason,
                comment=comment,
                replacement_amount=replacement,
                # a smaller replacement is DOSE_INCOMPLETE and needs its reason, as a record does
                overrides=[OverrideInput("DOSE_INCOMPLETE", "PATIENT_REFUSED_PART")],
            )


def _medication(code, name, substance, strength, unit, form, routes, per_unit="each", **flags):
    return Medication.objects.create(
        code=code,
        name=name,
        substance=Substance.objects.get_or_create(code=substance, name=substance.title())[0],
        strength_value=Decimal(strength),
        strength_unit=unit,
        per_unit=per_unit,
        dose_form=form,
        routes=routes,
        **flags,
    )


def _package(medication: Medication, reference: str) -> Package:
    return Package.objects.create(
        gtin=gs1.normalize_gtin(gs1.make_gtin(reference)), medication=medication
    )


def build_report_data() -> ReportData:
    pharmacist = PharmacistFactory(username="duocsi.tuan", first_name="Tuấn", last_name="Võ Minh")
    noi = WardFactory(code="NOI", name="Khoa Nội tổng hợp")
    ngoai = WardFactory(
        code="NGOAI", name="Khoa Ngoại tổng hợp", window_minutes=30, time_critical_window_minutes=15
    )
    hoa = NurseFactory(username="dd.hoa", first_name="Hoa", last_name="Nguyễn Thị")
    binh = NurseFactory(username="dd.binh", first_name="Bình", last_name="Trần Văn")
    mai = NurseFactory(username="dd.mai", first_name="Mai", last_name="Lê Thị")
    lan = UserFactory(
        username="dd.lan", first_name="Lan", last_name="Phạm Thị", role=Role.CHARGE_NURSE
    )
    noi.staff.add(hoa, binh, lan)
    ngoai.staff.add(mai)

    paracetamol = _package(
        _medication(
            "paracetamol-500-tab",
            "Paracetamol 500 mg viên nén",
            "paracetamol",
            "500",
            "mg",
            "tablet",
            ["PO"],
        ),
        "952000900001",
    )
    ceftriaxone = _package(
        _medication(
            "ceftriaxone-1g",
            "Ceftriaxon 1 g bột pha tiêm",
            "ceftriaxone",
            "1",
            "g",
            "powder_injection",
            ["IV", "IM"],
            time_critical=True,
        ),
        "952000900002",
    )
    tramadol = _package(
        _medication(
            "tramadol-50-cap",
            "Tramadol 50 mg viên nang",
            "tramadol",
            "50",
            "mg",
            "capsule",
            ["PO"],
            controlled=True,
        ),
        "952000900003",
    )
    heparin = _package(
        _medication(
            "heparin-5000",
            "Heparin 5000 IU/1 mL",
            "heparin",
            "5000",
            "IU",
            "injection",
            ["SC", "IV"],
            per_unit="mL",
            high_alert=True,
        ),
        "952000900004",
    )
    data = ReportData(
        noi=noi,
        ngoai=ngoai,
        hoa=hoa,
        binh=binh,
        mai=mai,
        lan=lan,
        pharmacist=pharmacist,
        paracetamol=paracetamol,
        ceftriaxone=ceftriaxone,
        tramadol=tramadol,
        heparin=heparin,
    )

    def admit(key, ward, bed, name, when, band=True):
        admission = AdmissionFactory(
            patient=PatientFactory(full_name=name),
            ward=ward,
            bed=BedFactory(ward=ward, code=bed),
            admitted_at=when,
        )
        if band:
            WristbandFactory(
                admission=admission, instance=1, printed_at=when, printed_by=pharmacist
            )
        data.admissions[key] = admission
        return admission

    admit("A", noi, "01", "Nguyễn Văn An", at(D0, "08:00"))
    admit("B", noi, "02", "Lê Hoàng Phúc", at(D0, "08:00"))
    admit("C", ngoai, "01", "Đỗ Minh Khôi", at(D0, "08:00"))
    admit("E", noi, "03", "Tạ Thị Xuân", at(D3, "09:00"), band=False)

    def order(key, patient, package, dose, unit, route, times=(), prn=False):
        extra = (
            {
                "schedule_kind": ScheduleKind.PRN,
                "times_of_day": [],
                "prn_indication": "đau",
                "prn_min_interval_minutes": 240,
                "prn_max_per_24h": Decimal("400"),
            }
            if prn
            else {"schedule_kind": ScheduleKind.TIMES_OF_DAY, "times_of_day": list(times)}
        )
        data.orders[key] = OrderFactory(
            admission=data.admissions[patient],
            medication=package.medication,
            dose_value=Decimal(dose),
            dose_unit=unit,
            route=route,
            start_at=at(D0, "00:00"),
            verified_by=pharmacist,
            verified_at=at(D0, "00:00"),
            **extra,
        )

    order("A-para", "A", paracetamol, "500", "mg", "PO", ["08:00", "20:00"])
    order("A-tram", "A", tramadol, "50", "mg", "PO", prn=True)
    order("B-cef", "B", ceftriaxone, "1", "g", "IV", ["06:00", "18:00"])
    order("B-hep", "B", heparin, "5000", "IU", "SC", ["10:00"])
    order("C-para", "C", paracetamol, "500", "mg", "PO", ["08:00", "14:00", "20:00"])
    order("C-tram", "C", tramadol, "50", "mg", "PO", prn=True)

    for key, order_key, day, hhmm in [
        ("A-D1-08", "A-para", D1, "08:00"),
        ("A-D1-20", "A-para", D1, "20:00"),
        ("A-D2-08", "A-para", D2, "08:00"),
        ("A-D2-20", "A-para", D2, "20:00"),
        ("A-D3-08", "A-para", D3, "08:00"),
        ("A-D3-12", "A-para", D3, "12:00"),
        ("B-D1-06", "B-cef", D1, "06:00"),
        ("B-D1-18", "B-cef", D1, "18:00"),
        ("B-D2-06", "B-cef", D2, "06:00"),
        ("B-D2-18", "B-cef", D2, "18:00"),
        ("B-D3-06", "B-cef", D3, "06:00"),
        ("B-hep-D3-10", "B-hep", D3, "10:00"),
        ("C-D1-08", "C-para", D1, "08:00"),
        ("C-D1-14", "C-para", D1, "14:00"),
        ("C-D1-20", "C-para", D1, "20:00"),
        ("C-D2-08", "C-para", D2, "08:00"),
        ("C-D2-14", "C-para", D2, "14:00"),
        ("C-D2-20", "C-para", D2, "20:00"),
    ]:
        data.doses[key] = ScheduledDose.objects.create(
            order=data.orders[order_key], due_at=at(day, hhmm)
        )

    late = "TOO_LATE"
    early = "TOO_EARLY"
    keyed = "KEYED_ENTRY"
    # In time order, as the wards lived it.
    data.give("#C0", nurse=mai, patient="C", package=tramadol, when=at(D0, "23:50"))
    data.give(
        "#8",
        nurse=hoa,
        patient="B",
        package=ceftriaxone,
        when=at(D1, "06:40"),
        overrides={late: "PATIENT_UNAVAILABLE"},
    )
    data.give("#1", nurse=hoa, patient="A", package=paracetamol, when=at(D1, "08:05"))
    data.give("#13", nurse=mai, patient="C", package=paracetamol, when=at(D1, "08:30"))
    data.give("#5", nurse=hoa, patient="A", package=tramadol, when=at(D1, "10:00"))
    data.give(
        "#14",
        nurse=mai,
        patient="C",
        package=paracetamol,
        when=at(D1, "14:45"),
        band_keyed=True,
        unit_keyed=True,
        overrides={late: "CLINICAL_DELAY", keyed: "SCANNER_FAILURE"},
    )
    data.give("#6", nurse=hoa, patient="A", package=tramadol, when=at(D1, "15:00"))
    data.correct("#6", nurse=lan, reason="duplicate", when=at(D1, "15:30"))
    data.give("#9", nurse=hoa, patient="B", package=ceftriaxone, when=at(D1, "18:30"))
    data.not_given(
        "#15",
        nurse=mai,
        patient="C",
        order="C-para",
        dose="C-D1-20",
        reason="npo",
        when=at(D1, "20:05"),
    )
    data.give(
        "#2",
        nurse=hoa,
        patient="A",
        package=paracetamol,
        when=at(D1, "21:30"),
        overrides={late: "CLINICAL_DELAY"},
    )
    data.not_given(
        "#10",
        nurse=binh,
        patient="B",
        order="B-cef",
        dose="B-D2-06",
        reason="refused",
        when=at(D2, "06:10"),
    )
    data.give(
        "#3",
        nurse=binh,
        patient="A",
        package=paracetamol,
        when=at(D2, "06:50"),
        unit_keyed=True,
        overrides={early: "PROCEDURE_SCHEDULED", keyed: "DAMAGED_BARCODE"},
    )
    data.give(
        "#16",
        nurse=mai,
        patient="C",
        package=paracetamol,
        when=at(D2, "08:00"),
        unit_keyed=True,
        overrides={keyed: "NO_BARCODE"},
    )
    data.correct("#16", nurse=mai, reason="wrong_patient", when=at(D2, "08:20"))
    data.give(
        "#7",
        nurse=binh,
        patient="A",
        package=tramadol,
        when=at(D2, "09:00"),
        band_keyed=True,
        overrides={keyed: "DAMAGED_BARCODE"},
    )
    data.give("#19", nurse=mai, patient="C", package=tramadol, when=at(D2, "10:00"))
    data.give(
        "#17",
        nurse=mai,
        patient="C",
        package=paracetamol,
        when=at(D2, "13:20"),
        overrides={early: "PATIENT_LEAVING_UNIT"},
    )
    data.give("#20", nurse=mai, patient="C", package=tramadol, when=at(D2, "16:00"))
    data.give("#11", nurse=binh, patient="B", package=ceftriaxone, when=at(D2, "18:00"))
    _withdrawal, replacement = data.correct(
        "#11",
        nurse=lan,
        reason="wrong_dose",
        when=at(D2, "18:20"),
        replacement=Quantity(Decimal("0.5"), "g"),
    )
    data.records["#11-replacement"] = replacement
    data.not_given(
        "#18",
        nurse=mai,
        patient="C",
        order="C-para",
        dose="C-D2-20",
        reason="refused",
        when=at(D2, "20:10"),
    )
    data.correct(
        "#18", nurse=mai, reason="other", comment="ghi nhầm người bệnh", when=at(D2, "20:20")
    )
    data.give("#A9", nurse=binh, patient="A", package=tramadol, when=at(D2, "23:50"))
    data.give("#C3", nurse=mai, patient="C", package=tramadol, when=at(D3, "00:10"))
    data.give(
        "#B3",
        nurse=hoa,
        patient="B",
        package=ceftriaxone,
        when=at(D3, "06:45"),
        band_keyed=True,
        overrides={late: "PATIENT_UNAVAILABLE", keyed: "DAMAGED_BARCODE"},
    )
    data.not_given(
        "#A12",
        nurse=hoa,
        patient="A",
        order="A-para",
        dose="A-D3-12",
        reason="npo",
        when=at(D3, "09:30"),
    )
    return data


@contextmanager
def report_data_loaded(django_db_blocker):
    """The data set for a whole test module, rolled back after it: built once (it takes a second
    or two), while each test still runs in its own savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_report_data()
        transaction.set_rollback(True)
