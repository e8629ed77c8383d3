"""Dose rules (scanning/rules/dose.py): the ordered dose against the units scanned and the amount
given.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from scanning.dosemath import Quantity
from tests.scanning.rules.builders import (
    COLECALCIFEROL_IU,
    HEPARIN,
    LEVOTHYROXINE,
    PARACETAMOL_250,
    PARACETAMOL_500,
    PARACETAMOL_SYRUP,
    STOP,
    WARN,
    area_codes,
    check,
    finding,
    for_medication,
    good,
    insulin,
    not_raised,
    order,
    product,
    raised,
    unit,
    units,
    unknown_product_unit,
    with_order,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    ("DOSE_INCOMPLETE", WARN, "one-250-for-500", good(units=(unit(product(PARACETAMOL_250)),))),
    (
        "DOSE_INCOMPLETE",
        WARN,
        "amount-less",
        good(amount=Quantity(D("250"), "mg"), units=(unit(product(PARACETAMOL_250)),)),
    ),
    ("DOSE_EXCEEDED", STOP, "two-500-for-500", good(units=units(product(), 2))),
    (
        "DOSE_EXCEEDED",
        STOP,
        "amount-more",
        good(amount=Quantity(D("1000"), "mg"), units=units(product(), 2)),
    ),
    ("PARTIAL_UNIT", WARN, "insulin-6-of-1000", insulin("6")),
    ("DOSE_UNIT_MISMATCH", STOP, "iu-vs-mg", with_order(dose_value=D("1000"), dose_unit="IU")),
    ("DOSE_UNIT_MISMATCH", STOP, "amount-iu", good(amount=Quantity(D("500"), "IU"))),
    (
        "AMOUNT_NOT_SCANNED",
        STOP,
        "500-of-250-scanned",
        good(units=(unit(product(PARACETAMOL_250)),), amount=Quantity(D("500"), "mg")),
    ),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("dose")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    ("DOSE_INCOMPLETE", "two-250-for-500", good(units=units(product(PARACETAMOL_250), 2)), "go"),
    ("DOSE_EXCEEDED", "divisible-partial-unit", insulin("6"), "warn"),
    ("PARTIAL_UNIT", "not-divisible", with_order(dose_value=D("250")), "stop"),
    ("PARTIAL_UNIT", "vial-holds-the-dose", insulin("1000"), "go"),
    (
        "DOSE_UNIT_MISMATCH",
        "g-order-mg-tablets",
        with_order(dose_value=D("0.5"), dose_unit="g"),
        "go",
    ),
    ("AMOUNT_NOT_SCANNED", "amount-equals-scanned", good(amount=Quantity(D("500"), "mg")), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("dose")


def test_two_250mg_tablets_for_500mg_is_go():
    result = check(good(units=units(product(PARACETAMOL_250), 2)))

    assert result.verdict == "go"
    assert str(result.dose_summary.scanned) == "500 mg"


def test_one_250mg_tablet_for_500mg_is_dose_incomplete():
    result = check(good(units=(unit(product(PARACETAMOL_250)),)))

    assert result.verdict == "warn"
    incomplete = finding(result, "DOSE_INCOMPLETE")
    assert incomplete.data["missing"] == {"value": "250", "unit": "mg"}
    assert incomplete.message_vi == (
        "Đã quét 250 mg, y lệnh 500 mg: còn thiếu 250 mg. "
        "Quét thêm, hoặc ghi nhận liều một phần kèm lý do."
    )
    assert result.dose_summary.comparison == "less"


@pytest.mark.parametrize(("dose_value", "dose_unit"), [("0.3", "mg"), ("300", "mcg")])
def test_three_tenths_of_a_milligram_are_three_tenths(dose_value, dose_unit):
    facts = for_medication(
        LEVOTHYROXINE,
        units(product(LEVOTHYROXINE), 3),
        order_changes={"dose_value": D(dose_value), "dose_unit": dose_unit},
    )

    result = check(facts)

    assert result.verdict == "go"
    assert result.dose_summary.comparison == "equal"


def test_two_5ml_bottles_for_a_10ml_order():
    facts = for_medication(
        PARACETAMOL_SYRUP,
        units(product(PARACETAMOL_SYRUP, "5", "mL"), 2),
        order_changes={"dose_value": D("10"), "dose_unit": "mL"},
    )

    result = check(facts)

    assert result.verdict == "go"
    assert str(result.dose_summary.scanned) == "10 mL"


def test_a_mg_order_for_a_liquid_compares_through_strength():
    facts = for_medication(
        PARACETAMOL_SYRUP,
        (unit(product(PARACETAMOL_SYRUP, "5", "mL")),),
        order_changes={"dose_value": D("250"), "dose_unit": "mg"},
    )

    assert check(facts).verdict == "go"


def test_a_1g_order_and_two_500mg_tablets():
    result = check(
        good(units=units(product(), 2), orders=(order(dose_value=D("1"), dose_unit="g"),))
    )

    assert result.verdict == "go"
    assert str(result.dose_summary.ordered) == "1 g"


def test_iu_against_mg_is_dose_unit_mismatch():
    facts = for_medication(
        COLECALCIFEROL_IU,
        (unit(product(COLECALCIFEROL_IU)),),
        order_changes={"dose_value": D("0.025"), "dose_unit": "mg"},
    )

    result = check(facts)

    assert result.codes() == {"DOSE_UNIT_MISMATCH"}
    assert result.dose_summary.comparison == "incomparable"
    assert result.dose_summary.scanned is None


def test_an_each_order_counts_tablets_only_for_products_per_each():
    tablets = check(
        good(orders=(order(dose_value=D("2"), dose_unit="each"),), units=units(product(), 2))
    )
    syrup = for_medication(
        PARACETAMOL_SYRUP,
        (unit(product(PARACETAMOL_SYRUP, "5", "mL")),),
        order_changes={"dose_value": D("1"), "dose_unit": "each"},
    )

    assert tablets.verdict == "go"
    assert check(syrup).codes() == {"DOSE_UNIT_MISMATCH"}


def test_insulin_6iu_from_a_1000iu_vial_is_a_partial_unit():
    result = check(insulin("6"))

    assert result.verdict == "warn"
    assert result.codes() == {"PARTIAL_UNIT"}
    partial = finding(result, "PARTIAL_UNIT")
    assert partial.data["give"] == {"value": "6", "unit": "IU"}
    assert partial.data["give_volume"] == {"value": "0.06", "unit": "mL"}
    assert partial.data["waste"] == {"value": "994", "unit": "IU"}
    assert partial.message_en.startswith("Give only 6 IU (0.06 mL) of the 1000 IU scanned.")
    assert result.dose_summary.comparison == "more"


def test_heparin_7500iu_from_two_5000iu_vials_is_a_partial_unit():
    facts = for_medication(
        HEPARIN,
        units(product(HEPARIN, "1", "mL"), 2),
        order_changes={"dose_value": D("7500"), "dose_unit": "IU", "route": "SC"},
    )

    result = check(facts)

    assert result.codes() == {"PARTIAL_UNIT"}
    assert finding(result, "PARTIAL_UNIT").data["waste"] == {"value": "2500", "unit": "IU"}


def test_a_whole_spare_divisible_unit_is_dose_exceeded():
    result = check(insulin("6", vials=2))

    assert result.codes() == {"DOSE_EXCEEDED"}


def test_a_non_divisible_unit_holding_more_than_the_dose_is_dose_exceeded():
    result = check(with_order(dose_value=D("250")))

    assert result.verdict == "stop"
    assert result.codes() == {"DOSE_EXCEEDED"}
    assert finding(result, "DOSE_EXCEEDED").message_en == (
        "Scanned 500 mg, more than the 250 mg ordered. Remove the extra units."
    )


@pytest.mark.parametrize(
    ("amount", "scanned", "codes"),
    [
        pytest.param("6", 1, {"PARTIAL_UNIT"}, id="partial-unit-as-ordered"),
        pytest.param("4", 1, {"DOSE_INCOMPLETE", "PARTIAL_UNIT"}, id="partial-dose-from-vial"),
        pytest.param("8", 1, {"DOSE_EXCEEDED", "PARTIAL_UNIT"}, id="more-than-ordered"),
    ],
)
def test_the_amount_the_nurse_gives(amount, scanned, codes):
    result = check(insulin("6", vials=scanned, amount=Quantity(D(amount), "IU")))

    assert result.codes() == codes


def test_an_amount_in_ml_of_the_product_in_hand():
    result = check(insulin("6", amount=Quantity(D("0.06"), "mL")))

    assert result.codes() == {"PARTIAL_UNIT"}


def test_partial_dose_of_whole_tablets():
    result = check(good(units=(unit(product(PARACETAMOL_250)),), amount=Quantity(D("250"), "mg")))

    assert result.codes() == {"DOSE_INCOMPLETE"}
    assert result.verdict == "warn"


def test_no_dose_findings_when_a_unit_in_the_slot_is_not_a_known_product():
    result = check(good(units=(unit(product(PARACETAMOL_250)), unknown_product_unit())))

    assert result.codes() == {"PRODUCT_UNKNOWN"}
    assert result.dose_summary is None
    assert result.order.id == 10


def test_bad_formulary_data_is_a_stop_not_an_exception():
    broken = replace(PARACETAMOL_500, per_value=D("0"))

    result = check(good(units=(unit(product(broken)),)))

    assert result.codes() == {"DOSE_UNIT_MISMATCH"}
