"""Exact dose arithmetic (scanning/dosemath.py): pure, no database."""

from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanning.dosemath import (
    Comparison,
    IncomparableUnits,
    Pack,
    Quantity,
    Strength,
    compare_amount,
    compare_dose,
    content_per_scan,
    format_decimal,
    to_decimal,
)


def q(value, unit: str) -> Quantity:
    return Quantity(D(value), unit)


def strength(amount, amount_unit, per, per_unit) -> Strength:
    return Strength(q(amount, amount_unit), q(per, per_unit))


TABLET_500 = strength("500", "mg", "1", "each")
TABLET_250 = strength("250", "mg", "1", "each")
SYRUP_250_PER_5 = strength("250", "mg", "5", "mL")
SYRUP_125_PER_5 = strength("125", "mg", "5", "mL")
INSULIN_100_PER_ML = strength("100", "IU", "1", "mL")
HEPARIN_5000_PER_ML = strength("5000", "IU", "1", "mL")
VITAMIN_D_1000_IU = strength("1000", "IU", "1", "each")


# --- Quantity ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit", "expected"),
    [
        (q("1", "g"), "mg", q("1000", "mg")),
        (q("1", "g"), "mcg", q("1000000", "mcg")),
        (q("1000000", "mcg"), "g", q("1", "g")),
        (q("0.1", "mg"), "mcg", q("100", "mcg")),
        (q("25", "mcg"), "mg", q("0.025", "mg")),
        (q("1", "L"), "mL", q("1000", "mL")),
        (q("0.4", "mL"), "L", q("0.0004", "L")),
        (q("6", "IU"), "IU", q("6", "IU")),
        (q("2", "each"), "each", q("2", "each")),
    ],
)
def test_conversion_within_a_dimension_is_exact(quantity, unit, expected):
    converted = quantity.to(unit)

    assert converted.unit == unit
    assert converted.value == expected.value


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [
        (q("1", "mg"), "IU"),
        (q("1", "IU"), "mcg"),
        (q("5", "mL"), "mg"),
        (q("1", "each"), "mg"),
        (q("1", "L"), "each"),
    ],
)
def test_conversion_across_dimensions_raises(quantity, unit):
    with pytest.raises(IncomparableUnits):
        quantity.to(unit)


def test_three_tenths_of_a_milligram_are_exactly_three_tenths():
    tenth = q("0.1", "mg")

    total = tenth + tenth + tenth

    assert total.value == D("0.3")
    assert total == q("0.3", "mg")
    assert sum([tenth] * 3) == q("300", "mcg")
    assert tenth * 3 == q("0.3", "mg")


def test_addition_converts_to_the_left_operands_unit():
    assert (q("1", "g") + q("500", "mg")).value == D("1.5")
    assert (q("500", "mg") + q("1", "g")).value == D("1500")
    with pytest.raises(IncomparableUnits):
        q("1", "mg") + q("1", "IU")


def test_equality_and_order_are_by_amount_within_a_dimension():
    assert q("1", "g") == q("1000", "mg")
    assert hash(q("1", "g")) == hash(q("1000", "mg"))
    assert q("999", "mg") < q("1", "g") <= q("1000000", "mcg")
    assert q("2", "L") > q("1999", "mL")
    assert q("1", "mg") != q("1", "IU")
    assert q("1", "mL").compare(q("0.001", "L")) is Comparison.EQUAL


def test_ordering_across_dimensions_raises():
    with pytest.raises(IncomparableUnits):
        _ = q("1", "mg") < q("1", "IU")


@pytest.mark.parametrize(
    ("value", "unit", "error"),
    [
        (0.1, "mg", TypeError),
        (True, "mg", TypeError),
        ("1", "mg", TypeError),
        (D("NaN"), "mg", ValueError),
        (D("Infinity"), "mg", ValueError),
        (D("-1"), "mg", ValueError),
        (D("1"), "tablet", ValueError),
        (D("1"), "MG", ValueError),
    ],
)
def test_quantity_refuses_floats_negatives_and_unknown_units(value, unit, error):
    with pytest.raises(error):
        Quantity(value, unit)


def test_quantity_accepts_an_int_as_a_decimal():
    assert Quantity(2, "each").value == D(2)


def test_text_is_plain_decimal():
    assert str(q("500.0000", "mg")) == "500 mg"
    assert str(q("0.30", "mg")) == "0.3 mg"
    assert format_decimal(D("1E+3")) == "1000"
    assert format_decimal(D("0.000")) == "0"
    assert q("0.060", "mL").as_data() == {"value": "0.06", "unit": "mL"}


def test_to_decimal_is_exact_for_finite_expansions():
    assert to_decimal(Fraction(3, 8)) == D("0.375")
    assert to_decimal(Fraction(10**40 + 1, 10**20)) == D(
        "100000000000000000000.00000000000000000001"
    )
    assert to_decimal(Fraction(1, 3)) == D("0.3333333333333333333333333333")


