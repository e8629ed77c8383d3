"""What the HIS tells us, as plain data (pure: no ORM, no HL7).

HL7 v2 (`hl7in.py`) and, later, FHIR parse into these; `services.py` applies them. Codes are the
HIS's own (drug, allergen, ward): the services map them through the pharmacy's mapping table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


class InboundProblem(Exception):
    """Why a message cannot be applied (now). `code` is stable; `location` says where in the
    message (ERR-2, e.g. "RXE^1^2"); `hl7_error` is HL7 table 0357 (103: table value not found).

    `waiting` problems may resolve by themselves when an earlier message arrives (a discharge
    before its admission): the message waits. The others need a person (the work queue)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        location: str = "",
        hl7_error: str = "207",
        waiting: bool = False,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.location = location
        self.hl7_error = hl7_error
        self.waiting = waiting


class Rejected(Exception):
    """The message cannot even be stored as something to apply (not HL7, no MSH-10, a type we
    do not take): answered AR. `hl7_error` is HL7 table 0357."""

    def __init__(self, message: str, *, hl7_error: str = "207", location: str = ""):
        super().__init__(message)
        self.message = message
        self.hl7_error = hl7_error
        self.location = location


@dataclass(frozen=True)
class CodedValue:
    code: str
    text: str = ""
    system: str = ""


@dataclass(frozen=True)
class PatientData:
    mrn: str
    full_name: str = ""
    date_of_birth: date | None = None
    sex: str = ""  # F, M, O, U; "" when not sent
    national_id: str = ""
    health_insurance_number: str = ""
    deceased_at: datetime | None = None


@dataclass(frozen=True)
class AllergyData:
    allergen: CodedValue
    severity: str = "unknown"  # mild, moderate, severe, unknown
    reaction: str = ""


@dataclass(frozen=True)
class VisitData:
    visit_number: str = ""
    ward_code: str = ""
    bed_code: str = ""
    prior_ward_code: str = ""
    prior_bed_code: str = ""
    admitted_at: datetime | None = None
    discharged_at: datetime | None = None


ADMIT = "admit"
TRANSFER = "transfer"
DISCHARGE = "discharge"
UPDATE = "update"
CANCEL_ADMIT = "cancel_admit"
CANCEL_TRANSFER = "cancel_transfer"
CANCEL_DISCHARGE = "cancel_discharge"
MERGE = "merge"


@dataclass(frozen=True)
class AdtEvent:
    kind: str
    patient: PatientData
    occurred_at: datetime
    visit: VisitData | None = None
    # None: the message says nothing about allergies (keep ours); a tuple: the full list.
    allergies: tuple[AllergyData, ...] | None = None
    prior_mrn: str = ""  # A40: the record merged away


TIMES = "times"
INTERVAL = "interval"
ONCE = "once"
STAT = "stat"
ON_CALL = "on_call"
PRN = "prn"


@dataclass(frozen=True)
class TimingData:
    kind: str  # times, interval, once, stat, on_call, prn
    start_at: datetime
    stop_at: datetime | None = None
    times_of_day: tuple[str, ...] = ()  # local "HH:MM"
    interval_hours: int | None = None
    prn_indication: str = ""
    prn_min_interval_minutes: int | None = None
    prn_max_per_24h: Decimal | None = None


NEW = "new"
CHANGE = "change"
HOLD = "hold"
RELEASE = "release"
DISCONTINUE = "discontinue"
CANCEL = "cancel"


@dataclass(frozen=True)
class OrderData:
    control: str  # new, change, hold, release, discontinue, cancel
    placer_number: str
    filler_number: str = ""
    mrn: str = ""
    visit_number: str = ""
    medication: CodedValue | None = None
    dose_value: Decimal | None = None
    dose_unit: str = ""  # one of pharmacy.DoseUnit
    route: str = ""  # HL7 table 0162
    timing: TimingData | None = None
    prescriber_name: str = ""
    instructions: str = ""
    reason: str = ""
    occurred_at: datetime | None = None
    # Where each part came from in the message, for the ERR segment of a problem.
    locations: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class OrderMessage:
    patient: PatientData
    visit: VisitData | None
    orders: tuple[OrderData, ...]
