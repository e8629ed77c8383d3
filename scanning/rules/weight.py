"""Weight: a dose judged per kilogram of the patient's current weight (the last weighing).

An order may be written per kg (paracetamol 15 mg/kg: the dose is that times the current weight)
and may carry a maximum per kg (max 15 mg/kg per dose), both in the order's dose unit, per dose.
Rates per kg (mcg/kg/min infusions) are not handled here yet.

Decisions DESIGN.md leaves open (pinned in tests/scanning/rules/test_weight.py):
- A per-kg order's dose is computed from the current weight exactly (15 mg/kg at 13.45 kg is
  201.75 mg), never rounded; the dose rules then compare the units scanned with it as with any
  ordered dose, and the record says that dose.
- A correction of a per-kg record is checked against the dose for the current weight (earlier
  weighings are not kept); its maximum per kg needs no check of its own there, since the dose per
  kg is within it (a database constraint) and more than the dose is DOSE_EXCEEDED.
- No weight: a per-kg order has no dose and a maximum per kg cannot be checked, so both are
  WEIGHT_REQUIRED (STOP). The dose rules are not run for a per-kg order without a weight.
- The dose judged against the maximum is the dose given: the amount the nurse gives, the units
  scanned when they are short of the order, else the ordered dose (what the PRN maximum counts).
  Exactly the maximum is allowed; any amount above it is a STOP. The message rounds the mg/kg up,
  so a dose above the maximum never reads as equal to it.
- A child is younger than `child_under_years` full years on today's local date (on the 16th
  birthday the patient is no longer a child). A child's weight measured more than
  `child_weight_max_age_days` ago is WEIGHT_STALE (WARN); exactly that many days ago is fresh.
  Only weight-based orders ask, and an adult's weight is never stale here.

Words and severities: catalogue.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_UP, Decimal
from fractions import Fraction

from scanning.dosemath import format_decimal, to_decimal
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, day
from scanning.rules.facts import CheckFacts, OrderFacts, PatientFacts


def age_in_years(born: date, on: date) -> int:
    """Full years, as a birthday counts them."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _per_kg(value: Decimal, unit: str) -> str:
    return f"{format_decimal(value)} {unit}/kg"


def weighed_order(facts: CheckFacts, order: OrderFacts, out: Findings) -> OrderFacts | None:
    """The order as the dose rules see it: a per-kg order with its dose for the current weight.
    None when a per-kg order has no weight to compute its dose from (WEIGHT_REQUIRED)."""
    if not order.weight_based:
        return order
    patient = facts.patient
    if patient is None or patient.weight_kg is None or patient.weight_measured_at is None:
        per_kg = order.dose_per_kg
        if per_kg is not None:
            out.add(
                FindingCode.WEIGHT_REQUIRED,
                {"per_kg": _per_kg(per_kg, order.dose_unit)},
                variant="per_kg",
                order_id=order.id,
            )
            return None
        maximum = order.max_dose_per_kg or Decimal(0)
        out.add(
            FindingCode.WEIGHT_REQUIRED,
            {"max": _per_kg(maximum, order.dose_unit)},
            variant="max_per_kg",
            order_id=order.id,
        )
        return order
    _check_stale(facts, patient, out)
    return dosed_for_weight(order, patient.weight_kg)


def dosed_for_weight(order: OrderFacts, weight_kg: Decimal) -> OrderFacts:
    """A per-kg order with its dose for this weight; any other order as it is."""
    if order.dose_per_kg is None:
        return order
    return replace(order, dose_value=order.dose_per_kg * weight_kg)


def _check_stale(facts: CheckFacts, patient: PatientFacts, out: Findings) -> None:
    measured_at = patient.weight_measured_at
    if patient.weight_kg is None or measured_at is None:
        return
    today = facts.now.astimezone(facts.tz).date()
    if age_in_years(patient.date_of_birth, today) >= facts.child_under_years:
        return
    if facts.now - measured_at <= timedelta(days=facts.child_weight_max_age_days):
        return
    out.add(
        FindingCode.WEIGHT_STALE,
        {
            "weight": format_decimal(patient.weight_kg),
            "weighed": day(measured_at.astimezone(facts.tz).date()),
            "days": facts.child_weight_max_age_days,
        },
        weight_kg=format_decimal(patient.weight_kg),
        weighed_at=measured_at.isoformat(),
        max_age_days=facts.child_weight_max_age_days,
    )


def check_max_per_kg(
    facts: CheckFacts, order: OrderFacts, this_dose: Fraction | None, out: Findings
) -> None:
    """`this_dose`: the dose given, in the order's unit (dose.DoseOutcome.this_dose); None when
    the dose rules could not tell it (they STOP then)."""
    patient = facts.patient
    maximum = order.max_dose_per_kg
    if maximum is None or this_dose is None or patient is None:
        return
    weight, measured_at = patient.weight_kg, patient.weight_measured_at
    if weight is None or measured_at is None:
        return  # WEIGHT_REQUIRED already
    per_kg = this_dose / Fraction(weight)
    if per_kg <= Fraction(maximum):
        return
    dose = to_decimal(this_dose)
    shown = to_decimal(per_kg).quantize(Decimal("0.01"), rounding=ROUND_UP)
    out.add(
        FindingCode.WEIGHT_DOSE_EXCEEDED,
        {
            "dose": f"{format_decimal(dose)} {order.dose_unit}",
            "per_kg": _per_kg(shown, order.dose_unit),
            "max": _per_kg(maximum, order.dose_unit),
            "weight": format_decimal(weight),
            "weighed": day(measured_at.astimezone(facts.tz).date()),
        },
        order_id=order.id,
        dose={"value": format_decimal(dose), "unit": order.dose_unit},
        dose_per_kg=format_decimal(shown),
        max_dose_per_kg=format_decimal(maximum),
        weight_kg=format_decimal(weight),
        weighed_at=measured_at.isoformat(),
    )
