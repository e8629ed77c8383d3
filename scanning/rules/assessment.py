"""Assessment: what the nurse measures before giving (a heart rate before metoprolol, a glucose
before insulin), and the order's hold parameters ("hold if HR < 60"). Checked only for a usable
order (one the nurse could give).

- ASSESSMENT_REQUIRED (STOP): a kind the order needs (listed, or named by a hold parameter) has
  no value. The cart asks for the values and checks again; `needed` and `missing` list the kinds.
- HOLD_PARAMETER (STOP): a value meets a hold parameter. The limit itself does not meet a strict
  comparison: a heart rate of exactly 60 is given under "hold if HR < 60". The dose is then
  documented not given, "held for a clinical reason", with the values.
- A value the order does not ask for is taken and recorded, and says nothing.
- Hold parameters that cannot be read (stored around the order's validation) are a HOLD_PARAMETER
  of their own wording: a dose is never given unchecked against holds nobody can read.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_assessment.py.
"""

from __future__ import annotations

from pharmacy.assessments import ASSESSMENT_KINDS, AssessmentKind
from scanning.dosemath import format_decimal
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, Words
from scanning.rules.facts import CheckFacts, OrderFacts


def _kind_words(kind: AssessmentKind) -> Words:
    return Words(kind.vi, kind.en)


def _with_unit(number: str, kind: AssessmentKind) -> Words:
    return Words(f"{number} {kind.unit_vi}".rstrip(), f"{number} {kind.unit_en}".rstrip())


def _listed(kinds: list[AssessmentKind]) -> Words:
    return Words(", ".join(k.vi for k in kinds), ", ".join(k.en for k in kinds))


def check_assessments(facts: CheckFacts, order: OrderFacts, out: Findings) -> None:
    if order.hold_parameters_unreadable:
        out.add(
            FindingCode.HOLD_PARAMETER,
            {"medication": order.medication.name},
            variant="unreadable",
            order_id=order.id,
        )
        return
    if not order.assessments_needed:
        return
    measured = {value.kind: value.value for value in facts.assessments}
    missing = [code for code in order.assessments_needed if code not in measured]
    if missing:
        out.add(
            FindingCode.ASSESSMENT_REQUIRED,
            {
                "medication": order.medication.name,
                "assessments": _listed([ASSESSMENT_KINDS[code] for code in missing]),
            },
            order_id=order.id,
            needed=list(order.assessments_needed),
            missing=missing,
        )
    for hold in order.hold_parameters:
        value = measured.get(hold.kind)
        if value is None or not hold.met_by(value):
            continue
        kind = ASSESSMENT_KINDS[hold.kind]
        out.add(
            FindingCode.HOLD_PARAMETER,
            {
                "medication": order.medication.name,
                "assessment": _kind_words(kind),
                "value": _with_unit(format_decimal(value), kind),
                "rule": _with_unit(f"{hold.operator} {format_decimal(hold.limit)}", kind),
            },
            order_id=order.id,
            kind=hold.kind,
            value=format_decimal(value),
            operator=hold.operator,
            limit=format_decimal(hold.limit),
            unit=kind.ucum,
        )