# --- what one scan holds -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "strength_", "expected"),
    [
        pytest.param(("1", "each"), ("500", "mg", "1", "each"), q("500", "mg"), id="tablet"),
        pytest.param(("10", "mL"), ("250", "mg", "5", "mL"), q("500", "mg"), id="syrup"),
        pytest.param(("10", "mL"), ("100", "IU", "1", "mL"), q("1000", "IU"), id="insulin-vial"),
        pytest.param(("1", "mL"), ("5000", "IU", "1", "mL"), q("5000", "IU"), id="heparin"),
        pytest.param(("0.4", "mL"), ("40", "mg", "0.4", "mL"), q("40", "mg"), id="enoxaparin"),
        pytest.param(("10", "mL"), ("1", "g", "10", "mL"), q("1", "g"), id="potassium-chloride"),
        pytest.param(("0.01", "L"), ("250", "mg", "5", "mL"), q("500", "mg"), id="package-in-L"),
        pytest.param(("10", "each"), ("500", "mg", "1", "each"), q("5000", "mg"), id="blister"),
    ],
)
def test_content_per_scan(package, strength_, expected):
    value, unit = package
    strength_value, strength_unit, per_value, per_unit = strength_

    content = content_per_scan(
        package_quantity=D(value),
        package_unit=unit,
        strength_value=D(strength_value),
        strength_unit=strength_unit,
        per_value=D(per_value),
        per_unit=per_unit,
    )

    assert content.unit == strength_unit
    assert content.value == expected.value


@pytest.mark.parametrize(
    ("package_unit", "per_unit"), [("each", "mL"), ("mL", "each"), ("mg", "mL"), ("IU", "mL")]
)
def test_content_per_scan_needs_a_package_in_the_per_unit(package_unit, per_unit):
    with pytest.raises(IncomparableUnits):
        content_per_scan(
            package_quantity=D(1),
            package_unit=package_unit,
            strength_value=D(100),
            strength_unit="mg",
            per_value=D(1),
            per_unit=per_unit,
        )


def test_strength_must_be_per_a_positive_amount():
    with pytest.raises(ValueError, match="positive"):
        strength("1", "mg", "0", "mL")


def test_same_concentration_compares_ratios_across_units():
    assert strength("1", "g", "10", "mL").same_concentration(strength("100", "mg", "1", "mL"))
    assert not SYRUP_250_PER_5.same_concentration(SYRUP_125_PER_5)
    assert not TABLET_500.same_concentration(SYRUP_250_PER_5)


# --- ordered against scanned ---------------------------------------------------------------


def pack(value, unit, strength_: Strength) -> Pack:
    return Pack(q(value, unit), strength_)


@pytest.mark.parametrize(
    ("ordered", "packs", "ordered_strength", "comparison", "common"),
    [
        pytest.param(
            q("500", "mg"),
            [pack("1", "each", TABLET_250)] * 2,
            TABLET_500,
            "equal",
            "mg",
            id="two-250mg-tablets-for-500mg",
        ),
        pytest.param(
            q("500", "mg"),
            [pack("1", "each", TABLET_250)],
            TABLET_500,
            "less",
            "mg",
            id="one-250mg-tablet-for-500mg",
        ),
        pytest.param(
            q("1", "g"),
            [pack("1", "each", TABLET_500)] * 2,
            TABLET_500,
            "equal",
            "g",
            id="1g-order-two-500mg",
        ),
        pytest.param(
            q("10", "mL"),
            [pack("5", "mL", SYRUP_250_PER_5)] * 2,
            SYRUP_250_PER_5,
            "equal",
            "mL",
            id="10mL-order-two-5mL",
        ),
        pytest.param(
            q("500", "mg"),
            [pack("5", "mL", SYRUP_250_PER_5)] * 2,
            SYRUP_250_PER_5,
            "equal",
            "mg",
            id="mg-order-liquid-via-strength",
        ),
        pytest.param(
            q("10", "mL"),
            [pack("5", "mL", SYRUP_125_PER_5)] * 2,
            SYRUP_250_PER_5,
            "less",
            "mg",
            id="mL-order-other-concentration-compares-medication",
        ),
        pytest.param(
            q("2", "each"),
            [pack("1", "each", TABLET_500)] * 2,
            TABLET_500,
            "equal",
            "each",
            id="each-order-counts-tablets",
        ),
        pytest.param(
            q("1", "each"),
            [pack("1", "each", TABLET_250)] * 2,
            TABLET_500,
            "equal",
            "mg",
            id="one-500mg-tablet-as-two-250mg",
        ),
        pytest.param(
            q("1", "each"),
            [pack("5", "mL", SYRUP_250_PER_5)],
            SYRUP_250_PER_5,
            "incomparable",
            None,
            id="each-order-liquid-product",
        ),
        pytest.param(
            q("0.025", "mg"),
            [pack("1", "each", VITAMIN_D_1000_IU)],
            None,
            "incomparable",
            None,
            id="mg-vs-IU",
        ),
        pytest.param(
            q("5", "mL"),
            [pack("1", "each", TABLET_500)],
            TABLET_500,
            "incomparable",
            None,
            id="mL-vs-tablet-no-strength-relation",
        ),
        pytest.param(
            q("6", "IU"),
            [pack("10", "mL", INSULIN_100_PER_ML)],
            INSULIN_100_PER_ML,
            "more",
            "IU",
            id="insulin-vial-more",
        ),
        pytest.param(
            q("0.3", "mg"),
            [pack("1", "each", strength("0.1", "mg", "1", "each"))] * 3,
            None,
            "equal",
            "mg",
            id="three-0.1mg",
        ),
        pytest.param(
            q("300", "mcg"),
            [pack("1", "each", strength("0.1", "mg", "1", "each"))] * 3,
            None,
            "equal",
            "mcg",
            id="three-0.1mg-for-300mcg",
        ),
    ],
)
def test_compare_dose(ordered, packs, ordered_strength, comparison, common):
    result = compare_dose(ordered, packs, ordered_strength=ordered_strength)

    assert result.comparison == comparison
    if common is None:
        assert result.scanned is None
    else:
        assert result.ordered.unit == result.scanned.unit == common


