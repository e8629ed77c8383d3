"""What a nurse measures before giving a dose (heart rate before metoprolol, glucose before insulin,
a pain score before an opioid), and the order's hold parameters ("hold if HR < 60"). Pure data and
arithmetic, no Django: the order's validation, the bedside rules, the cart and the HL7/FHIR mappers
read this one table.

Each kind carries its LOINC code (OBX-3, FHIR Observation.code), its UCUM unit (OBX-6,
valueQuantity), the unit a Vietnamese ward writes, and the range a value must fall in to be taken
at all: a heart rate of 600 is a typing slip, refused with a clear error before any rule runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

LOINC_SYSTEM = "http://loinc.org"
NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?", re.ASCII)
UCUM_SYSTEM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class AssessmentKind:
    code: str
    loinc: str
    loinc_display: str
    ucum: str  # the UCUM code (valueQuantity.code, OBX-6)
    unit_vi: str  # as the ward writes it
    unit_en: str
    vi: str
    en: str
    minimum: Decimal  # the plausible range: a value outside it is refused as a slip
    maximum: Decimal
    decimals: int  # places a value may have
    vital_sign: bool  # FHIR category: vital-signs, else exam or laboratory


def _d(text: str) -> Decimal:
    return Decimal(text)


_KINDS = (
    AssessmentKind("heart_rate", "8867-4", "Heart rate", "/min", "lần/phút", "/min",
                   "mạch", "heart rate", _d("20"), _d("300"), 0, True),
    AssessmentKind("systolic_bp", "8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg", "mmHg",
                   "huyết áp tâm thu", "systolic blood pressure", _d("40"), _d("300"), 0, True),
    AssessmentKind("diastolic_bp", "8462-4", "Diastolic blood pressure", "mm[Hg]", "mmHg", "mmHg",
                   "huyết áp tâm trương", "diastolic blood pressure", _d("20"), _d("200"), 0, True),
    AssessmentKind("respiratory_rate", "9279-1", "Respiratory rate", "/min", "lần/phút", "/min",
                   "nhịp thở", "respiratory rate", _d("2"), _d("80"), 0, True),
    AssessmentKind("spo2", "59408-5",
                   "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%", "%",
                   "SpO₂", "SpO₂", _d("40"), _d("100"), 0, True),
    AssessmentKind("blood_glucose", "15074-8", "Glucose [Moles/volume] in Blood", "mmol/L",
                   "mmol/L", "mmol/L", "đường huyết", "blood glucose", _d("0.5"), _d("50"), 1, False),
    AssessmentKind("pain_score", "72514-3",
                   "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "{score}",
                   "/10", "/10", "điểm đau", "pain score", _d("0"), _d("10"), 0, False),
    AssessmentKind("inr", "6301-6", "INR in Platelet poor plasma by Coagulation assay", "{INR}",
                   "", "", "INR", "INR", _d("0.5"), _d("15"), 1, False),
    AssessmentKind("aptt", "14979-9", "aPTT in Platelet poor plasma by Coagulation assay", "s",
                   "giây", "s", "aPTT", "aPTT", _d("10"), _d("250"), 0, False),
)  # fmt: skip

ASSESSMENT_KINDS: dict[str, AssessmentKind] = {kind.code: kind for kind in _KINDS}

# "hold if HR < 60": the comparison that, when true of the value measured, holds the dose.
HOLD_OPERATORS: dict[str, str] = {
    "<": "below",
    "<=": "at or below",
    ">": "above",
    ">=": "at or above",
}


@dataclass(frozen=True)
class HoldParameter:
    kind: str
    operator: str  # a key of HOLD_OPERATORS
    limit: Decimal

    def met_by(self, value: Decimal) -> bool:
        """True when the value measured holds the dose: exactly 60 does not meet "< 60"."""
        if self.operator == "<":
            return value < self.limit
        if self.operator == "<=":
            return value <= self.limit
        if self.operator == ">":
            return value > self.limit
        return value >= self.limit

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "operator": self.operator, "value": format(self.limit, "f")}

    def text(self) -> str:
        """As written on the order and in the rule's message: "heart_rate < 60"."""
        return f"{self.kind} {self.operator} {format(self.limit.normalize(), 'f')}"


class AssessmentError(ValueError):
    """An assessment kind, value or hold parameter that cannot be taken."""


def kind_get(code: str) -> AssessmentKind:
    try:
        return ASSESSMENT_KINDS[code]
    except (KeyError, TypeError):
        raise AssessmentError(f"unknown assessment {code!r}") from None


