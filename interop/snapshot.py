"""What other systems are told about one administration record, as plain data (pure).

The selectors build a snapshot from the database; the HL7 v2 and FHIR mappers read only this. The
outbox stores a snapshot taken inside the recording transaction, so a message sent hours later
(after a receiver outage) still describes the patient, bed and record as they were when recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NotRequired, TypedDict

COMPLETED = "completed"
NOT_DONE = "not_done"
ENTERED_IN_ERROR = "entered_in_error"
STATUSES = frozenset({COMPLETED, NOT_DONE, ENTERED_IN_ERROR})
REFUSED = "refused"


@dataclass(frozen=True)
class Staff:
    username: str
    family_name: str = ""
    given_name: str = ""

    @property
    def display(self) -> str:
        return " ".join(part for part in (self.family_name, self.given_name) if part) or (
            self.username
        )


@dataclass(frozen=True)
class Unit:
    """One scanned (or keyed) package unit."""

    gtin: str
    lot: str = ""
    expiry: date | None = None
    serial: str = ""
    scanned: bool = True

    @property
    def barcode(self) -> str:
        """The GS1 element string of a scanned unit in human-readable form, as printed under the
        DataMatrix: `(01)GTIN(17)YYMMDD(10)LOT(21)SERIAL` (empty for a keyed unit)."""
        if not self.scanned or not self.gtin:
            return ""
        parts = [f"(01){self.gtin}"]
        if self.expiry is not None:
            parts.append(f"(17){self.expiry:%y%m%d}")
        if self.lot:
            parts.append(f"(10){self.lot}")
        if self.serial:
            parts.append(f"(21){self.serial}")
        return "".join(parts)


@dataclass(frozen=True)
class Measurement:
    """A value measured before giving (pharmacy/assessments.py), sent as an OBX and as a FHIR
    Observation the MedicationAdministration points to (`id` is the Observation's)."""

    id: uuid.UUID
    kind: str
    value: Decimal
    unit: str  # UCUM


@dataclass(frozen=True)
class WasteSnapshot:
    """What was destroyed of the record's units, by whom and before whom."""

    amount: Decimal
    unit: str
    reason: str
    reason_label: str
    wasted_at: datetime
    performer: Staff
    witness: Staff | None = None
    # Set only on the message that reports a waste documented after the record (an update of the
    # record, like a removal): the waste's own id (MSH-10) and when it was written.
    id: uuid.UUID | None = None
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class Patient:
    id: uuid.UUID
    mrn: str
    full_name: str
    date_of_birth: date
    sex: str  # HL7 table 0001: F, M, O, U
    national_id: str = ""
    health_insurance_number: str = ""
    deceased_at: datetime | None = None

    @property
    def name_parts(self) -> tuple[str, str, str]:
        """(family, given, middle) of a Vietnamese name written family name first: "Nguyễn Văn An"
        is family "Nguyễn", middle "Văn", given "An". One word is taken as the family name."""
        words = self.full_name.split()
        if not words:
            return "", "", ""
        if len(words) == 1:
            return words[0], "", ""
        return words[0], words[-1], " ".join(words[1:-1])


@dataclass(frozen=True)
class Withdrawal:
    """The entered-in-error record that later withdrew this one (read side only)."""

    id: uuid.UUID
    reason: str
    reason_label: str
    recorded_at: datetime


# The moments in the life of an infusion bag (scanning.models.InfusionEventKind).
BAG_STARTED = "started"
BAG_PAUSED = "paused"
BAG_COMPLETED = "completed"
BAG_STOPPED = "stopped"
BAG_EVENTS = frozenset(
    {BAG_STARTED, "rate_changed", BAG_PAUSED, "resumed", BAG_COMPLETED, BAG_STOPPED}
)


@dataclass(frozen=True)
class InfusionState:
    """Where the bag this record hung stands, as of one event in its life: each event is told as
    its own message (MSH-10 from the event's id) about the same administration."""

    event_id: uuid.UUID
    event: str  # BAG_EVENTS
    at: datetime
    started_at: datetime
    line: str
    rate_ml_h: Decimal | None = None  # the running rate; None once paused or ended
    ended_at: datetime | None = None
    volume_infused_ml: Decimal | None = None  # when ended

    def __post_init__(self) -> None:
        if self.event not in BAG_EVENTS:
            raise ValueError(f"unknown bag event {self.event!r}")

    @property
    def ended(self) -> bool:
        return self.event in (BAG_COMPLETED, BAG_STOPPED)


class InfusionJson(TypedDict):
    event_id: str
    event: str
    at: str
    started_at: str
    line: str
    rate_ml_h: str | None
    ended_at: str | None
    volume_infused_ml: str | None


def infusion_to_json(state: InfusionState | None) -> InfusionJson | None:
    if state is None:
        return None
    return {
        "event_id": str(state.event_id),
        "event": state.event,
        "at": state.at.isoformat(),
        "started_at": state.started_at.isoformat(),
        "line": state.line,
        "rate_ml_h": str(state.rate_ml_h) if state.rate_ml_h is not None else None,
        "ended_at": _iso(state.ended_at),
        "volume_infused_ml": str(state.volume_infused_ml)
        if state.volume_infused_ml is not None
        else None,
    }


def infusion_from_json(data: InfusionJson | None) -> InfusionState | None:
    if not data:
        return None
    return InfusionState(
        event_id=uuid.UUID(data["event_id"]),
        event=data["event"],
        at=datetime.fromisoformat(data["at"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        line=data["line"],
        rate_ml_h=Decimal(rate) if (rate := data.get("rate_ml_h")) is not None else None,
        ended_at=datetime.fromisoformat(ended) if (ended := data.get("ended_at")) else None,
        volume_infused_ml=Decimal(volume)
        if (volume := data.get("volume_infused_ml")) is not None
        else None,
    )


@dataclass(frozen=True)
class RemovalNote:
    """A patch, ring or implant taken off: the removal of the record it rides on."""

    id: uuid.UUID
    removed_at: datetime
    recorded_at: datetime
    performer: Staff
    site: str = ""  # pharmacy.body_sites code
    scanned: bool = False


@dataclass(frozen=True)
class AdministrationSnapshot:
    id: uuid.UUID
    status: str  # completed, not_done, entered_in_error
    administered_at: datetime
    recorded_at: datetime
    patient: Patient
    encounter_id: uuid.UUID
    ward_code: str
    ward_name: str
    bed_code: str
    order_id: uuid.UUID
    medication_code: str
    medication_name: str
    order_route: str
    order_dose_unit: str
    performer: Staff
    amount: Decimal | None = None
    unit: str = ""
    route: str = ""
    site: str = ""
    is_partial: bool = False
    reason: str = ""
    reason_label: str = ""
    comment: str = ""
    witness: Staff | None = None
    # A student nurse's record: the clinical instructor who co-signed it.
    cosigner: Staff | None = None
    units: tuple[Unit, ...] = ()
    # The HIS's numbers (ORC-2, ORC-3, PV1-19), empty for orders and admissions typed in
    # /pharmacy/: then our own stable numbers go out instead, marked as ours.
    placer_order_number: str = ""
    filler_order_number: str = ""
    visit_number: str = ""
    # RXA-2: this record's place among the order's administration records, from 1 (a withdrawal
    # keeps the number of the record it withdraws).
    administration_number: int = 1
    prn_indication: str = ""  # the order's PRN indication, for an as-needed order
    # Why a partial dose was partial (the nurse's override reason), and its label.
    partial_reason: str = ""
    partial_reason_label: str = ""
    # An entered-in-error record carries the record it withdraws; a replacement names the
    # withdrawn record it stands in for.
    corrects: AdministrationSnapshot | None = None
    replaces_id: uuid.UUID | None = None
    withdrawn_by: Withdrawal | None = None
    # A bag hung for an infusion: the event this snapshot tells (None: a dose, as ever).
    infusion: InfusionState | None = None
    # Set on the message that reports the record's product taken off (its own MSH-10).
    removed: RemovalNote | None = None
    # What was destroyed of the units, written with the record or later (then `waste.id` is set
    # on the message that reports it).
    waste: WasteSnapshot | None = None
    # What was measured before giving (or holding) the dose.
    assessments: tuple[Measurement, ...] = ()
    # The HL7 facility (MSH-4, PID-3's assigning authority) of the hospital the record was made
    # in; "" (a snapshot from before hospitals): the configured sending facility.
    hl7_facility: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown administration status {self.status!r}")
        if (self.status == ENTERED_IN_ERROR) != (self.corrects is not None):
            raise ValueError("an entered-in-error snapshot, and only one, carries `corrects`")

    @property
    def waste_update(self) -> uuid.UUID | None:
        """The waste's id when this snapshot is the message reporting a waste documented after
        the record (an update of it, under the waste's own message id); None otherwise."""
        if self.status != COMPLETED or self.waste is None:
            return None
        return self.waste.id

    @property
    def clinical(self) -> AdministrationSnapshot:
        """The record whose clinical content (drug, dose, time, units) this one is about."""
        return self.corrects if self.corrects is not None else self

    @property
    def gtins(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(unit.gtin for unit in self.units if unit.gtin))

    @property
    def lots(self) -> tuple[tuple[str, date | None], ...]:
        """Distinct (lot, expiry) pairs in scan order."""
        return tuple(dict.fromkeys((unit.lot, unit.expiry) for unit in self.units if unit.lot))


class StaffJson(TypedDict):
    username: str
    family_name: str
    given_name: str


class PatientJson(TypedDict):
    id: str
    mrn: str
    full_name: str
    date_of_birth: str
    sex: str
    national_id: NotRequired[str]
    health_insurance_number: NotRequired[str]
    deceased_at: NotRequired[str | None]


class UnitJson(TypedDict):
    gtin: str
    lot: str
    expiry: str | None
    serial: str
    scanned: bool


class WithdrawalJson(TypedDict):
    id: str
    reason: str
    reason_label: str
    recorded_at: str


class RemovalJson(TypedDict):
    id: str
    removed_at: str
    recorded_at: str
    performer: StaffJson
    site: str
    scanned: bool


class WasteJson(TypedDict):
    amount: str
    unit: str
    reason: str
    reason_label: str
    wasted_at: str
    performer: StaffJson
    witness: StaffJson | None
    id: NotRequired[str]
    recorded_at: NotRequired[str]


class MeasurementJson(TypedDict):
    id: str
    kind: str
    value: str
    unit: str


class SnapshotJson(TypedDict):
    """A snapshot as the outbox stores it (`snapshot_to_json`). NotRequired: the keys that
    snapshots queued before they existed do not have."""

    id: str
    status: str
    administered_at: str
    recorded_at: str
    patient: PatientJson
    encounter_id: str
    ward_code: str
    ward_name: str
    bed_code: str
    order_id: str
    medication_code: str
    medication_name: str
    order_route: str
    order_dose_unit: str
    performer: StaffJson
    amount: str | None
    unit: str
    route: str
    site: str
    is_partial: bool
    reason: str
    reason_label: str
    comment: str
    witness: StaffJson | None
    cosigner: NotRequired[StaffJson]
    placer_order_number: NotRequired[str]
    filler_order_number: NotRequired[str]
    visit_number: NotRequired[str]
    administration_number: NotRequired[int]
    prn_indication: NotRequired[str]
    partial_reason: NotRequired[str]
    partial_reason_label: NotRequired[str]
    units: list[UnitJson]
    corrects: NotRequired[SnapshotJson | None]
    replaces_id: NotRequired[str | None]
    withdrawn_by: NotRequired[WithdrawalJson | None]
    removed: NotRequired[RemovalJson | None]
    infusion: NotRequired[InfusionJson | None]
    waste: NotRequired[WasteJson | None]
    assessments: NotRequired[list[MeasurementJson]]
    hl7_facility: NotRequired[str]


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _staff_json(staff: Staff) -> StaffJson:
    return {
        "username": staff.username,
        "family_name": staff.family_name,
        "given_name": staff.given_name,
    }


def snapshot_to_json(snapshot: AdministrationSnapshot) -> SnapshotJson:
    """A JSON-ready dict; `snapshot_from_json` reverses it exactly."""
    data: SnapshotJson = {
        "id": str(snapshot.id),
        "status": snapshot.status,
        "administered_at": snapshot.administered_at.isoformat(),
        "recorded_at": snapshot.recorded_at.isoformat(),
        "patient": {
            "id": str(snapshot.patient.id),
            "mrn": snapshot.patient.mrn,
            "full_name": snapshot.patient.full_name,
            "date_of_birth": snapshot.patient.date_of_birth.isoformat(),
            "sex": snapshot.patient.sex,
            "national_id": snapshot.patient.national_id,
            "health_insurance_number": snapshot.patient.health_insurance_number,
            "deceased_at": _iso(snapshot.patient.deceased_at),
        },
        "encounter_id": str(snapshot.encounter_id),
        "ward_code": snapshot.ward_code,
        "ward_name": snapshot.ward_name,
        "bed_code": snapshot.bed_code,
        "order_id": str(snapshot.order_id),
        "medication_code": snapshot.medication_code,
        "medication_name": snapshot.medication_name,
        "order_route": snapshot.order_route,
        "order_dose_unit": snapshot.order_dose_unit,
        "performer": _staff_json(snapshot.performer),
        "amount": str(snapshot.amount) if snapshot.amount is not None else None,
        "unit": snapshot.unit,
        "route": snapshot.route,
        "site": snapshot.site,
        "is_partial": snapshot.is_partial,
        "reason": snapshot.reason,
        "reason_label": snapshot.reason_label,
        "comment": snapshot.comment,
        "witness": _staff_json(snapshot.witness) if snapshot.witness is not None else None,
        "placer_order_number": snapshot.placer_order_number,
        "filler_order_number": snapshot.filler_order_number,
        "visit_number": snapshot.visit_number,
        "administration_number": snapshot.administration_number,
        "prn_indication": snapshot.prn_indication,
        "partial_reason": snapshot.partial_reason,
        "partial_reason_label": snapshot.partial_reason_label,
        "units": [
            {
                "gtin": unit.gtin,
                "lot": unit.lot,
                "expiry": _iso(unit.expiry),
                "serial": unit.serial,
                "scanned": unit.scanned,
            }
            for unit in snapshot.units
        ],
        "corrects": snapshot_to_json(snapshot.corrects) if snapshot.corrects else None,
        "replaces_id": str(snapshot.replaces_id) if snapshot.replaces_id else None,
        "withdrawn_by": {
            "id": str(snapshot.withdrawn_by.id),
            "reason": snapshot.withdrawn_by.reason,
            "reason_label": snapshot.withdrawn_by.reason_label,
            "recorded_at": snapshot.withdrawn_by.recorded_at.isoformat(),
        }
        if snapshot.withdrawn_by
        else None,
        "infusion": infusion_to_json(snapshot.infusion),
        "removed": {
            "id": str(snapshot.removed.id),
            "removed_at": snapshot.removed.removed_at.isoformat(),
            "recorded_at": snapshot.removed.recorded_at.isoformat(),
            "performer": _staff_json(snapshot.removed.performer),
            "site": snapshot.removed.site,
            "scanned": snapshot.removed.scanned,
        }
        if snapshot.removed
        else None,
        "waste": _waste_json(snapshot.waste) if snapshot.waste else None,
        "assessments": [
            {"id": str(m.id), "kind": m.kind, "value": str(m.value), "unit": m.unit}
            for m in snapshot.assessments
        ],
    }
    # Only on a student's record, so that every other snapshot reads as it always did.
    if snapshot.cosigner is not None:
        data["cosigner"] = _staff_json(snapshot.cosigner)
    if snapshot.hl7_facility:
        data["hl7_facility"] = snapshot.hl7_facility
    return data


def _waste_json(waste: WasteSnapshot) -> WasteJson:
    data: WasteJson = {
        "amount": str(waste.amount),
        "unit": waste.unit,
        "reason": waste.reason,
        "reason_label": waste.reason_label,
        "wasted_at": waste.wasted_at.isoformat(),
        "performer": _staff_json(waste.performer),
        "witness": _staff_json(waste.witness) if waste.witness else None,
    }
    if waste.id is not None:
        data["id"] = str(waste.id)
    if waste.recorded_at is not None:
        data["recorded_at"] = waste.recorded_at.isoformat()
    return data


def _staff(data: StaffJson | None) -> Staff | None:
    return Staff(**data) if data is not None else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def snapshot_from_json(data: SnapshotJson) -> AdministrationSnapshot:
    patient = data["patient"]
    withdrawn = data.get("withdrawn_by")
    corrects = data.get("corrects")
    return AdministrationSnapshot(
        id=uuid.UUID(data["id"]),
        status=data["status"],
        administered_at=datetime.fromisoformat(data["administered_at"]),
        recorded_at=datetime.fromisoformat(data["recorded_at"]),
        patient=Patient(
            id=uuid.UUID(patient["id"]),
            mrn=patient["mrn"],
            full_name=patient["full_name"],
            date_of_birth=date.fromisoformat(patient["date_of_birth"]),
            sex=patient["sex"],
            national_id=patient.get("national_id", ""),
            health_insurance_number=patient.get("health_insurance_number", ""),
            deceased_at=_datetime(patient.get("deceased_at")),
        ),
        encounter_id=uuid.UUID(data["encounter_id"]),
        ward_code=data["ward_code"],
        ward_name=data["ward_name"],
        bed_code=data["bed_code"],
        order_id=uuid.UUID(data["order_id"]),
        medication_code=data["medication_code"],
        medication_name=data["medication_name"],
        order_route=data["order_route"],
        order_dose_unit=data["order_dose_unit"],
        performer=Staff(**data["performer"]),
        amount=Decimal(data["amount"]) if data["amount"] is not None else None,
        unit=data["unit"],
        route=data["route"],
        site=data["site"],
        is_partial=data["is_partial"],
        reason=data["reason"],
        reason_label=data["reason_label"],
        comment=data["comment"],
        witness=_staff(data["witness"]),
        cosigner=_staff(data.get("cosigner")),
        # Snapshots queued before these fields existed read as empty.
        placer_order_number=data.get("placer_order_number", ""),
        filler_order_number=data.get("filler_order_number", ""),
        visit_number=data.get("visit_number", ""),
        administration_number=data.get("administration_number", 1),
        prn_indication=data.get("prn_indication", ""),
        partial_reason=data.get("partial_reason", ""),
        partial_reason_label=data.get("partial_reason_label", ""),
        units=tuple(
            Unit(
                gtin=unit["gtin"],
                lot=unit["lot"],
                expiry=_date(unit["expiry"]),
                serial=unit["serial"],
                scanned=unit["scanned"],
            )
            for unit in data["units"]
        ),
        corrects=snapshot_from_json(corrects) if corrects else None,
        replaces_id=uuid.UUID(data["replaces_id"]) if data.get("replaces_id") else None,
        withdrawn_by=Withdrawal(
            id=uuid.UUID(withdrawn["id"]),
            reason=withdrawn["reason"],
            reason_label=withdrawn["reason_label"],
            recorded_at=datetime.fromisoformat(withdrawn["recorded_at"]),
        )
        if withdrawn
        else None,
        infusion=infusion_from_json(data.get("infusion")),
        removed=RemovalNote(
            id=uuid.UUID(removed["id"]),
            removed_at=datetime.fromisoformat(removed["removed_at"]),
            recorded_at=datetime.fromisoformat(removed["recorded_at"]),
            performer=Staff(**removed["performer"]),
            site=removed["site"],
            scanned=removed["scanned"],
        )
        if (removed := data.get("removed"))
        else None,
        waste=_waste(data.get("waste")),
        assessments=tuple(
            Measurement(
                id=uuid.UUID(m["id"]), kind=m["kind"], value=Decimal(m["value"]), unit=m["unit"]
            )
            for m in data.get("assessments", [])
        ),
        hl7_facility=data.get("hl7_facility", ""),
    )


def _waste(data: WasteJson | None) -> WasteSnapshot | None:
    if not data:
        return None
    return WasteSnapshot(
        amount=Decimal(data["amount"]),
        unit=data["unit"],
        reason=data["reason"],
        reason_label=data["reason_label"],
        wasted_at=datetime.fromisoformat(data["wasted_at"]),
        performer=Staff(**data["performer"]),
        witness=_staff(data["witness"]),
        id=uuid.UUID(waste_id) if (waste_id := data.get("id")) else None,
        recorded_at=datetime.fromisoformat(at) if (at := data.get("recorded_at")) else None,
    )


@dataclass(frozen=True)
class Encounter:
    """An admission, for FHIR Encounter (pure data; read by `interop.selectors`)."""

    id: uuid.UUID
    patient: Patient
    ward_code: str
    ward_name: str
    bed_code: str
    admitted_at: datetime
    discharged_at: datetime | None = None
    visit_number: str = ""
    hospital_gln: str = ""  # the hospital of the ward (GS1 GLN), its service provider
    hospital_name: str = ""


@dataclass(frozen=True)
class Order:
    """A medication order, for FHIR MedicationRequest."""

    id: uuid.UUID
    patient: Patient
    encounter_id: uuid.UUID
    medication_code: str
    medication_name: str
    dose_value: Decimal
    dose_unit: str
    route: str
    schedule_kind: str  # times, interval or prn (pharmacy.models.ScheduleKind)
    status: str  # pharmacy.models.OrderStatus
    start_at: datetime
    authored_at: datetime
    prescriber_name: str = ""
    times_of_day: tuple[str, ...] = ()
    interval_hours: int | None = None
    prn_indication: str = ""
    prn_min_interval_minutes: int | None = None
    prn_max_per_24h: Decimal | None = None
    stop_at: datetime | None = None
    instructions: str = ""
    status_reason: str = ""
    placer_order_number: str = ""
    filler_order_number: str = ""
    visit_number: str = ""