def test_compare_dose_reports_amounts_in_the_common_unit():
    result = compare_dose(
        q("10", "mL"), [pack("5", "mL", SYRUP_250_PER_5)] * 2, ordered_strength=SYRUP_250_PER_5
    )

    assert result.ordered == q("10", "mL")
    assert result.scanned == q("10", "mL")
    assert result.units == (q("5", "mL"), q("5", "mL"))


def test_without_ordered_strength_volume_compares_only_at_one_concentration():
    same = compare_dose(q("10", "mL"), [pack("5", "mL", SYRUP_250_PER_5)] * 2)
    mixed = compare_dose(
        q("10", "mL"), [pack("5", "mL", SYRUP_250_PER_5), pack("5", "mL", SYRUP_125_PER_5)]
    )

    assert same.comparison is Comparison.EQUAL
    assert mixed.comparison is Comparison.INCOMPARABLE


def test_thirds_add_up_exactly():
    a_third = strength("100", "mg", "3", "mL")

    result = compare_dose(q("100", "mg"), [pack("1", "mL", a_third)] * 3)

    assert result.comparison is Comparison.EQUAL


@pytest.mark.parametrize(
    ("ordered", "packs", "within"),
    [
        pytest.param(q("6", "IU"), [pack("10", "mL", INSULIN_100_PER_ML)], True, id="one-vial"),
        pytest.param(
            q("7500", "IU"), [pack("1", "mL", HEPARIN_5000_PER_ML)] * 2, True, id="second-vial-part"
        ),
        pytest.param(
            q("5000", "IU"), [pack("1", "mL", HEPARIN_5000_PER_ML)] * 2, False, id="spare-vial"
        ),
        pytest.param(
            q("6", "IU"), [pack("10", "mL", INSULIN_100_PER_ML)] * 2, False, id="spare-insulin"
        ),
    ],
)
def test_excess_within_one_unit(ordered, packs, within):
    result = compare_dose(ordered, packs)

    assert result.comparison is Comparison.MORE
    assert result.excess_within_one_unit is within


def test_excess_and_shortfall():
    more = compare_dose(q("6", "IU"), [pack("10", "mL", INSULIN_100_PER_ML)])
    less = compare_dose(q("500", "mg"), [pack("1", "each", TABLET_250)])

    assert more.excess == q("994", "IU")
    assert more.shortfall is None
    assert less.shortfall == q("250", "mg")
    assert less.excess is None


def test_no_packs_is_less():
    assert compare_dose(q("500", "mg"), []).comparison is Comparison.LESS


@pytest.mark.parametrize(
    ("ordered", "amount", "amount_strength", "ordered_strength", "comparison"),
    [
        (q("250", "mg"), q("5", "mL"), SYRUP_250_PER_5, SYRUP_250_PER_5, "equal"),
        (q("5", "mL"), q("250", "mg"), SYRUP_250_PER_5, SYRUP_250_PER_5, "equal"),
        (q("10", "mL"), q("5", "mL"), SYRUP_125_PER_5, SYRUP_250_PER_5, "less"),
        (q("6", "IU"), q("0.06", "mL"), INSULIN_100_PER_ML, INSULIN_100_PER_ML, "equal"),
        (q("500", "mg"), q("0.5", "g"), None, None, "equal"),
        (q("500", "mg"), q("6", "IU"), TABLET_500, TABLET_500, "incomparable"),
    ],
)
def test_compare_amount(ordered, amount, amount_strength, ordered_strength, comparison):
    result = compare_amount(
        ordered, amount, amount_strength=amount_strength, ordered_strength=ordered_strength
    )

    assert result.comparison == comparison