def value_parse(code: str, value: object) -> Decimal:
    """A measured value as a Decimal within its kind's plausible range and places."""
    kind = kind_get(code)
    text = str(value).strip()
    # Plain digits only: Decimal would also take "5_5", "1e2" and other scripts' digits.
    if not NUMBER.fullmatch(text):
        raise AssessmentError(f"{kind.en}: {value!r} is not a number")
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise AssessmentError(f"{kind.en}: {value!r} is not a number") from None
    # "-0" is 0: the database keeps no negative zero, and the record is hashed before it is written.
    number = abs(number) if number.is_zero() else number
    if not kind.minimum <= number <= kind.maximum:
        raise AssessmentError(
            f"{kind.en} must be between {kind.minimum} and {kind.maximum} {kind.unit_en}".rstrip()
        )
    exponent = number.normalize().as_tuple().exponent  # "52.00" has no places
    if isinstance(exponent, int) and -exponent > kind.decimals:
        raise AssessmentError(f"{kind.en} takes {kind.decimals} decimal places at most")
    return number


def hold_parameters_parse(raw: object) -> tuple[HoldParameter, ...]:
    """An order's `hold_parameters` JSON ([{"kind", "operator", "value"}, ...]) as parameters;
    AssessmentError names the first one that cannot be taken."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise AssessmentError("hold parameters are a list")
    parameters = []
    for item in raw:
        if not isinstance(item, Mapping) or set(item) != {"kind", "operator", "value"}:
            raise AssessmentError('each hold parameter is {"kind", "operator", "value"}')
        if not isinstance(item["kind"], str) or not isinstance(item["operator"], str):
            raise AssessmentError("a hold parameter's kind and operator are text")
        if item["operator"] not in HOLD_OPERATORS:
            raise AssessmentError(f"unknown operator {item['operator']!r}")
        parameters.append(
            HoldParameter(item["kind"], item["operator"], value_parse(item["kind"], item["value"]))
        )
    return tuple(parameters)


def required_kinds_parse(raw: object) -> tuple[str, ...]:
    """An order's `assessments_required` JSON (a list of kind codes), checked, without repeats."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise AssessmentError("required assessments are a list of codes")
    codes: list[str] = []
    for code in raw:
        if not isinstance(code, str):
            raise AssessmentError(f"{code!r} is not an assessment code")
        kind_get(code)
        if code not in codes:
            codes.append(code)
    return tuple(codes)


@dataclass(frozen=True)
class OrderAssessments:
    """What an order asks measured (its listed kinds, then its hold parameters') and its holds.
    `unreadable`: its stored JSON cannot be taken (written around the order's validation): the
    bedside then refuses the dose rather than give it unchecked."""

    needed: tuple[str, ...] = ()
    holds: tuple[HoldParameter, ...] = ()
    unreadable: bool = False


PAIN_SCORE = "pain_score"


def order_assessments(
    assessments_required: object, hold_parameters: object, *, analgesic: bool = False
) -> OrderAssessments:
    """`analgesic`: a PRN order of a medication the formulary marks an analgesic
    (scanning.selectors.pain_score_asked): a pain score is asked before every dose of it, whether
    or not the order lists one."""
    try:
        holds = hold_parameters_parse(hold_parameters)
        required = required_kinds_parse(assessments_required)
        if analgesic:
            required = (PAIN_SCORE, *required)
        return OrderAssessments(kinds_needed(required, holds), holds)
    except AssessmentError:
        return OrderAssessments(unreadable=True)


def kinds_needed(required: Iterable[str], holds: Iterable[HoldParameter]) -> tuple[str, ...]:
    """What the nurse must measure: the order's required kinds, then each hold parameter's."""
    needed = list(dict.fromkeys(required))
    for hold in holds:
        if hold.kind not in needed:
            needed.append(hold.kind)
    return tuple(needed)


def before_giving_words(found: OrderAssessments, *, english: bool) -> tuple[str, str]:
    """An order's assessments and hold parameters as a pharmacist reads them: ("mạch, huyết áp
    tâm thu", "mạch < 60 lần/phút; huyết áp tâm thu < 100 mmHg"); unreadable ones say so."""
    if found.unreadable:
        unreadable = "cannot be read" if english else "không đọc được"
        return unreadable, unreadable

    def words(kind: AssessmentKind) -> str:
        return kind.en if english else kind.vi

    asked = ", ".join(words(ASSESSMENT_KINDS[code]) for code in found.needed)
    return asked, "; ".join(hold_text(hold, english=english) for hold in found.holds)


def hold_text(hold: HoldParameter, *, english: bool) -> str:
    """One hold parameter as the ward reads it: "mạch < 60 lần/phút", "heart rate < 60 /min"."""
    kind = ASSESSMENT_KINDS[hold.kind]
    parts = (
        kind.en if english else kind.vi,
        hold.operator,
        format(hold.limit.normalize(), "f"),
        kind.unit_en if english else kind.unit_vi,
    )
    return " ".join(part for part in parts if part)
