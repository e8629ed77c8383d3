"""Dose: the ordered dose against the units scanned and the amount the nurse gives.

The arithmetic is exact (scanning/dosemath.py). The findings:

- Dose findings need every unit in the medication slot to be a known product; an unknown or
  wrong-kind unit is already a STOP and a total without it would be wrong.
- Scanned less than ordered → DOSE_INCOMPLETE (WARN: scan more, or record a partial dose with a
  reason); more → DOSE_EXCEEDED (STOP), except that divisible units together more than the dose
  by less than their smallest unit (insulin 6 IU from a 1000 IU vial; 2 × 5000 IU for 7500 IU)
  are PARTIAL_UNIT (WARN: give part, waste or keep the rest). A whole spare unit is DOSE_EXCEEDED.
- With `amount` (what the nurse gives): more than ordered → DOSE_EXCEEDED; less →
  DOSE_INCOMPLETE; more than was scanned → AMOUNT_NOT_SCANNED (STOP: unscanned medication);
  scanned more than the amount → PARTIAL_UNIT or DOSE_EXCEEDED as above.
- Formulary data that cannot be computed with (unknown unit, strength per 0) or amounts of
  dimensions that do not meet (IU vs mg) are DOSE_UNIT_MISMATCH, never an exception.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_dose.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import NotRequired, TypedDict, TypeGuard

from scanning.dosemath import (
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
from scanning.rules.codes import FindingCode
from scanning.rules.core import DoseSummary, Findings, JSONValue, known_product, medications
from scanning.rules.facts import (
    CheckFacts,
    MedicationFacts,
    OrderFacts,
    ReplacementFacts,
    ScannedUnit,
)

# Bad formulary data (unknown unit, per 0, a float) must give a STOP, never an exception.
DATA_ERRORS = (ValueError, TypeError, ArithmeticError)


@dataclass
class DoseOutcome:
    summary: DoseSummary | None
    this_dose: Fraction | None  # this dose in the order's unit, for the PRN maximum


def strength(medication: MedicationFacts) -> Strength:
    return Strength(
        Quantity(medication.strength_value, medication.strength_unit),
        Quantity(medication.per_value, medication.per_unit),
    )


def share(part: DoseComparison, order: OrderFacts) -> Fraction:
    """`part.scanned` as an amount of the order's unit (the comparison's units may differ)."""
    ordered = part.ordered.exact()
    given = part.scanned.exact() if part.scanned is not None else ordered
    return Fraction(order.dose_value) * (given / ordered if ordered else 1)


def _exact(value: Fraction) -> Decimal | None:
    decimal = to_decimal(value)
    return decimal if Fraction(decimal) == value else None


class _DoseData(TypedDict):
    """What every dose finding of one check carries (`**data`)."""

    order_id: int
    ordered: dict[str, str]
    scanned: NotRequired[dict[str, str]]
    amount: NotRequired[dict[str, str]]


def _certain(quantity: Quantity | None) -> Quantity:
    """An amount a comparison that came out (not INCOMPARABLE) always has: its scanned total, the
    excess of a MORE, the shortfall of a LESS. None there is a bug in dosemath, raised as the
    attribute access on it did before this was typed; never reported as a finding."""
    if quantity is None:
        raise ValueError("a dose comparison that came out lacks the amount it always has")
    return quantity


def _comparable(comparison: DoseComparison | None) -> TypeGuard[DoseComparison]:
    return comparison is not None and comparison.comparison is not Comparison.INCOMPARABLE


def _too_much(
    out: Findings,
    comparison: DoseComparison,
    divisible: bool,
    strengths: list[Strength],
    variant: str,
    fields: dict[str, object],
    **data: JSONValue,
) -> None:
    """More scanned than is to be given: a partial unit, or a spare unit to put back."""
    if not (divisible and comparison.excess_within_one_unit):
        if not out.has(FindingCode.DOSE_EXCEEDED):
            out.add(FindingCode.DOSE_EXCEEDED, fields, variant=variant, **data)
        return
    # excess_within_one_unit: the comparison is MORE, so it has a scanned total and an excess.
    give, waste, scanned = comparison.ordered, _certain(comparison.excess), comparison.scanned
    volume: Quantity | None = None
    if strengths and all(s.same_concentration(strengths[0]) for s in strengths):
        first = strengths[0]
        if give.dimension == first.amount.dimension != first.per.dimension:
            volume_value = _exact(
                give.exact(first.amount.unit) / first.amount.exact() * first.per.exact()
            )
            volume = None if volume_value is None else Quantity(volume_value, first.per.unit)
    out.add(
        FindingCode.PARTIAL_UNIT,
        {"give": give, "volume": volume, "scanned": scanned, "waste": waste},
        variant="default" if volume is None else "volume",
        give=give.as_data(),
        give_volume=volume.as_data() if volume is not None else None,
        waste=waste.as_data(),
        scanned=_certain(scanned).as_data(),
    )


def check_dose(
    facts: CheckFacts | ReplacementFacts,
    order: OrderFacts,
    known: list[tuple[int, ScannedUnit]],
    out: Findings,
    *,
    spare_units_given_back: bool = False,
) -> DoseOutcome:
    """`spare_units_given_back`: units scanned beyond the amount were not given (a correction to
    less than the record said), not a spare unit still on the tray to put back."""
    products = [known_product(unit) for _index, unit in known]
    scanned_medications = medications(known)
    amount = facts.amount
    ordered: Quantity | None = None
    dose: DoseComparison | None = None
    given: DoseComparison | None = None
    scanned_vs_given: DoseComparison | None = None
    strengths: list[Strength] = []
    try:
        ordered = Quantity(order.dose_value, order.dose_unit)
        ordered_strength = strength(order.medication)
        packs = [
            Pack(Quantity(p.quantity, p.quantity_unit), strength(p.medication)) for p in products
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
    except DATA_ERRORS:
        dose = given = scanned_vs_given = None

    divisible = all(m.divisible for m in scanned_medications)
    if _comparable(dose) and amount is None:
        return _scanned_against_order(order, dose, divisible, strengths, out)
    if (
        _comparable(dose)
        and amount is not None
        and _comparable(given)
        and _comparable(scanned_vs_given)
    ):
        return _amount_against_order(
            order,
            dose,
            amount,
            given,
            scanned_vs_given,
            divisible,
            strengths,
            out,
            spare_units_given_back=spare_units_given_back,
        )
    # Any comparison that did not come out (bad formulary data, mg against IU).
    strengths_text = ", ".join(
        dict.fromkeys(
            f"{format_decimal(m.strength_value)} {m.strength_unit}/"
            f"{format_decimal(m.per_value)} {m.per_unit}"
            for m in scanned_medications
        )
    )
    out.add(
        FindingCode.DOSE_UNIT_MISMATCH,
        {
            "ordered": f"{format_decimal(order.dose_value)} {order.dose_unit}",
            "amount": amount,
            "strengths": strengths_text,
        },
        variant="scanned" if amount is None else "scanned_amount",
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
    return DoseOutcome(summary, None)


def _scanned_data(order: OrderFacts, dose: DoseComparison) -> _DoseData:
    return _DoseData(
        order_id=order.id,
        ordered=dose.ordered.as_data(),
        scanned=_certain(dose.scanned).as_data(),
    )


def _scanned_against_order(
    order: OrderFacts,
    dose: DoseComparison,
    divisible: bool,
    strengths: list[Strength],
    out: Findings,
) -> DoseOutcome:
    """No amount given: the units scanned are the dose."""
    summary = DoseSummary(dose.ordered, dose.scanned, str(dose.comparison))
    data = _scanned_data(order, dose)
    fields: dict[str, object] = {"scanned": dose.scanned, "ordered": dose.ordered}
    if dose.comparison is Comparison.LESS:
        out.add(
            FindingCode.DOSE_INCOMPLETE,
            {**fields, "missing": dose.shortfall},
            variant="scanned",
            missing=_certain(dose.shortfall).as_data(),
            **data,
        )
    elif dose.comparison is Comparison.MORE:
        _too_much(out, dose, divisible, strengths, "scanned", fields, **data)
    # What is given: the scanned amount when short, else the ordered dose.
    short = dose.comparison is Comparison.LESS
    return DoseOutcome(summary, share(dose, order) if short else Fraction(order.dose_value))


def _amount_against_order(
    order: OrderFacts,
    dose: DoseComparison,
    amount: Quantity,
    given: DoseComparison,
    scanned_vs_given: DoseComparison,
    divisible: bool,
    strengths: list[Strength],
    out: Findings,
    *,
    spare_units_given_back: bool,
) -> DoseOutcome:
    """The amount the nurse gives, against the order and against the units scanned."""
    summary = DoseSummary(dose.ordered, dose.scanned, str(dose.comparison))
    data = _scanned_data(order, dose)
    data["amount"] = amount.as_data()
    if given.comparison is Comparison.MORE:
        out.add(
            FindingCode.DOSE_EXCEEDED,
            {"amount": amount, "ordered": given.ordered},
            variant="amount",
            **data,
        )
    elif given.comparison is Comparison.LESS:
        out.add(
            FindingCode.DOSE_INCOMPLETE,
            {"amount": amount, "ordered": given.ordered},
            variant="amount",
            **data,
        )
    if scanned_vs_given.comparison is Comparison.LESS:
        out.add(
            FindingCode.AMOUNT_NOT_SCANNED,
            {"amount": amount, "scanned": scanned_vs_given.scanned},
            **data,
        )
    elif scanned_vs_given.comparison is Comparison.MORE and not spare_units_given_back:
        _too_much(
            out,
            scanned_vs_given,
            divisible,
            strengths,
            "scanned_amount",
            {"scanned": scanned_vs_given.scanned, "amount": amount},
            **data,
        )
    return DoseOutcome(summary, share(given, order))


def check_amount(facts: ReplacementFacts, order: OrderFacts, out: Findings) -> DoseOutcome:
    """An amount against the ordered dose alone (a record with no units), through the ordered
    medication's strength."""
    amount = facts.amount
    ordered = Quantity(order.dose_value, order.dose_unit)
    try:
        ordered_strength = strength(order.medication)
        given = compare_amount(
            ordered, amount, amount_strength=ordered_strength, ordered_strength=ordered_strength
        )
    except DATA_ERRORS:
        given = None
    data = _DoseData(order_id=order.id, ordered=ordered.as_data(), amount=amount.as_data())
    fields: dict[str, object] = {"amount": amount, "ordered": ordered}
    if given is None or given.comparison is Comparison.INCOMPARABLE:
        out.add(FindingCode.DOSE_UNIT_MISMATCH, fields, variant="amount", **data)
        return DoseOutcome(DoseSummary(ordered, None, str(Comparison.INCOMPARABLE)), None)
    if given.comparison is Comparison.MORE:
        out.add(FindingCode.DOSE_EXCEEDED, fields, variant="amount", **data)
    elif given.comparison is Comparison.LESS:
        out.add(FindingCode.DOSE_INCOMPLETE, fields, variant="amount", **data)
    summary = DoseSummary(ordered, given.scanned, str(given.comparison))
    return DoseOutcome(summary, share(given, order))