# --- properties ----------------------------------------------------------------------------

DIMENSION_UNITS = [("mcg", "mg", "g"), ("mL", "L"), ("IU",), ("each",)]
amounts = st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def same_dimension_units(draw):
    units = draw(st.sampled_from(DIMENSION_UNITS))
    return draw(st.sampled_from(units)), draw(st.sampled_from(units))


@settings(max_examples=200)
@given(value=amounts, units=same_dimension_units())
def test_conversion_round_trips_exactly(value, units):
    first, second = units
    quantity = Quantity(value, first)

    there = quantity.to(second)
    back = there.to(first)

    assert back.value == value
    assert there == quantity
    assert Fraction(there.value) == quantity.exact(second)


@settings(max_examples=200)
@given(
    value=amounts,
    unit=st.sampled_from(sorted({u for us in DIMENSION_UNITS for u in us})),
    count=st.integers(min_value=0, max_value=50),
)
def test_sum_of_n_equal_units_is_n_times_the_unit(value, unit, count):
    one = Quantity(value, unit)

    total = sum([one] * count, Quantity(D(0), unit))

    assert total == one * count
    assert total.value == value * count


@settings(max_examples=200)
@given(a=amounts, b=amounts, units=same_dimension_units())
def test_comparison_matches_exact_fractions(a, b, units):
    first, second = Quantity(a, units[0]), Quantity(b, units[1])
    exact_first, exact_second = first.exact(units[0]), second.exact(units[0])

    assert (first < second) == (exact_first < exact_second)
    assert (first == second) == (exact_first == exact_second)
    assert (first > second) == (exact_first > exact_second)


# --- how many of the ordered form's units make a dose (the pharmacist's check) ---------------


@pytest.mark.parametrize(
    ("dose", "strength_", "form", "divisible", "units", "whole"),
    [
        pytest.param(
            q("250", "mg"), TABLET_500, "capsule", False, Fraction(1, 2), False, id="half-capsule"
        ),
        pytest.param(q("1", "g"), TABLET_500, "tablet", False, Fraction(2), True, id="two-tablets"),
        pytest.param(
            q("250", "mg"), TABLET_500, "tablet", False, Fraction(1, 2), False, id="unscored-half"
        ),
        pytest.param(
            q("250", "mg"), TABLET_500, "tablet", True, Fraction(1, 2), True, id="scored-half"
        ),
        pytest.param(
            q("125", "mg"), TABLET_500, "tablet", True, Fraction(1, 4), False, id="scored-quarter"
        ),
        pytest.param(
            q("750", "mg"),
            TABLET_500,
            "tablet_er",
            True,
            Fraction(3, 2),
            False,
            id="er-never-split",
        ),
        pytest.param(
            q("250", "mg"),
            TABLET_500,
            "capsule",
            True,
            Fraction(1, 2),
            False,
            id="capsule-marked-divisible",
        ),
        pytest.param(
            q("7500", "IU"),
            strength("5000", "IU", "1", "each"),
            "powder_injection",
            True,
            Fraction(3, 2),
            True,
            id="vial-part",
        ),
        pytest.param(
            q("7500", "IU"),
            strength("5000", "IU", "1", "each"),
            "powder_injection",
            False,
            Fraction(3, 2),
            False,
            id="vial-not-divisible",
        ),
        pytest.param(
            q("6", "IU"),
            INSULIN_100_PER_ML,
            "injection",
            True,
            Fraction(6, 100),
            True,
            id="liquid-any-volume",
        ),
        pytest.param(
            q("7", "mL"),
            SYRUP_250_PER_5,
            "oral_solution",
            False,
            Fraction(7),
            True,
            id="ml-ordered",
        ),
        pytest.param(
            q("1", "each"), TABLET_500, "tablet", False, Fraction(1), True, id="count-ordered"
        ),
        pytest.param(
            q("0.5", "each"), TABLET_500, "capsule", False, Fraction(1, 2), False, id="half-counted"
        ),
    ],
)
def test_units_for_a_dose(dose, strength_, form, divisible, units, whole):
    from scanning.dosemath import units_for_dose

    found = units_for_dose(dose, strength_, dose_form=form, divisible=divisible)

    assert found.units == units
    assert found.whole is whole


def test_units_for_an_incomparable_dose_are_unknown():
    from scanning.dosemath import units_for_dose

    found = units_for_dose(q("500", "IU"), TABLET_500, dose_form="tablet", divisible=False)

    assert found.units is None
    assert found.whole is False
