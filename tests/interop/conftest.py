import socket
import threading
import uuid
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from interop.hl7v2 import Hl7Config, ack_build, message_header
from interop.mllp import MllpServer
from interop.models import Destination
from interop.snapshot import (
    AdministrationSnapshot,
    Measurement,
    Patient,
    RemovalNote,
    Staff,
    Unit,
    WasteSnapshot,
)
from scanning.models import AdministeredUnit, Administration
from scanning.signals import administration_recorded
from tests.factories import (
    AdmissionFactory,
    BedFactory,
    NurseFactory,
    OrderFactory,
    PackageFactory,
    PatientFactory,
    WardFactory,
)

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
HL7_CONFIG = Hl7Config(
    sending_application="BCMA",
    sending_facility="BVDEMO",
    receiving_application="HIS",
    receiving_facility="BVDEMO",
)

# ---------------------------------------------------------------------------------------------
# Pure snapshots, one per kind of record, for golden files.


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{n:012d}")


GIVEN = AdministrationSnapshot(
    id=uuid.UUID("4f1c9a2e-6b7d-4e3a-9c51-2d8e0f7a6b13"),
    status="completed",
    administered_at=datetime(2026, 11, 24, 8, 10, 0, tzinfo=HCMC),
    recorded_at=datetime(2026, 11, 24, 8, 10, 2, tzinfo=HCMC),
    patient=Patient(
        id=_uuid(101),
        mrn="BN2026000101",
        full_name="Nguyễn Văn An",
        date_of_birth=date(1956, 3, 14),
        sex="M",
    ),
    encounter_id=_uuid(201),
    ward_code="NOI",
    ward_name="Khoa Nội tổng hợp",
    bed_code="01",
    order_id=_uuid(301),
    medication_code="paracetamol-500-tab",
    medication_name="Paracetamol 500 mg viên nén",
    order_route="PO",
    order_dose_unit="mg",
    performer=Staff("dd.hoa", "Nguyễn Thị", "Hoa"),
    placer_order_number="YL2026112400017",
    filler_order_number="KD-88412",
    visit_number="VV2026-004512",
    administration_number=3,
    amount=Decimal("1000.0000"),
    unit="mg",
    route="PO",
    units=(
        Unit("08936012345001", "PCM2611A", date(2026, 11, 30), "PCM2611AS001"),
        Unit("08936012345001", "PCM2611A", date(2026, 11, 30), "PCM2611AS002"),
    ),
)

PARTIAL = replace(
    GIVEN,
    id=uuid.UUID("9b2d4c6e-1f3a-4b5c-8d7e-0a1b2c3d4e5f"),
    patient=replace(GIVEN.patient, full_name="Trần Thị Bích Ngọc", sex="F", mrn="BN2026000102"),
    medication_code="morphine-10-inj",
    medication_name="Morphin 10 mg/1 mL dung dịch tiêm",
    order_route="SC",
    order_dose_unit="mg",
    amount=Decimal("2.5"),
    unit="mg",
    route="SC",
    site="bụng, bên trái",
    is_partial=True,
    partial_reason="PATIENT_REFUSED_PART",
    partial_reason_label="Người bệnh từ chối một phần",
    prn_indication="Đau nhiều (VAS ≥ 7)",
    placer_order_number="",
    filler_order_number="",
    visit_number="",
    administration_number=1,
    comment="Bệnh nhân buồn nôn | chỉ tiêm 2,5 mg ^ phần còn lại huỷ & ghi sổ",
    witness=Staff("dd.binh", "Lê Văn", "Bình"),
    units=(Unit("08936012345094", "MOR2605B", date(2027, 5, 31), "MOR2605BS007", scanned=False),),
)

NOT_GIVEN = replace(
    GIVEN,
    id=uuid.UUID("c3e5a7b9-2d4f-4a6c-8e0a-1b3c5d7e9f21"),
    status="not_done",
    amount=None,
    unit="",
    route="",
    units=(),
    reason="refused",
    reason_label="Người bệnh từ chối",
    comment="Người bệnh nói đã uống thuốc ở nhà",
    administration_number=4,
)

HELD = replace(
    NOT_GIVEN,
    id=uuid.UUID("d4f6b8c0-3e5a-4b7d-9f1b-2c4d6e8f0a32"),
    reason="npo",
    reason_label="Nhịn ăn uống",
    comment="",
    administration_number=5,
)

