"""What the rules are given: plain, frozen facts read by the caller (scanning/selectors.py) from
the database, the scans and the clock. Nothing here queries or imports Django."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from pharmacy.assessments import HoldParameter
from scanning.dosemath import Quantity


@dataclass(frozen=True)
class MedicationFacts:
    id: int
    name: str
    substance_code: str
    allergy_class_code: str
    dose_form: str
    routes: frozenset[str]
    strength_value: Decimal
    strength_unit: str
    per_value: Decimal
    per_unit: str
    high_alert: bool
    time_critical: bool
    divisible: bool
    requires_removal: bool = False  # a patch, ring or implant: on the patient until removed
    site_lookback_hours: int | None = None  # the substance's site-rotation look-back
    controlled: bool = False  # a controlled drug (narcotic, psychotropic): its waste is witnessed


@dataclass(frozen=True)
class ProductFacts:
    gtin: str
    quantity: Decimal
    quantity_unit: str
    medication: MedicationFacts


@dataclass(frozen=True)
class ScannedUnit:
    kind: str  # what the scan parsed as: "medication" | "wristband" | "badge" | "unknown"
    gtin: str | None
    lot: str | None
    serial: str | None
    expiry: date | None
    keyed: bool
    product: ProductFacts | None  # None when the GTIN is not in the formulary


@dataclass(frozen=True)
class PatientScan:
    kind: str
    keyed: bool


@dataclass(frozen=True)
class PatientFacts:
    id: int
    mrn: str
    full_name: str
    date_of_birth: date
    deceased: bool
    # The last weighing (kg, to ten grams) and when it was measured; None: never weighed.
    weight_kg: Decimal | None = None
    weight_measured_at: datetime | None = None


@dataclass(frozen=True)
class AdmissionFacts:
    id: int
    ward_code: str
    window_minutes: int
    time_critical_window_minutes: int


@dataclass(frozen=True)
class AllergyFacts:
    code: str
    name: str
    severity: str  # "mild" | "moderate" | "severe" | "unknown"


@dataclass(frozen=True)
class OrderFacts:
    id: int
    medication: MedicationFacts
    dose_value: Decimal
    dose_unit: str
    route: str
    status: str  # pharmacy OrderStatus values
    verified: bool
    start_at: datetime
    stop_at: datetime | None
    is_prn: bool
    prn_min_interval_minutes: int | None
    prn_max_per_24h: Decimal | None
    created_at: datetime
    # An infusion order: the ordered rate (or volume over duration), and how many of its bags
    # may run at once on one line. None: not an infusion.
    infusion_rate_ml_h: Decimal | None = None
    max_concurrent_bags: int = 1
    # pharmacy/assessments.py: what must be measured before giving (the required kinds and each
    # hold parameter's), and the values that hold the dose.
    assessments_needed: tuple[str, ...] = ()
    hold_parameters: tuple[HoldParameter, ...] = ()
    hold_parameters_unreadable: bool = False  # stored JSON that cannot be taken: refuse the dose
    # A weight-based order, in the dose unit per kg of the current weight, per dose: written per
    # kg (the dose is this times the weight), and/or a maximum per kg. None: not weight-based.
    dose_per_kg: Decimal | None = None
    max_dose_per_kg: Decimal | None = None
    # A PRN order's indications, the reasons a nurse may give a dose for (an order written with
    # one indication offers that one): MedicationOrder.prn_indications_offered.
    prn_indications: tuple[str, ...] = ()
    # pharmacy ScheduleKind value ("times", "interval", "prn", "once", "stat", "on_call").
    schedule_kind: str = ""
    # A verbal or telephone order documented at the bedside, and whether the prescriber has
    # co-signed it (False for an order that is not verbal).
    verbal: bool = False
    cosigned: bool = False
    prescriber: str = ""

    @property
    def weight_based(self) -> bool:
        return self.dose_per_kg is not None or self.max_dose_per_kg is not None


@dataclass(frozen=True)
class DoseFacts:
    id: int
    order_id: int
    due_at: datetime
    state: str
    given: bool  # has a counting "completed" administration


@dataclass(frozen=True)
class PriorDose:
    """A counting given dose (the caller leaves out records entered in error)."""

    order_id: int
    administered_at: datetime
    amount: Decimal
    unit: str


@dataclass(frozen=True)
class WornProduct:
    """A product that requires removal, applied and not documented removed (the caller reads it
    through AdministrationQuerySet.still_worn)."""

    administration_id: int
    medication_name: str
    substance_code: str
    site: str  # a pharmacy.body_sites code, or free text from before sites were coded
    applied_at: datetime


@dataclass(frozen=True)
class SiteUse:
    """A site used for a substance by a record that still stands."""

    substance_code: str
    site: str
    at: datetime


@dataclass(frozen=True)
class StaffFacts:
    id: int
    may_administer: bool
    is_pharmacist: bool
    active: bool
    # hospital.models.Role.STUDENT_NURSE: gives only with an instructor's co-sign; never a
    # witness or a co-signer herself.
    is_student: bool = False
    # hospital.models.User.is_instructor: an active licensed nurse in the instructor group.
    is_instructor: bool = False


@dataclass(frozen=True)
class BagFacts:
    """A bag (or syringe) hung for an infusion: the administration that hung it, and where its
    life stands now (scanning.selectors.bags_not_ended reads it from its events)."""

    administration_id: int
    patient_id: int
    order_id: int
    line: str
    state: str  # "running" | "paused" | "ended"
    rate_ml_h: Decimal | None  # the running rate (None while paused or ended)
    ended_at: datetime | None = None


@dataclass(frozen=True)
class InfusionFacts:
    """What the nurse does with a bag: hang it (the scanned unit is the new bag), or act on a bag
    already hung (the scanned unit finds it: `bag`)."""

    action: str  # scanning.rules.infusion.ACTIONS: "preview" is the cart's check before a hang
    rate_ml_h: Decimal | None  # the rate she sets (hang, rate change, resume)
    line: str
    # Beyond this many times the ordered rate (or below it divided by this), a rate is a STOP.
    rate_stop_factor: Decimal
    bag: BagFacts | None = None  # the scanned bag, for an action on a hung bag; None: never hung
    infusing: tuple[BagFacts, ...] = ()  # the patient's bags hung and not ended


@dataclass(frozen=True)
class AssessmentValue:
    """A value the nurse measured at the bedside, already within its kind's plausible range."""

    kind: str
    value: Decimal


