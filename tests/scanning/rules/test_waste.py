"""Waste rules (scanning/rules/waste.py): half a morphine ampoule given, the other half wasted
before a witness; given + wasted must be what the units held.

Pure tables, no database. Rows start from `morphine_waste()`: one 10 mg/1 mL morphine ampoule
scanned for a 5 mg IV order, 5 mg wasted, a good witness. It is "warn" (PARTIAL_UNIT, which
asks for the override REMAINDER_WASTED) and each row changes one thing.
"""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from scanning.dosemath import Quantity
from scanning.rules import ProductFacts
from scanning.rules.waste import balance
from tests.scanning.rules.builders import (
    GOOD_WITNESS,
    INSULIN,
    NURSE,
    PARACETAMOL_SYRUP,
    SECOND_NURSE,
    STOP,
    area_codes,
    check,
    finding,
    for_medication,
    medication,
    not_raised,
    raised,
    unit,
)

MORPHINE = medication(
    id=40,
    name="Morphin 10 mg/1 mL",
    substance_code="morphine",
    dose_form="injection",
    routes=frozenset({"IV", "IM", "SC"}),
    strength_value=D("10"),
    strength_unit="mg",
    per_value=D("1"),
    per_unit="mL",
    high_alert=True,
    divisible=True,
    controlled=True,
)
# A controlled drug that is not on the high-alert list: only its waste needs the witness.
CONTROLLED_ONLY = replace(MORPHINE, high_alert=False)
AMPOULE = ProductFacts(
    gtin="08930000000400", quantity=D("1"), quantity_unit="mL", medication=MORPHINE
)
NO_WITNESS = {"witness_scan_kind": None, "witness": None, "witness_pin_ok": False}


def morphine_waste(waste="5", waste_unit="mg", *, med=MORPHINE, amount=None, **changes):
    product = replace(AMPOULE, medication=med)
    return for_medication(
        med,
        (unit(product),),
        order_changes={"dose_value": D("5"), "dose_unit": "mg", "route": "IV"},
        **{
            "waste": None if waste is None else Quantity(D(waste), waste_unit),
            "amount": amount,
            **GOOD_WITNESS,
            **changes,
        },
    )


def syrup_waste(**changes):
    """Paracetamol syrup 250 mg/5 mL, 10 mL bottle (500 mg) for 250 mg: 250 mg wasted."""
    product = ProductFacts(
        gtin="08930000000042", quantity=D("10"), quantity_unit="mL", medication=PARACETAMOL_SYRUP
    )
    return for_medication(
        PARACETAMOL_SYRUP,
        (unit(product),),
        order_changes={"dose_value": D("250"), "dose_unit": "mg"},
        **{"waste": Quantity(D("250"), "mg"), **changes},
    )


# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    (
        "WASTE_WITNESS_REQUIRED",
        STOP,
        "controlled-not-high-alert-no-witness",
        morphine_waste(med=CONTROLLED_ONLY, **NO_WITNESS),
    ),
    ("WASTE_WITNESS_REQUIRED", STOP, "witness-is-the-nurse", morphine_waste(witness=NURSE)),
    ("WASTE_AMOUNT_MISMATCH", STOP, "given-plus-waste-short", morphine_waste("4")),
    # Boundary: one hundredth of a mL (0.1 mg) too much, across mg and mL.
    ("WASTE_AMOUNT_MISMATCH", STOP, "over-by-0.01-mL", morphine_waste("0.51", "mL")),
    ("WASTE_AMOUNT_MISMATCH", STOP, "units-incomparable", morphine_waste("5", "IU")),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("waste")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    # Not controlled, not high-alert: its waste is documented without a witness.
    ("WASTE_WITNESS_REQUIRED", "not-controlled", syrup_waste(), "warn"),
    (
        "WASTE_WITNESS_REQUIRED",
        "controlled-with-witness",
        morphine_waste(med=CONTROLLED_ONLY),
        "warn",
    ),
    # Boundary: exactly the ampoule, 5 mg given and 0.5 mL (5 mg) wasted.
    ("WASTE_AMOUNT_MISMATCH", "exact-across-mg-and-mL", morphine_waste("0.5", "mL"), "warn"),
    ("WASTE_AMOUNT_MISMATCH", "no-waste-documented", morphine_waste(None), "warn"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("waste")


# --- decisions the area's docstring pins ----------------------------------------------------


def test_half_an_ampoule_with_a_witness_is_only_the_partial_unit_warning():
    result = check(morphine_waste())

    assert result.codes() == {"PARTIAL_UNIT"}


@pytest.mark.parametrize(
    ("witness_changes", "problem"),
    [
        (NO_WITNESS, "missing"),
        ({"witness_scan_kind": "wristband", "witness": None}, "not_a_badge"),
        ({"witness": None}, "unknown_badge"),
        ({"witness": NURSE}, "same_person"),
        ({"witness": replace(SECOND_NURSE, active=False)}, "inactive"),
        ({"witness": replace(SECOND_NURSE, is_pharmacist=True)}, "pharmacist"),
        ({"witness": replace(SECOND_NURSE, may_administer=False)}, "not_allowed"),
        ({"witness_pin_ok": False}, "pin"),
    ],
)
def test_the_waste_witness_says_what_is_wrong(witness_changes, problem):
    result = check(morphine_waste(med=CONTROLLED_ONLY, **witness_changes))

    found = finding(result, "WASTE_WITNESS_REQUIRED")
    assert found.data["problem"] == problem
    assert found.data["medications"] == ["Morphin 10 mg/1 mL"]
    assert "Morphin 10 mg/1 mL" in found.message("vi")


def test_a_high_alert_waste_without_witness_names_both_witness_codes():
    result = check(morphine_waste(**NO_WITNESS))

    assert {"WITNESS_REQUIRED", "WASTE_WITNESS_REQUIRED"} <= result.codes()


def test_the_nurses_own_amount_counts_as_given():
    # 4 mg given (a partial dose) and 6 mg wasted: the ampoule balances.
    result = check(morphine_waste("6", amount=Quantity(D("4"), "mg")))

    assert "WASTE_AMOUNT_MISMATCH" not in result.codes()


def test_the_mismatch_shows_the_totals_in_the_medications_unit():
    found = finding(check(morphine_waste("0.4", "mL")), "WASTE_AMOUNT_MISMATCH")

    assert found.data["total"] == {"value": "9", "unit": "mg"}
    assert found.data["held"] == {"value": "10", "unit": "mg"}
    assert "9 mg" in found.message("en") and "10 mg" in found.message("vi")


def test_mL_of_units_of_different_concentrations_cannot_be_balanced():
    stronger = ProductFacts(
        gtin="08930000000417",
        quantity=D("1"),
        quantity_unit="mL",
        medication=replace(MORPHINE, id=41, strength_value=D("20")),
    )

    assert balance([AMPOULE, stronger], Quantity(D("5"), "mg"), Quantity(D("1"), "mL")) is None
    assert balance([AMPOULE, stronger], Quantity(D("5"), "mg"), Quantity(D("25"), "mg")) == (
        Quantity(D("30"), "mg"),
        Quantity(D("30"), "mg"),
    )


def test_insulin_waste_balances_in_IU():
    facts = for_medication(
        INSULIN,
        (unit(ProductFacts("08930000000066", D("10"), "mL", INSULIN)),),
        order_changes={"dose_value": D("6"), "dose_unit": "IU", "route": "SC"},
        waste=Quantity(D("994"), "IU"),
    )

    assert "WASTE_AMOUNT_MISMATCH" not in check(facts).codes()