ENTERED_IN_ERROR = replace(
    GIVEN,
    id=uuid.UUID("e5a7c9d1-4f6b-4c8e-8a2c-3d5e7f9a1b43"),
    status="entered_in_error",
    administered_at=datetime(2026, 11, 24, 9, 0, 0, tzinfo=HCMC),
    recorded_at=datetime(2026, 11, 24, 9, 0, 1, tzinfo=HCMC),
    performer=Staff("dd.lan", "Phạm Thị", "Lan"),
    amount=None,
    unit="",
    route="",
    units=(),
    reason="wrong_dose",
    reason_label="Ghi sai liều",
    comment="Đã cho 500 mg, không phải 1000 mg",
    corrects=GIVEN,
)

REPLACEMENT = replace(
    GIVEN,
    id=uuid.UUID("f6b8d0e2-5a7c-4d9f-9b3d-4e6f8a0b2c54"),
    recorded_at=datetime(2026, 11, 24, 9, 0, 1, tzinfo=HCMC),
    amount=Decimal("500"),
    reason="wrong_dose",
    reason_label="Ghi sai liều",
    comment="Đã cho 500 mg, không phải 1000 mg",
    is_partial=True,
    replaces_id=GIVEN.id,
    administration_number=6,
)

PATCH_APPLIED = replace(
    GIVEN,
    id=uuid.UUID("1a3c5e7a-9b1d-4f3a-8c5e-7a9b1d3f5a76"),
    patient=replace(GIVEN.patient, full_name="Lê Thị Thu", sex="F", mrn="BN2026000117"),
    medication_code="fentanyl-25-patch",
    medication_name="Fentanyl 25 mcg/giờ miếng dán",
    order_route="TD",
    order_dose_unit="mcg",
    amount=Decimal("25"),
    unit="mcg",
    route="TD",
    site="LUA",
    administration_number=2,
    witness=Staff("dd.binh", "Lê Văn", "Bình"),
    units=(Unit("09520003000179", "FEN2610A", date(2027, 10, 31), "FEN2610AS003"),),
)

PATCH_REMOVED = replace(
    PATCH_APPLIED,
    removed=RemovalNote(
        id=uuid.UUID("2b4d6f8b-0c2e-4a4b-9d6f-8b0c2e4a6b87"),
        removed_at=datetime(2026, 11, 27, 8, 5, 0, tzinfo=HCMC),
        recorded_at=datetime(2026, 11, 27, 8, 5, 1, tzinfo=HCMC),
        performer=Staff("dd.lan", "Phạm Thị", "Lan"),
        site="LUA",
        scanned=True,
    ),
)

# Half a 10 mg/1 mL morphine ampoule for a 5 mg order; the other 5 mg wasted before Bình.
HALF_AMPOULE_WASTED = replace(
    PARTIAL,
    id=uuid.UUID("a7c9e1f3-6b8d-4e0a-8c4e-5f7a9b1c3d65"),
    patient=replace(GIVEN.patient, full_name="Lê Hoàng Phúc", mrn="BN2026000103"),
    order_route="IV",
    amount=Decimal("5.0000"),
    route="IV",
    site="",
    is_partial=False,
    partial_reason="",
    partial_reason_label="",
    comment="",
    units=(Unit("08936012345094", "MOR2606", date(2027, 6, 30), "MOR2606S001"),),
    waste=WasteSnapshot(
        amount=Decimal("5.0000"),
        unit="mg",
        reason="partial_dose",
        reason_label="Phần còn lại của ống sau liều một phần",
        wasted_at=datetime(2026, 11, 24, 8, 10, 0, tzinfo=HCMC),
        performer=Staff("dd.hoa", "Nguyễn Thị", "Hoa"),
        witness=Staff("dd.binh", "Lê Văn", "Bình"),
    ),
)

# The same morphine dose given at 08:10, its 5 mg dropped and wasted before Bình at
# 08:40: an update of the record under the waste's own message id.
WASTE_DOCUMENTED_LATER = replace(
    HALF_AMPOULE_WASTED,
    id=uuid.UUID("b8d0f2a4-7c9e-4f1b-9d5f-6a8b0c2d4e76"),
    waste=WasteSnapshot(
        amount=Decimal("5.0000"),
        unit="mg",
        reason="dropped",
        reason_label="rơi, vỡ hoặc nhiễm bẩn",
        wasted_at=datetime(2026, 11, 24, 8, 40, 0, tzinfo=HCMC),
        performer=Staff("dd.hoa", "Nguyễn Thị", "Hoa"),
        witness=Staff("dd.binh", "Lê Văn", "Bình"),
        id=uuid.UUID("c9e1a3b5-8d0f-4a2c-8e6a-7b9c1d3e5f87"),
        recorded_at=datetime(2026, 11, 24, 8, 40, 1, tzinfo=HCMC),
    ),
)