@dataclass(frozen=True)
class CheckFacts:
    now: datetime
    tz: ZoneInfo  # Asia/Ho_Chi_Minh for local dates
    cart_ward_code: str | None
    patient_scan: PatientScan
    patient: PatientFacts | None  # None: the band's GSRN matches no patient
    band_active: bool  # False: voided, superseded or never issued
    admission: AdmissionFacts | None  # the open admission, None if not admitted
    allergies: tuple[AllergyFacts, ...]
    units: tuple[ScannedUnit, ...]  # the medication slot, in scan order
    orders: tuple[OrderFacts, ...]  # the patient's orders (all statuses) on the open admission
    # scheduled doses of those orders within ±24 h of now; the bedside reads only each order's
    # last dose at or before now and first after it, the only candidates for timing.nearest_dose
    doses: tuple[DoseFacts, ...]
    prior_doses: tuple[PriorDose, ...]  # counting given doses of the PRN orders, last 48 h
    used_serials: frozenset[tuple[str, str]]  # (gtin, serial) administered, entered-in-error too
    recalled_lots: frozenset[tuple[str, str]]  # (gtin, lot)
    performer: StaffFacts
    witness_scan_kind: str | None  # kind scanned in the witness slot, None if nothing
    witness: StaffFacts | None  # resolved from the witness badge, None if unknown badge
    witness_pin_ok: bool
    requested_order_id: int | None = None  # the cart may say which order it means
    # When the band is not active: the discharge time of the admission it was the active band of
    # when that admission closed (voided by the discharge, not by a reprint); else None.
    band_discharged_at: datetime | None = None
    amount: Quantity | None = None  # what the nurse says she gives (partial dose, partial unit)
    infusion: InfusionFacts | None = None  # an infusion bag hung or acted on; None: a dose
    site: str = ""  # the body site the nurse chose (pharmacy.body_sites code), "" if none yet
    # read only when a scanned product requires removal: what is on the patient now
    worn: tuple[WornProduct, ...] = ()
    # read only when a site is chosen: the sites used for the scanned substances in their look-back
    site_uses: tuple[SiteUse, ...] = ()
    waste: Quantity | None = None  # what she wastes of the units scanned (the rest of a unit)
    # what she measured before giving (pharmacy/assessments.py kind code -> value, in its unit)
    assessments: tuple[AssessmentValue, ...] = ()
    # Weight policy (settings CHILD_UNDER_YEARS, CHILD_WEIGHT_MAX_AGE_DAYS): a patient younger
    # than this many full years is a child, and a child's weight older than this many days is
    # stale for a weight-based order.
    child_under_years: int = 16
    child_weight_max_age_days: int = 7
    prn_reason: str = ""  # the indication the nurse picked for a PRN dose, "" if none yet
    # settings STAT_WINDOW_MINUTES: a STAT dose given later than this after it was ordered is
    # TOO_LATE (a STAT dose is never early: it is due when ordered).
    stat_window_minutes: int = 30
    # settings VERBAL_ORDER_COSIGN_HOURS: a verbal order not co-signed this long after it was
    # documented raises VERBAL_ORDER_UNSIGNED (exactly this long is still in time).
    verbal_cosign_hours: int = 24
    # A student nurse's instructor, co-signing the record (scanning/rules/cosign.py): the kind
    # scanned in the co-sign slot (None if nothing), who the badge is (None: unknown badge) and
    # whether her PIN was checked for this request.
    cosigner_scan_kind: str | None = None
    cosigner: StaffFacts | None = None
    cosigner_pin_ok: bool = False


@dataclass(frozen=True)
class WitnessFacts:
    """Who is there for a waste documented after the record (scanning/rules/waste.py): the same
    fields CheckFacts gives the witness rule."""

    performer: StaffFacts
    witness_scan_kind: str | None
    witness: StaffFacts | None
    witness_pin_ok: bool


@dataclass(frozen=True)
class ReplacementFacts:
    """A correction's replacement of a given record: the record's own units as scanned, the
    record's time as now, and the order's other counting doses (not the record replaced)."""

    now: datetime
    tz: ZoneInfo
    order: OrderFacts
    units: tuple[ScannedUnit, ...]
    prior_doses: tuple[PriorDose, ...]
    amount: Quantity
