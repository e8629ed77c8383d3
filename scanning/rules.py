"""Bedside safety rules: one pure function from the facts of a scan to findings and a verdict.

`check_administration` runs for the cart's check and again inside the recording transaction, on
plain data (no ORM, no settings). Every rule that applies is reported, not only the first; any
STOP makes the verdict "stop", else any WARN makes it "warn", else "go".

Decisions where DESIGN.md section 4 is silent (each is pinned by a test):

- Identity. A patient slot that is not a wristband (UNKNOWN_CODE, WRONG_SCAN_KIND), a band that
  matches no patient (PATIENT_UNKNOWN) or a band that is not active (WRISTBAND_VOID: a void band
  never identifies anyone, so nothing else is said about the patient) leaves the patient
  unidentified: only findings about the scans themselves follow (product unknown, expired,
  recalled, serial used, duplicate, wrong kind, witness, keyed entry, performer). A known patient
  with an active band who is deceased or not admitted is identified: ALLERGY is still reported,
  but nothing that needs an open admission (ward, orders, doses).
- One medication per check. Scanned products must share active substance and dose form (the
  order-matching key); otherwise MIXED_PRODUCTS (STOP) and no order or dose findings.
- Dose findings need every unit in the medication slot to be a known product; an unknown or
  wrong-kind unit is already a STOP and a total without it would be wrong.
- Several units divisible and together more than the dose by less than their smallest unit
  (e.g. 2 × 5000 IU for 7500 IU) is PARTIAL_UNIT like the single unit; a whole spare unit is
  DOSE_EXCEEDED.
- With `amount` (what the nurse gives): more than ordered → DOSE_EXCEEDED; less → DOSE_INCOMPLETE;
  more than was scanned → AMOUNT_NOT_SCANNED (STOP: unscanned medication); scanned more than the
  amount → PARTIAL_UNIT or DOSE_EXCEEDED as above.
- Orders. An order that is not usable (held, discontinued, unverified, outside start/stop) still
  gets its route and dose findings; scheduled-dose and PRN findings only for a usable order. A
  usable order other than `requested_order_id` → ORDER_MISMATCH (WARN). A scheduled (non-PRN)
  order with no scheduled dose among those passed → NO_SCHEDULED_DOSE (STOP: recording it would
  bypass the one-given-record-per-dose constraint).
- Nearest dose ties go to the earlier dose (never move on). A dose counts as given when the caller
  says so or its state is "given".
- PRN: a dose given exactly 24 h ago has left the window; this dose counts as what the nurse gives
  (`amount`), else the scanned amount up to the ordered dose, else the ordered dose. A prior dose
  whose amount cannot be converted to the order's unit counts as one ordered dose.
- Time-critical window when the ordered or any scanned medication is time critical.
- WRONG_WARD only when the cart has a ward. PERFORMER_NOT_ALLOWED when the performer is inactive
  or may not administer. A witness is only checked for high-alert medication (ordered or scanned).
- One finding per code and subject: units are grouped by (GTIN, lot/serial), `data["units"]`
  lists their 0-based positions in the medication slot.
- Formulary data that cannot be computed with (unknown unit, strength per 0) is
  DOSE_UNIT_MISMATCH, never an exception.
- Findings are ordered STOP before WARN, then by CODE_ORDER, then by scan order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from scanning.dose import (
    Comparison,
    DoseComparison,
    Pack,
    Quantity,
    Strength,
    compare_amount,
    compare_dose,
    format_decimal,
    to_decimal,
)


class Severity(StrEnum):
    STOP = "STOP"
    WARN = "WARN"


# The order findings are listed in (after STOP before WARN): who, what was scanned, the patient,
# the product, the order, the dose, the schedule, the witness, how it was entered.
CODE_ORDER: tuple[str, ...] = (
    "PERFORMER_NOT_ALLOWED",
    "UNKNOWN_CODE",
    "WRONG_SCAN_KIND",
    "PATIENT_UNKNOWN",
    "WRISTBAND_VOID",
    "PATIENT_DECEASED",
    "PATIENT_NOT_ADMITTED",
    "WRONG_WARD",
    "PRODUCT_UNKNOWN",
    "DUPLICATE_SCAN",
    "SERIAL_ALREADY_USED",
    "LOT_RECALLED",
    "PRODUCT_EXPIRED",
    "ALLERGY",
    "MIXED_PRODUCTS",
    "NOT_ORDERED",
    "ORDER_NOT_VERIFIED",
    "ORDER_ON_HOLD",
    "ORDER_DISCONTINUED",
    "ORDER_NOT_ACTIVE",
    "ORDER_MISMATCH",
    "ROUTE_MISMATCH",
    "DOSE_UNIT_MISMATCH",
    "DOSE_EXCEEDED",
    "AMOUNT_NOT_SCANNED",
    "PARTIAL_UNIT",
    "DOSE_INCOMPLETE",
    "NO_SCHEDULED_DOSE",
    "ALREADY_GIVEN",
    "TOO_EARLY",
    "TOO_LATE",
    "PRN_TOO_SOON",
    "PRN_MAX_EXCEEDED",
    "WITNESS_REQUIRED",
    "KEYED_ENTRY",
)
_CODE_RANK = {code: rank for rank, code in enumerate(CODE_ORDER)}

WARN_CODES = frozenset(
    {
        "WRONG_WARD",
        "ALLERGY",  # STOP when severe
        "ORDER_MISMATCH",
        "PARTIAL_UNIT",
        "DOSE_INCOMPLETE",
        "TOO_EARLY",
        "TOO_LATE",
        "KEYED_ENTRY",
    }
)

OVERRIDE_REASONS: dict[str, tuple[str, ...]] = {
    "WRONG_WARD": ("PATIENT_TRANSFERRED", "COVERING_OTHER_WARD", "OTHER"),
    "ALLERGY": ("PRESCRIBER_AWARE", "TOLERATED_BEFORE", "OTHER"),
    "ORDER_MISMATCH": ("OTHER_ORDER_INTENDED", "OTHER"),
    "PARTIAL_UNIT": ("REMAINDER_WASTED", "MULTI_DOSE_CONTAINER", "OTHER"),
    "DOSE_INCOMPLETE": ("PATIENT_REFUSED_PART", "INSUFFICIENT_STOCK", "PHYSICIAN_ORDER", "OTHER"),
    "TOO_EARLY": ("PATIENT_LEAVING_UNIT", "PROCEDURE_SCHEDULED", "PHYSICIAN_ORDER", "OTHER"),
    "TOO_LATE": ("PATIENT_UNAVAILABLE", "CLINICAL_DELAY", "PHYSICIAN_ORDER", "OTHER"),
    "KEYED_ENTRY": ("DAMAGED_BARCODE", "NO_BARCODE", "SCANNER_FAILURE", "OTHER"),
}
# A physician's verbal order and "other" need words: who ordered, what happened.
REASONS_NEEDING_COMMENT = frozenset({"OTHER", "PHYSICIAN_ORDER"})

OVERRIDE_REASON_LABELS: dict[str, tuple[str, str]] = {  # (vi, en)
    "PATIENT_TRANSFERRED": ("Người bệnh vừa chuyển khoa", "Patient just transferred"),
    "COVERING_OTHER_WARD": ("Đang hỗ trợ khoa khác", "Covering another ward"),
    "PRESCRIBER_AWARE": ("Bác sĩ đã biết và chỉ định", "Prescriber aware and ordered it"),
    "TOLERATED_BEFORE": ("Người bệnh đã dùng trước đây không sao", "Tolerated before"),
    "OTHER_ORDER_INTENDED": ("Đúng y lệnh này", "This order was intended"),
    "REMAINDER_WASTED": ("Phần thừa đã hủy", "Remainder wasted"),
    "MULTI_DOSE_CONTAINER": ("Lọ/bút dùng nhiều lần", "Multi-dose container"),
    "PATIENT_REFUSED_PART": ("Người bệnh từ chối một phần", "Patient refused part"),
    "INSUFFICIENT_STOCK": ("Không đủ thuốc", "Not enough stock"),
    "PHYSICIAN_ORDER": ("Theo chỉ định của bác sĩ", "Physician's order"),
    "PATIENT_LEAVING_UNIT": ("Người bệnh sắp rời khoa", "Patient leaving the unit"),
    "PROCEDURE_SCHEDULED": ("Có thủ thuật theo lịch", "Procedure scheduled"),
    "PATIENT_UNAVAILABLE": ("Người bệnh vắng mặt", "Patient unavailable"),
    "CLINICAL_DELAY": ("Trì hoãn vì lý do lâm sàng", "Clinical delay"),
    "DAMAGED_BARCODE": ("Mã vạch hỏng", "Damaged barcode"),
    "NO_BARCODE": ("Không có mã vạch", "No barcode"),
    "SCANNER_FAILURE": ("Máy quét hỏng", "Scanner failure"),
    "OTHER": ("Khác (ghi rõ)", "Other (explain)"),
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message_vi: str
    message_en: str
    data: dict = field(default_factory=dict)

    def message(self, language: str = "vi") -> str:
        return self.message_en if language.lower().startswith("en") else self.message_vi


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
class StaffFacts:
    id: int
    may_administer: bool
    is_pharmacist: bool
    active: bool


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
    # last dose at or before now and first after it, the only candidates for _nearest_dose
    doses: tuple[DoseFacts, ...]
    prior_doses: tuple[PriorDose, ...]  # counting given doses of the PRN orders, last 48 h
    used_serials: frozenset[tuple[str, str]]  # (gtin, serial) administered, entered-in-error too
    recalled_lots: frozenset[tuple[str, str]]  # (gtin, lot)
    performer: StaffFacts
    witness_scan_kind: str | None  # kind scanned in the witness slot, None if nothing
    witness: StaffFacts | None  # resolved from the witness badge, None if unknown badge
    witness_pin_ok: bool
    requested_order_id: int | None = None  # the cart may say which order it means
    amount: Quantity | None = None  # what the nurse says she gives (partial dose, partial unit)


@dataclass(frozen=True)
class DoseSummary:
    ordered: Quantity
    scanned: Quantity | None
    comparison: str  # "equal" | "less" | "more" | "incomparable"


@dataclass(frozen=True)
class CheckResult:
    verdict: str  # "go" | "warn" | "stop"
    findings: tuple[Finding, ...]
    order: OrderFacts | None
    dose: DoseFacts | None
    dose_summary: DoseSummary | None

    def codes(self) -> set[str]:
        return {finding.code for finding in self.findings}

    def stops(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.STOP)

    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.WARN)


# --- wording ------------------------------------------------------------------------------

_SLOTS = {  # (vi, en)
    "patient": ("ô người bệnh", "patient"),
    "medication": ("ô thuốc", "medication"),
    "witness": ("ô người chứng kiến", "witness"),
}
_SLOT_TAKES = {
    "patient": ("Ô người bệnh cần quét vòng tay", "The patient slot takes the wristband"),
    "medication": ("Ô thuốc cần quét mã trên thuốc", "The medication slot takes the product code"),
    "witness": (
        "Ô người chứng kiến cần quét thẻ nhân viên",
        "The witness slot takes a staff badge",
    ),
}
_KINDS = {
    "wristband": ("vòng tay", "wristband"),
    "badge": ("thẻ nhân viên", "staff badge"),
    "medication": ("mã thuốc", "medication code"),
}
_ALLERGY_SEVERITIES = {
    "severe": ("nặng", "severe"),
    "moderate": ("trung bình", "moderate"),
    "mild": ("nhẹ", "mild"),
}
_ROUTES = {
    "PO": ("uống", "oral"),
    "SL": ("ngậm dưới lưỡi", "sublingual"),
    "NG": ("qua ống thông dạ dày", "nasogastric"),
    "IV": ("tiêm tĩnh mạch", "intravenous"),
    "IM": ("tiêm bắp", "intramuscular"),
    "SC": ("tiêm dưới da", "subcutaneous"),
    "PR": ("đặt trực tràng", "rectal"),
    "IH": ("hít", "inhalation"),
    "OP": ("nhỏ mắt", "ophthalmic"),
    "TP": ("bôi ngoài da", "topical"),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WITNESS_PROBLEMS = {  # (vi, en), appended to the WITNESS_REQUIRED message
    "missing": ("", ""),
    "not_a_badge": (
        " Mã ở ô người chứng kiến không phải thẻ nhân viên.",
        " The witness slot does not hold a staff badge.",
    ),
    "unknown_badge": (" Không nhận ra thẻ người chứng kiến.", " The witness badge is not known."),
    "same_person": (
        " Người chứng kiến phải là người khác, không phải bạn.",
        " The witness must be someone other than you.",
    ),
    "inactive": (
        " Tài khoản người chứng kiến không còn hoạt động.",
        " The witness's account is not active.",
    ),
    "pharmacist": (" Dược sĩ không thể là người chứng kiến.", " A pharmacist cannot witness."),
    "not_allowed": (
        " Người chứng kiến phải là người được phép dùng thuốc.",
        " The witness must be allowed to give medication.",
    ),
    "pin": (" Mã PIN của người chứng kiến không đúng.", " The witness PIN is wrong."),
}


def _clock(moment: datetime, facts: CheckFacts) -> tuple[str, str]:
    """Local 24-hour time, with the day when it is not today."""
    local = moment.astimezone(facts.tz)
    hhmm = f"{local:%H:%M}"
    if local.date() == facts.now.astimezone(facts.tz).date():
        return hhmm, hhmm
    return f"{hhmm} ({local:%d/%m})", f"{hhmm} ({local.day} {_MONTHS_EN[local.month - 1]})"


def _day(value: date) -> tuple[str, str]:
    return f"{value:%d/%m/%Y}", f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def _names(medications: Iterable[MedicationFacts]) -> str:
    return ", ".join(dict.fromkeys(m.name for m in medications))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# --- collecting findings ------------------------------------------------------------------


class _Findings:
    def __init__(self):
        self._items: list[Finding] = []

    def add(self, code: str, severity: Severity, vi: str, en: str, **data) -> None:
        self._items.append(Finding(code, severity, vi, en, data))

    def stop(self, code: str, vi: str, en: str, **data) -> None:
        self.add(code, Severity.STOP, vi, en, **data)

    def warn(self, code: str, vi: str, en: str, **data) -> None:
        self.add(code, Severity.WARN, vi, en, **data)

    def has(self, code: str) -> bool:
        return any(f.code == code for f in self._items)

    def ordered(self) -> tuple[Finding, ...]:
        ranked = sorted(
            enumerate(self._items),
            key=lambda item: (
                item[1].severity != Severity.STOP,
                _CODE_RANK.get(item[1].code, len(_CODE_RANK)),
                item[0],
            ),
        )
        return tuple(finding for _index, finding in ranked)


# --- the rules ----------------------------------------------------------------------------

_KNOWN_KINDS = frozenset({"wristband", "badge", "medication"})


def _wrong_slot(out: _Findings, slot: str, kind: str, **data) -> None:
    slot_vi, slot_en = _SLOTS[slot]
    if kind not in _KNOWN_KINDS:
        out.stop(
            "UNKNOWN_CODE",
            f"Mã ở {slot_vi} không phải vòng tay, thẻ nhân viên hay thuốc đã biết. Hãy quét lại.",
            f"The code in the {slot_en} slot is not a wristband, badge or known product. "
            "Scan again.",
            slot=slot,
            kind=kind,
            **data,
        )
        return
    takes_vi, takes_en = _SLOT_TAKES[slot]
    kind_vi, kind_en = _KINDS[kind]
    out.stop(
        "WRONG_SCAN_KIND",
        f"{takes_vi}, không phải {kind_vi}.",
        f"{takes_en}, not a {kind_en}.",
        slot=slot,
        kind=kind,
        **data,
    )


def _check_patient(facts: CheckFacts, out: _Findings) -> tuple[bool, bool]:
    """(identified, in care): a known patient with an active band; and admitted and alive."""
    if facts.patient_scan.kind != "wristband":
        _wrong_slot(out, "patient", facts.patient_scan.kind)
        return False, False
    patient = facts.patient
    if patient is None:
        out.stop(
            "PATIENT_UNKNOWN",
            "Vòng tay không khớp với người bệnh nào. Không dùng thuốc; báo điều dưỡng trưởng.",
            "This wristband matches no patient. Do not give; tell the charge nurse.",
        )
        return False, False
    if not facts.band_active:
        out.stop(
            "WRISTBAND_VOID",
            "Vòng tay này đã bị hủy hoặc thay thế. Quét vòng tay hiện tại của người bệnh.",
            "This wristband was voided or replaced. Scan the patient's current band.",
        )
        return False, False
    if patient.deceased:
        out.stop(
            "PATIENT_DECEASED",
            "Người bệnh đã được ghi nhận tử vong. Không dùng thuốc.",
            "The patient is recorded as deceased. Do not give.",
            mrn=patient.mrn,
        )
    admission = facts.admission
    if admission is None:
        out.stop(
            "PATIENT_NOT_ADMITTED",
            f"Người bệnh {patient.mrn} không có đợt nằm viện đang mở. Không dùng thuốc.",
            f"Patient {patient.mrn} has no open admission. Do not give.",
            mrn=patient.mrn,
        )
    in_care = admission is not None and not patient.deceased
    if in_care and facts.cart_ward_code is not None and admission.ward_code != facts.cart_ward_code:
        out.warn(
            "WRONG_WARD",
            f"Người bệnh nằm ở khoa {admission.ward_code}, không phải khoa của xe thuốc "
            f"({facts.cart_ward_code}). Kiểm tra lại người bệnh.",
            f"The patient is on ward {admission.ward_code}, not this cart's ward "
            f"{facts.cart_ward_code}. Check the patient.",
            patient_ward=admission.ward_code,
            cart_ward=facts.cart_ward_code,
        )
    return True, in_care


def _check_performer(facts: CheckFacts, out: _Findings) -> None:
    performer = facts.performer
    if not (performer.active and performer.may_administer):
        out.stop(
            "PERFORMER_NOT_ALLOWED",
            "Tài khoản này không được phép dùng thuốc cho người bệnh. Cần điều dưỡng thực hiện.",
            "This account may not give medication. A nurse must do it.",
            performer_id=performer.id,
        )


def _group(units: Iterable[tuple[int, ScannedUnit]], key: Callable) -> dict:
    """Units by key (first-seen order), each with its positions; None keys are skipped."""
    groups: dict = {}
    for index, unit in units:
        value = key(unit)
        if value is not None:
            groups.setdefault(value, []).append(index)
    return groups


def _gtins(unit: ScannedUnit) -> tuple[str, ...]:
    found = (unit.product.gtin if unit.product else None, unit.gtin)
    return tuple(dict.fromkeys(g for g in found if g))


def _label(unit: ScannedUnit) -> str:
    return unit.product.medication.name if unit.product else (unit.gtin or "?")


def _check_units(facts: CheckFacts, out: _Findings) -> list[tuple[int, ScannedUnit]]:
    """Findings about each scanned unit itself. Returns the units that are known products."""
    scanned: list[tuple[int, ScannedUnit]] = []
    for index, unit in enumerate(facts.units):
        if unit.kind == "medication":
            scanned.append((index, unit))
        else:
            _wrong_slot(out, "medication", unit.kind, units=[index])

    for gtin, indexes in _group(scanned, lambda u: None if u.product else (u.gtin or "?")).items():
        out.stop(
            "PRODUCT_UNKNOWN",
            f"Mã thuốc {gtin} không có trong danh mục. Không dùng; báo khoa Dược.",
            f"Product {gtin} is not in the formulary. Do not give; tell pharmacy.",
            gtin=gtin,
            units=indexes,
        )

    serial_groups = _group(
        scanned, lambda u: (_gtins(u)[0], u.serial) if u.serial and _gtins(u) else None
    )
    for (gtin, serial), indexes in serial_groups.items():
        if len(indexes) > 1:
            out.stop(
                "DUPLICATE_SCAN",
                f"Đơn vị số sê-ri {serial} được quét {len(indexes)} lần. "
                "Mỗi đơn vị chỉ quét một lần.",
                f"The unit with serial {serial} was scanned {len(indexes)} times. "
                "Scan each unit once.",
                gtin=gtin,
                serial=serial,
                units=indexes,
            )
    by_index = dict(scanned)
    for (gtin, serial), indexes in serial_groups.items():
        unit = by_index[indexes[0]]
        if any((g, serial) in facts.used_serials for g in _gtins(unit)):
            out.stop(
                "SERIAL_ALREADY_USED",
                f"{_label(unit)} số sê-ri {serial} đã được dùng trước đây. Lấy đơn vị khác.",
                f"{_label(unit)} with serial {serial} was already given. Use another unit.",
                gtin=gtin,
                serial=serial,
                units=indexes,
            )

    for (gtin, lot), indexes in _group(
        scanned, lambda u: (_gtins(u)[0], u.lot) if u.lot and _gtins(u) else None
    ).items():
        unit = by_index[indexes[0]]
        if any((g, lot) in facts.recalled_lots for g in _gtins(unit)):
            out.stop(
                "LOT_RECALLED",
                f"Lô {lot} của {_label(unit)} đã bị thu hồi. Không dùng; trả lại khoa Dược.",
                f"Lot {lot} of {_label(unit)} has been recalled. Do not give; return it to "
                "pharmacy.",
                gtin=gtin,
                lot=lot,
                units=indexes,
            )

    today = facts.now.astimezone(facts.tz).date()
    expired = _group(
        scanned,
        lambda u: (
            (_label(u), u.lot, u.expiry) if u.expiry is not None and u.expiry < today else None
        ),
    )
    for (label, lot, expiry), indexes in expired.items():
        day_vi, day_en = _day(expiry)
        lot_vi, lot_en = (f" lô {lot}", f" lot {lot}") if lot else ("", "")
        out.stop(
            "PRODUCT_EXPIRED",
            f"{label}{lot_vi} đã hết hạn ngày {day_vi}. Lấy hộp khác.",
            f"{label}{lot_en} expired on {day_en}. Use another pack.",
            expiry=expiry.isoformat(),
            lot=lot,
            units=indexes,
        )
    return [(index, unit) for index, unit in scanned if unit.product is not None]


def _medications(known: list[tuple[int, ScannedUnit]]) -> list[MedicationFacts]:
    by_id = {unit.product.medication.id: unit.product.medication for _index, unit in known}
    return list(by_id.values())


def _check_allergies(
    facts: CheckFacts, known: list[tuple[int, ScannedUnit]], out: _Findings
) -> None:
    matched: list[tuple[AllergyFacts, MedicationFacts]] = []
    for allergy in facts.allergies:
        wanted = allergy.code.strip().casefold()
        for medication in _medications(known):
            codes = {medication.substance_code, medication.allergy_class_code}
            if wanted in {c.strip().casefold() for c in codes if c}:
                matched.append((allergy, medication))
    if not matched:
        return
    severe = any(allergy.severity == "severe" for allergy, _m in matched)
    allergies = list(dict.fromkeys(allergy for allergy, _m in matched))
    names = _names(medication for _a, medication in matched)

    def described(language: int) -> str:
        unknown = ("chưa rõ mức độ", "severity unknown")
        return ", ".join(
            f"{a.name} ({_ALLERGY_SEVERITIES.get(a.severity, unknown)[language]})"
            for a in allergies
        )

    data = {
        "allergies": [{"code": a.code, "name": a.name, "severity": a.severity} for a in allergies],
        "medications": list(dict.fromkeys(m.name for _a, m in matched)),
    }
    if severe:
        out.stop(
            "ALLERGY",
            f"Người bệnh dị ứng {described(0)}: không dùng {names}.",
            f"The patient is allergic to {described(1)}: do not give {names}.",
            **data,
        )
    else:
        out.warn(
            "ALLERGY",
            f"Người bệnh dị ứng {described(0)}. Cân nhắc trước khi dùng {names}.",
            f"The patient is allergic to {described(1)}. Check before giving {names}.",
            **data,
        )


def _usable(order: OrderFacts, now: datetime) -> bool:
    return (
        order.status == "active"
        and order.verified
        and order.start_at <= now
        and (order.stop_at is None or now < order.stop_at)
    )


def _nearest_dose(facts: CheckFacts, order: OrderFacts) -> DoseFacts | None:
    doses = [dose for dose in facts.doses if dose.order_id == order.id]
    if not doses:
        return None
    # Ties go to the earlier dose: a scan never moves on to the next dose.
    return min(doses, key=lambda d: (abs(d.due_at - facts.now), d.due_at, d.id))


def _choose_order(facts: CheckFacts, usable: list[OrderFacts]) -> OrderFacts:
    for order in usable:
        if order.id == facts.requested_order_id:
            return order

    def distance(order: OrderFacts) -> tuple[int, timedelta]:
        dose = _nearest_dose(facts, order)
        return (1, timedelta(0)) if dose is None else (0, abs(dose.due_at - facts.now))

    newest_first = sorted(usable, key=lambda o: (o.created_at, o.id), reverse=True)
    return min(newest_first, key=distance)


def _order_status_finding(facts: CheckFacts, order: OrderFacts, out: _Findings) -> None:
    name = order.medication.name
    data = {"order_id": order.id, "status": order.status}
    if order.status == "pending_verification" or (order.status == "active" and not order.verified):
        out.stop(
            "ORDER_NOT_VERIFIED",
            f"Y lệnh {name} chưa được dược sĩ duyệt. Không dùng.",
            f"The {name} order awaits pharmacist verification. Do not give.",
            **data,
        )
    elif order.status == "on_hold":
        out.stop(
            "ORDER_ON_HOLD",
            f"Y lệnh {name} đang tạm ngưng. Không dùng.",
            f"The {name} order is on hold. Do not give.",
            **data,
        )
    elif order.status == "discontinued":
        out.stop(
            "ORDER_DISCONTINUED",
            f"Y lệnh {name} đã bị ngưng. Không dùng.",
            f"The {name} order was discontinued. Do not give.",
            **data,
        )
    elif order.status == "active" and facts.now < order.start_at:
        start_vi, start_en = _clock(order.start_at, facts)
        out.stop(
            "ORDER_NOT_ACTIVE",
            f"Y lệnh {name} chỉ bắt đầu từ {start_vi}. Không dùng.",
            f"The {name} order starts at {start_en}. Do not give.",
            start_at=_iso(order.start_at),
            **data,
        )
    elif order.status == "active" and order.stop_at is not None:
        stop_vi, stop_en = _clock(order.stop_at, facts)
        out.stop(
            "ORDER_NOT_ACTIVE",
            f"Y lệnh {name} đã kết thúc lúc {stop_vi}. Không dùng.",
            f"The {name} order ended at {stop_en}. Do not give.",
            stop_at=_iso(order.stop_at),
            **data,
        )
    else:
        out.stop(
            "ORDER_NOT_ACTIVE",
            f"Y lệnh {name} không còn hiệu lực. Không dùng.",
            f"The {name} order is no longer active. Do not give.",
            **data,
        )


def _check_route(order: OrderFacts, medications: list[MedicationFacts], out: _Findings) -> None:
    wrong = [m for m in medications if order.route not in m.routes]
    if not wrong:
        return
    route_vi, route_en = _ROUTES.get(order.route, (order.route, order.route))
    out.stop(
        "ROUTE_MISMATCH",
        f"Y lệnh dùng đường {route_vi} ({order.route}), nhưng {_names(wrong)} không dùng được "
        "đường này.",
        f"The order is for the {route_en} route ({order.route}), but {_names(wrong)} cannot be "
        "given that way.",
        order_id=order.id,
        route=order.route,
        product_routes=sorted({r for m in wrong for r in m.routes}),
    )


def _strength(medication: MedicationFacts) -> Strength:
    return Strength(
        Quantity(medication.strength_value, medication.strength_unit),
        Quantity(medication.per_value, medication.per_unit),
    )


def _exact(value: Fraction) -> Decimal | None:
    decimal = to_decimal(value)
    return decimal if Fraction(decimal) == value else None


# Bad formulary data (unknown unit, per 0, a float) must give a STOP, never an exception.
_DATA_ERRORS = (ValueError, TypeError, ArithmeticError)


@dataclass
class _DoseOutcome:
    summary: DoseSummary | None
    this_dose: Fraction | None  # this dose in the order's unit, for the PRN maximum


def _share(part: DoseComparison, order: OrderFacts) -> Fraction:
    """`part.scanned` as an amount of the order's unit (the comparison's units may differ)."""
    ordered = part.ordered.exact()
    given = part.scanned.exact() if part.scanned is not None else ordered
    return Fraction(order.dose_value) * (given / ordered if ordered else 1)


def _too_much(
    out: _Findings,
    comparison: DoseComparison,
    divisible: bool,
    strengths: list[Strength],
    vi: str,
    en: str,
    **data,
) -> None:
    """More scanned than is to be given: a partial unit, or a spare unit to put back."""
    if not (divisible and comparison.excess_within_one_unit):
        if not out.has("DOSE_EXCEEDED"):
            out.stop("DOSE_EXCEEDED", vi, en, **data)
        return
    give, waste = comparison.ordered, comparison.excess
    volume = None
    if strengths and all(s.same_concentration(strengths[0]) for s in strengths):
        strength = strengths[0]
        if give.dimension == strength.amount.dimension != strength.per.dimension:
            volume = _exact(
                give.exact(strength.amount.unit) / strength.amount.exact() * strength.per.exact()
            )
            volume = None if volume is None else Quantity(volume, strength.per.unit)
    extra = f" ({volume})" if volume is not None else ""
    out.warn(
        "PARTIAL_UNIT",
        f"Chỉ dùng {give}{extra} trong {comparison.scanned} đã quét. Phần còn lại {waste}: hủy "
        "hoặc bảo quản theo quy định và ghi nhận.",
        f"Give only {give}{extra} of the {comparison.scanned} scanned. The remaining {waste}: "
        "waste or keep as per policy, and document it.",
        give=give.as_data(),
        give_volume=volume.as_data() if volume is not None else None,
        waste=waste.as_data(),
        scanned=comparison.scanned.as_data(),
    )


def _check_dose(
    facts: CheckFacts, order: OrderFacts, known: list[tuple[int, ScannedUnit]], out: _Findings
) -> _DoseOutcome:
    products = [unit.product for _index, unit in known]
    medications = _medications(known)
    amount = facts.amount
    ordered = dose = given = scanned_vs_given = None
    strengths: list[Strength] = []
    try:
        ordered = Quantity(order.dose_value, order.dose_unit)
        ordered_strength = _strength(order.medication)
        packs = [
            Pack(Quantity(p.quantity, p.quantity_unit), _strength(p.medication)) for p in products
        ]
        strengths = [pack.strength for pack in packs]
        dose = compare_dose(ordered, packs, ordered_strength=ordered_strength)
        if amount is not None:
            # The nurse's mL are of the product in hand when the packs share a concentration.
            uniform = all(s.same_concentration(strengths[0]) for s in strengths)
            reference = strengths[0] if uniform else ordered_strength
            given = compare_amount(
                ordered, amount, amount_strength=reference, ordered_strength=ordered_strength
            )
            scanned_vs_given = compare_dose(amount, packs, ordered_strength=reference)
    except _DATA_ERRORS:
        dose = given = scanned_vs_given = None

    comparisons = [dose] if amount is None else [dose, given, scanned_vs_given]
    if any(c is None or c.comparison is Comparison.INCOMPARABLE for c in comparisons):
        strengths_text = ", ".join(
            dict.fromkeys(
                f"{format_decimal(m.strength_value)} {m.strength_unit}/"
                f"{format_decimal(m.per_value)} {m.per_unit}"
                for m in medications
            )
        )
        ordered_text = f"{format_decimal(order.dose_value)} {order.dose_unit}"
        amount_vi = f" (lượng định dùng {amount})" if amount is not None else ""
        amount_en = f" (amount to give {amount})" if amount is not None else ""
        out.stop(
            "DOSE_UNIT_MISMATCH",
            f"Không so được liều y lệnh {ordered_text}{amount_vi} với thuốc đã quét "
            f"({strengths_text}). Hỏi dược sĩ.",
            f"The ordered {ordered_text}{amount_en} cannot be compared with the scanned product "
            f"({strengths_text}). Ask pharmacy.",
            order_id=order.id,
            ordered={"value": format_decimal(order.dose_value), "unit": order.dose_unit},
            amount=amount.as_data() if amount is not None else None,
            strengths=strengths_text,
        )
        summary = None
        if dose is not None:
            summary = DoseSummary(dose.ordered, None, str(Comparison.INCOMPARABLE))
        elif ordered is not None:
            summary = DoseSummary(ordered, None, str(Comparison.INCOMPARABLE))
        return _DoseOutcome(summary, None)

    summary = DoseSummary(dose.ordered, dose.scanned, str(dose.comparison))
    divisible = all(m.divisible for m in medications)
    data = {
        "order_id": order.id,
        "ordered": dose.ordered.as_data(),
        "scanned": dose.scanned.as_data(),
    }
    if amount is None:
        if dose.comparison is Comparison.LESS:
            out.warn(
                "DOSE_INCOMPLETE",
                f"Đã quét {dose.scanned}, y lệnh {dose.ordered}: còn thiếu {dose.shortfall}. "
                "Quét thêm, hoặc ghi nhận liều một phần kèm lý do.",
                f"Scanned {dose.scanned} of the {dose.ordered} ordered: {dose.shortfall} short. "
                "Scan more, or record a partial dose with a reason.",
                missing=dose.shortfall.as_data(),
                **data,
            )
        elif dose.comparison is Comparison.MORE:
            _too_much(
                out,
                dose,
                divisible,
                strengths,
                f"Đã quét {dose.scanned}, nhiều hơn liều y lệnh {dose.ordered}. "
                "Bỏ bớt đơn vị thừa.",
                f"Scanned {dose.scanned}, more than the {dose.ordered} ordered. "
                "Remove the extra units.",
                **data,
            )
        # What is given: the scanned amount when short, else the ordered dose.
        short = dose.comparison is Comparison.LESS
        return _DoseOutcome(summary, _share(dose, order) if short else Fraction(order.dose_value))

    data["amount"] = amount.as_data()
    if given.comparison is Comparison.MORE:
        out.stop(
            "DOSE_EXCEEDED",
            f"Lượng định dùng {amount} nhiều hơn liều y lệnh {given.ordered}.",
            f"The amount to give, {amount}, is more than the {given.ordered} ordered.",
            **data,
        )
    elif given.comparison is Comparison.LESS:
        out.warn(
            "DOSE_INCOMPLETE",
            f"Lượng định dùng {amount} ít hơn liều y lệnh {given.ordered}. "
            "Ghi nhận liều một phần kèm lý do.",
            f"The amount to give, {amount}, is less than the {given.ordered} ordered. "
            "Record a partial dose with a reason.",
            **data,
        )
    if scanned_vs_given.comparison is Comparison.LESS:
        out.stop(
            "AMOUNT_NOT_SCANNED",
            f"Lượng định dùng {amount} nhiều hơn lượng đã quét {scanned_vs_given.scanned}. "
            "Quét mọi đơn vị sẽ dùng.",
            f"The amount to give, {amount}, is more than the {scanned_vs_given.scanned} "
            "scanned. Scan every unit you give.",
            **data,
        )
    elif scanned_vs_given.comparison is Comparison.MORE:
        _too_much(
            out,
            scanned_vs_given,
            divisible,
            strengths,
            f"Đã quét {scanned_vs_given.scanned}, nhiều hơn lượng định dùng {amount}. "
            "Bỏ bớt đơn vị thừa.",
            f"Scanned {scanned_vs_given.scanned}, more than the {amount} to give. "
            "Remove the extra units.",
            **data,
        )
    return _DoseOutcome(summary, _share(given, order))


def _prior_in_order_unit(prior: PriorDose, order: OrderFacts) -> Fraction:
    try:
        strength = _strength(order.medication)
        compared = compare_amount(
            Quantity(order.dose_value, order.dose_unit),
            Quantity(prior.amount, prior.unit),
            amount_strength=strength,
            ordered_strength=strength,
        )
    except _DATA_ERRORS:
        return Fraction(order.dose_value)
    if compared.comparison is Comparison.INCOMPARABLE:
        return Fraction(order.dose_value)
    return _share(compared, order)


def _check_prn(facts: CheckFacts, order: OrderFacts, this_dose: Fraction, out: _Findings) -> None:
    prior = [p for p in facts.prior_doses if p.order_id == order.id]
    if order.prn_min_interval_minutes and prior:
        last = max(prior, key=lambda p: p.administered_at)
        interval = timedelta(minutes=order.prn_min_interval_minutes)
        elapsed = facts.now - last.administered_at
        if elapsed < interval:
            remaining = -((elapsed - interval) // timedelta(minutes=1))
            last_vi, last_en = _clock(last.administered_at, facts)
            out.stop(
                "PRN_TOO_SOON",
                f"Liều khi cần gần nhất lúc {last_vi}; phải cách ít nhất "
                f"{order.prn_min_interval_minutes} phút. Chờ thêm {remaining} phút.",
                f"Last PRN dose at {last_en}; at least {order.prn_min_interval_minutes} minutes "
                f"must pass. Wait {remaining} more minutes.",
                order_id=order.id,
                last_given_at=_iso(last.administered_at),
                min_interval_minutes=order.prn_min_interval_minutes,
                minutes_remaining=remaining,
            )
    if order.prn_max_per_24h is None:
        return
    # A dose given exactly 24 h ago has left the rolling window.
    since = facts.now - timedelta(hours=24)
    counted = [p for p in prior if p.administered_at > since]
    total = sum((_prior_in_order_unit(p, order) for p in counted), Fraction(0)) + this_dose
    maximum = Fraction(order.prn_max_per_24h)
    if total > maximum:
        total_text = f"{format_decimal(to_decimal(total))} {order.dose_unit}"
        max_text = f"{format_decimal(order.prn_max_per_24h)} {order.dose_unit}"
        out.stop(
            "PRN_MAX_EXCEEDED",
            f"Liều này đưa tổng trong 24 giờ lên {total_text}, vượt mức tối đa {max_text}.",
            f"This dose would bring the 24-hour total to {total_text}, above the {max_text} "
            "maximum.",
            order_id=order.id,
            total={"value": format_decimal(to_decimal(total)), "unit": order.dose_unit},
            maximum={"value": format_decimal(order.prn_max_per_24h), "unit": order.dose_unit},
            doses_in_window=len(counted),
        )


def _check_schedule(
    facts: CheckFacts,
    order: OrderFacts,
    medications: list[MedicationFacts],
    admission: AdmissionFacts,
    out: _Findings,
) -> DoseFacts | None:
    dose = _nearest_dose(facts, order)
    name = order.medication.name
    if dose is None:
        out.stop(
            "NO_SCHEDULED_DOSE",
            f"Y lệnh {name} không có liều nào theo lịch quanh thời điểm này. Hỏi dược sĩ.",
            f"The {name} order has no scheduled dose around now. Ask pharmacy.",
            order_id=order.id,
        )
        return None
    due_vi, due_en = _clock(dose.due_at, facts)
    data = {"order_id": order.id, "dose_id": dose.id, "due_at": _iso(dose.due_at)}
    if dose.given or dose.state == "given":
        out.stop(
            "ALREADY_GIVEN",
            f"Liều {due_vi} đã được dùng. Không dùng lại.",
            f"The {due_en} dose has already been given. Do not give it again.",
            **data,
        )
        return dose
    time_critical = order.medication.time_critical or any(m.time_critical for m in medications)
    window = admission.time_critical_window_minutes if time_critical else admission.window_minutes
    late = facts.now - dose.due_at
    minute = timedelta(minutes=1)
    if late > timedelta(minutes=window):
        minutes = late // minute
        out.warn(
            "TOO_LATE",
            f"Trễ {minutes} phút so với giờ dùng {due_vi}.",
            f"{minutes} minutes late for the {due_en} dose.",
            minutes=minutes,
            window_minutes=window,
            **data,
        )
    elif -late > timedelta(minutes=window):
        minutes = -late // minute
        out.warn(
            "TOO_EARLY",
            f"Sớm {minutes} phút so với giờ dùng {due_vi}.",
            f"{minutes} minutes early for the {due_en} dose.",
            minutes=minutes,
            window_minutes=window,
            **data,
        )
    return dose


def _check_order(
    facts: CheckFacts, known: list[tuple[int, ScannedUnit]], all_known: bool, out: _Findings
) -> tuple[OrderFacts | None, DoseFacts | None, DoseSummary | None]:
    medications = _medications(known)
    kinds = list(dict.fromkeys((m.substance_code, m.dose_form) for m in medications))
    if len(kinds) > 1:
        names = _names(medications)
        out.stop(
            "MIXED_PRODUCTS",
            f"Đã quét nhiều thuốc khác nhau ({names}). Mỗi lần chỉ quét một thuốc.",
            f"Different medications scanned ({names}). Scan one medication at a time.",
            medications=[m.name for m in medications],
        )
        return None, None, None
    substance, form = kinds[0]
    matching = [
        o
        for o in facts.orders
        if o.medication.substance_code == substance and o.medication.dose_form == form
    ]
    if not matching:
        names = _names(medications)
        out.stop(
            "NOT_ORDERED",
            f"Không có y lệnh {names} cho người bệnh này. Không dùng.",
            f"{names} is not ordered for this patient. Do not give.",
            substance_code=substance,
            dose_form=form,
        )
        return None, None, None

    usable = [o for o in matching if _usable(o, facts.now)]
    if usable:
        order = _choose_order(facts, usable)
        requested = facts.requested_order_id
        if requested is not None and requested != order.id:
            out.warn(
                "ORDER_MISMATCH",
                f"Thuốc đã quét thuộc y lệnh {order.medication.name} (#{order.id}), không phải "
                f"y lệnh đã chọn (#{requested}). Kiểm tra lại.",
                f"The scanned medication is for the {order.medication.name} order (#{order.id}), "
                f"not the selected order (#{requested}). Check.",
                order_id=order.id,
                requested_order_id=requested,
            )
    else:
        order = max(matching, key=lambda o: (o.created_at, o.id))
        _order_status_finding(facts, order, out)

    _check_route(order, medications, out)
    outcome = _check_dose(facts, order, known, out) if all_known else _DoseOutcome(None, None)
    dose = None
    if usable:
        if order.is_prn:
            this_dose = outcome.this_dose
            _check_prn(
                facts, order, Fraction(order.dose_value) if this_dose is None else this_dose, out
            )
        else:
            dose = _check_schedule(facts, order, medications, facts.admission, out)
    return order, dose, outcome.summary


def _check_witness_slot(facts: CheckFacts, out: _Findings) -> None:
    kind = facts.witness_scan_kind
    if kind is not None and kind != "badge":
        _wrong_slot(out, "witness", kind)


def _witness_problem(facts: CheckFacts) -> str | None:
    witness = facts.witness
    if facts.witness_scan_kind is None:
        return "missing"
    if facts.witness_scan_kind != "badge":
        return "not_a_badge"
    if witness is None:
        return "unknown_badge"
    if witness.id == facts.performer.id:
        return "same_person"
    if not witness.active:
        return "inactive"
    if witness.is_pharmacist:
        return "pharmacist"
    if not witness.may_administer:
        return "not_allowed"
    if not facts.witness_pin_ok:
        return "pin"
    return None


def _check_witness(
    facts: CheckFacts, medications: list[MedicationFacts], order: OrderFacts | None, out: _Findings
) -> None:
    candidates = [*medications, *([order.medication] if order else [])]
    high_alert = [m for m in candidates if m.high_alert]
    if not high_alert:
        return
    problem = _witness_problem(facts)
    if problem is None:
        return
    names = _names(high_alert)
    extra_vi, extra_en = _WITNESS_PROBLEMS[problem]
    out.stop(
        "WITNESS_REQUIRED",
        f"{names} là thuốc nguy cơ cao: cần một điều dưỡng khác quét thẻ và nhập mã PIN.{extra_vi}",
        f"{names} is high-alert: another nurse must scan their badge and enter their PIN.{extra_en}",
        problem=problem,
        medications=list(dict.fromkeys(m.name for m in high_alert)),
    )


def _check_keyed(facts: CheckFacts, out: _Findings) -> None:
    units = [index for index, unit in enumerate(facts.units) if unit.keyed]
    patient = facts.patient_scan.keyed
    if not (patient or units):
        return
    parts_vi = [p for p, keyed in (("vòng tay", patient), ("thuốc", bool(units))) if keyed]
    parts_en = [p for p, keyed in (("wristband", patient), ("medication", bool(units))) if keyed]
    out.warn(
        "KEYED_ENTRY",
        f"Mã {' và '.join(parts_vi)} được nhập tay, không quét. Chọn lý do.",
        f"The {' and '.join(parts_en)} code{'s were' if len(parts_en) > 1 else ' was'} typed, "
        "not scanned. Choose a reason.",
        patient=patient,
        units=units,
    )


def check_administration(facts: CheckFacts) -> CheckResult:
    """The findings and verdict for what the cart scanned. Never raises for well-typed facts."""
    out = _Findings()
    _check_performer(facts, out)
    identified, in_care = _check_patient(facts, out)
    known = _check_units(facts, out)
    all_known = len(known) == len(facts.units)
    _check_witness_slot(facts, out)
    order = dose = summary = None
    if known:
        if identified:
            _check_allergies(facts, known, out)
        if in_care:
            order, dose, summary = _check_order(facts, known, all_known, out)
        _check_witness(facts, _medications(known), order, out)
    _check_keyed(facts, out)

    findings = out.ordered()
    if any(f.severity == Severity.STOP for f in findings):
        verdict = "stop"
    elif findings:
        verdict = "warn"
    else:
        verdict = "go"
    return CheckResult(
        verdict=verdict, findings=findings, order=order, dose=dose, dose_summary=summary
    )