# Metoprolol given after the heart rate and pressure were measured above its hold parameters, and
# held at the next dose on a heart rate of 52 (issue 18: the values go out with the record).
METOPROLOL_GIVEN = replace(
    GIVEN,
    id=uuid.UUID("d1e3f5a7-9b0c-4d2e-8f4a-6b8c0d2e4f61"),
    patient=replace(GIVEN.patient, full_name="Phan Văn Thành", mrn="BN2026000121"),
    medication_code="metoprolol-25-tab",
    medication_name="Metoprolol tartrat 25 mg viên nén",
    amount=Decimal("25"),
    order_dose_unit="mg",
    unit="mg",
    units=(Unit("09520003000162", "MTP2611", date(2028, 5, 31), "MTP2611S001"),),
    administration_number=1,
    assessments=(
        Measurement(
            uuid.UUID("e2f4a6b8-0c1d-4e3f-9a5b-7c9d1e3f5a72"), "heart_rate", Decimal("72"), "/min"
        ),
        Measurement(
            uuid.UUID("f3a5b7c9-1d2e-4f4a-8b6c-8d0e2f4a6b83"),
            "systolic_bp",
            Decimal("128"),
            "mm[Hg]",
        ),
    ),
)

METOPROLOL_HELD = replace(
    HELD,
    id=uuid.UUID("a4b6c8d0-2e3f-4a5b-9c7d-9e1f3a5b7c94"),
    patient=METOPROLOL_GIVEN.patient,
    medication_code="metoprolol-25-tab",
    medication_name="Metoprolol tartrat 25 mg viên nén",
    order_dose_unit="mg",
    reason="held_clinical",
    reason_label="tạm hoãn vì lý do lâm sàng",
    administration_number=2,
    assessments=(
        Measurement(
            uuid.UUID("b5c7d9e1-3f4a-4b6c-8d8e-0f2a4b6c8da5"), "heart_rate", Decimal("52"), "/min"
        ),
        Measurement(
            uuid.UUID("c6d8e0f2-4a5b-4c7d-9e9f-1a3b5c7d9eb6"),
            "systolic_bp",
            Decimal("118"),
            "mm[Hg]",
        ),
    ),
)

# A PRN morphine dose given for pain (the indication the nurse picked from the order's list goes
# out as RXA-19 and reasonCode / reason), with the pain score measured before it (issue 18).
PRN_MORPHINE_FOR_PAIN = replace(
    HALF_AMPOULE_WASTED,
    id=uuid.UUID("e7f9a1b3-5c6d-4e8f-9a0b-2c4d6e8f0a19"),
    patient=replace(GIVEN.patient, full_name="Hoàng Văn Dũng", mrn="BN2026000125"),
    prn_indication="đau",
    waste=None,
    units=(Unit("08936012345094", "MOR2606", date(2027, 6, 30), "MOR2606S004"),),
    assessments=(
        Measurement(
            uuid.UUID("f8a0b2c4-6d7e-4f9a-8b1c-3d5e7f9a1b2a"),
            "pain_score",
            Decimal("7"),
            "{score}",
        ),
    ),
)

KINDS = {
    "given": GIVEN,
    "partial_with_witness": PARTIAL,
    "not_given_refused": NOT_GIVEN,
    "not_given_held": HELD,
    "entered_in_error": ENTERED_IN_ERROR,
    "replacement": REPLACEMENT,
    "patch_applied": PATCH_APPLIED,
    "patch_removed": PATCH_REMOVED,
    "half_ampoule_wasted": HALF_AMPOULE_WASTED,
    "waste_documented_later": WASTE_DOCUMENTED_LATER,
    "metoprolol_given_with_vitals": METOPROLOL_GIVEN,
    "metoprolol_held_heart_rate": METOPROLOL_HELD,
    "prn_morphine_for_pain": PRN_MORPHINE_FOR_PAIN,
}


# ---------------------------------------------------------------------------------------------
# Records in the database, written the way the services write them: inside a transaction that
# sends `administration_recorded`.


