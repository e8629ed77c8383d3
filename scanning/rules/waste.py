"""Waste: the part of a unit that is not given (the other half of a 10 mg ampoule for a 5 mg
dose) and is destroyed at the bedside. Documented with the dose (`CheckFacts.waste`) or later
through its own service, which asks the same two questions through `waste_findings`.

- The amount given and the amount wasted together are exactly what the units scanned hold
  (exact decimals, across mg and mL through the product's strength): otherwise
  WASTE_AMOUNT_MISMATCH (STOP: a controlled drug's count must balance). Amounts that cannot be
  related to the units (IU against mg, mL of units of different concentrations) are the
  "incomparable" variant of the same STOP, never an exception.
- Waste of a controlled or high-alert medication needs a witness, the same second nurse as the
  high-alert witness (badge + PIN, not the performer, not a pharmacist): WASTE_WITNESS_REQUIRED
  (STOP), its variant saying what is wrong with the witness given. A high-alert dose with waste
  needs one witness, not two: she cross-checks the dose and watches the waste.
- No waste documented: nothing here (PARTIAL_UNIT already asks the nurse to document it).

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_waste.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from scanning.dosemath import Quantity, Strength, dimension, to_decimal
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, medications, names
from scanning.rules.dose import DATA_ERRORS, strength
from scanning.rules.facts import (
    CheckFacts,
    MedicationFacts,
    OrderFacts,
    ProductFacts,
    ScannedUnit,
    WitnessFacts,
)
from scanning.rules.witness import witness_problem


def needs_witness(medications_: Sequence[MedicationFacts]) -> list[MedicationFacts]:
    """The medications whose waste must be witnessed: controlled or high-alert."""
    return [m for m in medications_ if m.controlled or m.high_alert]


def _medication_amount(
    quantity: Quantity, unit: str, reference: Strength | None
) -> Fraction | None:
    """`quantity` as medication in `unit` (mg), or None: product (mL) only through the one
    concentration of the units (`reference`)."""
    if quantity.dimension == dimension(unit):
        return quantity.exact(unit)
    if reference is not None and quantity.dimension == reference.per.dimension:
        return reference.content(quantity).exact(unit)
    return None


def balance(
    products: Sequence[ProductFacts], given: Quantity, waste: Quantity
) -> tuple[Quantity, Quantity] | None:
    """(given + wasted, what the units hold), both in the medication's unit, or None when the
    amounts cannot be related to the units."""
    try:
        strengths = [strength(p.medication) for p in products]
        if not strengths:
            return None
        first = strengths[0]
        if any(s.amount.dimension != first.amount.dimension for s in strengths):
            return None
        unit = first.amount.unit
        held = sum(
            (
                s.content(Quantity(p.quantity, p.quantity_unit)).exact(unit)
                for s, p in zip(strengths, products, strict=True)
            ),
            Fraction(0),
        )
        # mL given or wasted mean medication only at one concentration.
        uniform = all(s.same_concentration(first) for s in strengths)
        reference = first if uniform else None
        given_part = _medication_amount(given, unit, reference)
        waste_part = _medication_amount(waste, unit, reference)
        if given_part is None or waste_part is None:
            return None
        total = to_decimal(given_part + waste_part)
        return Quantity(total, unit), Quantity(to_decimal(held), unit)
    except DATA_ERRORS:
        return None


def waste_findings(
    facts: CheckFacts | WitnessFacts,
    products: Sequence[ProductFacts],
    guarded: Sequence[MedicationFacts],
    given: Quantity,
    waste: Quantity,
    out: Findings,
) -> None:
    """The two waste rules on plain values: shared by the check and by waste documented later
    (whose facts carry only the witness)."""
    if guarded:
        problem = witness_problem(facts)
        if problem is not None:
            out.add(
                FindingCode.WASTE_WITNESS_REQUIRED,
                {"medications": names(guarded)},
                variant=problem,
                problem=problem,
                medications=list(dict.fromkeys(m.name for m in guarded)),
            )
    totals = balance(products, given, waste)
    if totals is None:
        out.add(
            FindingCode.WASTE_AMOUNT_MISMATCH,
            {"given": given, "waste": waste},
            variant="incomparable",
            given=given.as_data(),
            waste=waste.as_data(),
        )
        return
    total, held = totals
    if total != held:
        out.add(
            FindingCode.WASTE_AMOUNT_MISMATCH,
            {"given": given, "waste": waste, "total": total, "held": held},
            total=total.as_data(),
            held=held.as_data(),
            given=given.as_data(),
            waste=waste.as_data(),
        )


def check_waste(
    facts: CheckFacts, order: OrderFacts, known: list[tuple[int, ScannedUnit]], out: Findings
) -> None:
    """Waste documented with the dose: what is given is the nurse's amount, else the order's."""
    if facts.waste is None:
        return
    given = facts.amount
    if given is None:
        given = Quantity(order.dose_value, order.dose_unit)
    guarded = needs_witness([*medications(known), order.medication])
    products = [unit.product for _i, unit in known if unit.product is not None]
    waste_findings(facts, products, guarded, given, facts.waste, out)