class Hospital:
    """One ward, one admitted patient with a Vietnamese name, one order, one product."""

    def __init__(self):
        ward = WardFactory(code="NOI", name="Khoa Nội tổng hợp")
        self.nurse = NurseFactory(first_name="Hoa", last_name="Nguyễn Thị", username="dd.hoa")
        ward.staff.add(self.nurse)
        self.admission = AdmissionFactory(
            patient=PatientFactory(full_name="Nguyễn Văn An", sex="M"),
            ward=ward,
            bed=BedFactory(ward=ward, code="01"),
        )
        self.patient = self.admission.patient
        self.package = PackageFactory()
        self.order = OrderFactory(
            admission=self.admission, medication=self.package.medication, dose_value=Decimal("500")
        )
        self._serials = iter(range(1, 1_000_000))

    def record(
        self, *, status="completed", at=None, units=1, signal=True, **fields
    ) -> Administration:
        values = {
            "patient": self.patient,
            "admission": self.admission,
            "order": self.order,
            "status": status,
            "performer": self.nurse,
            "administered_at": at or timezone.now(),
        }
        if status == "completed":
            values.update(amount=Decimal("500"), unit="mg", route="PO")
        elif status == "not_done":
            values.update(reason="refused")
        values.update(fields)
        with transaction.atomic():
            administration = Administration.objects.create(**values)
            if status == "completed":
                AdministeredUnit.objects.bulk_create(
                    [
                        AdministeredUnit(
                            administration=administration,
                            package=self.package,
                            gtin=self.package.gtin,
                            lot="LOT2611",
                            expiry=date(2027, 11, 30),
                            serial=f"S{next(self._serials):06d}",
                        )
                        for _ in range(units)
                    ]
                )
            if signal:
                administration_recorded.send(sender=Administration, administration=administration)
        return administration

    def withdraw(self, original: Administration, *, reason="wrong_dose") -> Administration:
        with transaction.atomic():
            withdrawal = Administration.objects.create(
                patient=self.patient,
                admission=self.admission,
                order=self.order,
                status="entered_in_error",
                performer=self.nurse,
                administered_at=timezone.now(),
                reason=reason,
                corrects=original,
            )
            administration_recorded.send(sender=Administration, administration=withdrawal)
        return withdrawal


@pytest.fixture
def hospital(db):
    return Hospital()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def destination(db):
    return Destination.objects.create(
        name="HIS", host="127.0.0.1", port=free_port(), ack_timeout_seconds=2.0, max_attempts=5
    )


@pytest.fixture
def fast_retries(settings):
    settings.INTEROP_RETRY_BASE_SECONDS = 0.01
    settings.INTEROP_RETRY_MAX_SECONDS = 0.05
    settings.INTEROP_CONNECT_TIMEOUT_SECONDS = 1.0
    settings.INTEROP_LEASE_MARGIN_SECONDS = 1.0
    return settings


# ---------------------------------------------------------------------------------------------
# A receiver on a real socket that counts what it saw and answers as told.


class Receiver:
    """An MLLP receiver on 127.0.0.1 that remembers every MSH-10 it was sent.

    `answer` picks the ACK code per message (default AA); returning None sends nothing (a hung
    receiver). It can be stopped and started again on the same port."""

    def __init__(self, port: int, answer=None):
        self.port = port
        self.answer = answer or (lambda number, control_id: "AA")
        self.seen: list[str] = []
        self.answers: Counter = Counter()
        self._lock = threading.Lock()
        self._server: MllpServer | None = None
        self.received = threading.Event()

    def __call__(self, text: str) -> str | None:
        received = message_header(text)
        with self._lock:
            self.seen.append(received.control_id)
            number = len(self.seen)
        self.received.set()
        code = self.answer(number, received.control_id)
        if code is None:
            return None
        with self._lock:
            self.answers[code] += 1
        return ack_build(
            received,
            code=code,
            text="" if code == "AA" else "simulated rejection",
            control_id=f"ACK{number}",
            at=timezone.now(),
        )

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "Receiver":
        self._server = MllpServer("127.0.0.1", self.port, self).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self.seen)


@pytest.fixture
def receiver(destination):
    created = []

    def make(answer=None, start=True) -> Receiver:
        instance = Receiver(destination.port, answer)
        created.append(instance)
        return instance.start() if start else instance

    yield make
    for instance in created:
        instance.stop()


def later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)
