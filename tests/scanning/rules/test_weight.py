"""Weight rules (scanning/rules/weight.py): doses per kilogram of the current weight.

Pure tables, no database. Every row starts from `child()`: a seven-year-old weighing 20 kg,
weighed two days ago, given one paracetamol 500 mg tablet for an order of 500 mg with a maximum
of 25 mg/kg (exactly the maximum: "go"), and changes one thing.
"""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from scanning.dosemath import Quantity
from scanning.rules import OVERRIDE_REASONS
from scanning.rules.weight import age_in_years
from tests.scanning.rules.builders import (
    MINUTE,
    NOW,
    PARACETAMOL_250,
    PARACETAMOL_SYRUP,
    PATIENT,
    STOP,
    WARN,
    area_codes,
    check,
    finding,
    good,
    not_raised,
    order,
    product,
    raised,
    unit,
    units,
)

DAY = timedelta(days=1)
CHILD = replace(
    PATIENT,
    full_name="Lê Minh Khang",
    date_of_birth=date(2019, 1, 10),
    weight_kg=D("20"),
    weight_measured_at=NOW - 2 * DAY,
)


def child(*, weight="20", weighed_ago=2 * DAY, born=date(2019, 1, 10), **order_changes):
    weighed = weight is not None
    patient = replace(
        CHILD,
        date_of_birth=born,
        weight_kg=D(weight) if weighed else None,
        weight_measured_at=NOW - weighed_ago if weighed else None,
    )
    return good(patient=patient, orders=(order(**{"max_dose_per_kg": D("25"), **order_changes}),))


def per_kg(per_kg_value="25", **changes):
    return child(dose_per_kg=D(per_kg_value), max_dose_per_kg=None, **changes)


POSITIVE = [
    # 500 mg for 20 kg is 25 mg/kg, above a maximum of 15 mg/kg.
    ("WEIGHT_DOSE_EXCEEDED", STOP, "25-of-max-15", child(max_dose_per_kg=D("15"))),
    # The boundary: 500 mg for 19.99 kg is 25.01 mg/kg, a hair above 25.
    ("WEIGHT_DOSE_EXCEEDED", STOP, "a-hair-above", child(weight="19.99")),
    ("WEIGHT_REQUIRED", STOP, "per-kg-never-weighed", per_kg(weight=None)),
    ("WEIGHT_REQUIRED", STOP, "max-never-weighed", child(weight=None)),
    ("WEIGHT_STALE", WARN, "child-weighed-10-days-ago", child(weighed_ago=10 * DAY)),
    # The boundary: a minute older than the seven days.
    ("WEIGHT_STALE", WARN, "7-days-and-a-minute", child(weighed_ago=7 * DAY + MINUTE)),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("weight")


NEGATIVE = [
    # Exactly the maximum is allowed: 500 mg for 20 kg is 25 mg/kg.
    ("WEIGHT_DOSE_EXCEEDED", "exactly-the-maximum", child(), "go"),
    ("WEIGHT_DOSE_EXCEEDED", "no-maximum", child(max_dose_per_kg=None), "go"),
    ("WEIGHT_DOSE_EXCEEDED", "heavier", child(weight="40", max_dose_per_kg=D("15")), "go"),
    ("WEIGHT_REQUIRED", "per-kg-weighed", per_kg(), "go"),
    ("WEIGHT_REQUIRED", "not-weight-based", child(weight=None, max_dose_per_kg=None), "go"),
    ("WEIGHT_STALE", "exactly-7-days", child(weighed_ago=7 * DAY), "go"),
    # On the 16th birthday the patient is no longer a child.
    (
        "WEIGHT_STALE",
        "16th-birthday",
        child(weighed_ago=300 * DAY, born=date(2010, 3, 14)),
        "go",
    ),
    ("WEIGHT_STALE", "not-weight-based", child(weighed_ago=300 * DAY, max_dose_per_kg=None), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("weight")


# --- the decisions the module docstring lists ----------------------------------------------


def test_the_stop_says_the_mg_per_kg_the_weight_and_its_date():
    result = check(child(max_dose_per_kg=D("15")))

    found = finding(result, "WEIGHT_DOSE_EXCEEDED")
    assert found.message_vi == (
        "Liều 500 mg tương đương 25 mg/kg với cân nặng 20 kg (cân ngày 12/03/2026), vượt quá liều tối "
        "đa 15 mg/kg của y lệnh. Không được dùng; báo bác sĩ."
    )
    assert found.message_en == (
        "A dose of 500 mg is 25 mg/kg at the weight of 20 kg (weighed on 12 Mar 2026), above "
        "the order's maximum of 15 mg/kg. Do not give it; tell the prescriber."
    )
    assert found.data["dose_per_kg"] == "25"
    assert found.data["max_dose_per_kg"] == "15"
    assert found.data["weight_kg"] == "20"


def test_the_mg_per_kg_shown_is_rounded_up_so_a_hair_above_never_reads_as_the_maximum():
    found = finding(check(child(weight="19.999")), "WEIGHT_DOSE_EXCEEDED")

    assert found.data["dose_per_kg"] == "25.01"


def test_a_per_kg_order_is_dosed_from_the_current_weight():
    result = check(per_kg("25", weight="20"))

    assert result.verdict == "go"
    assert result.order.dose_value == D("500")
    assert str(result.dose_summary.ordered) == "500 mg"


def test_a_per_kg_dose_is_exact_not_rounded():
    # 15 mg/kg at 13.45 kg is 201.75 mg: one 250 mg tablet is more than that.
    result = check(per_kg("15", weight="13.45"))

    assert str(result.dose_summary.ordered) == "201.75 mg"
    assert "DOSE_EXCEEDED" in result.codes()


def test_a_per_kg_order_lighter_child_gets_less():
    # 25 mg/kg at 10 kg is 250 mg: one 500 mg tablet is too much, one 250 mg tablet is right.
    too_much = check(per_kg("25", weight="10"))
    right = check(replace(per_kg("25", weight="10"), units=(unit(product(PARACETAMOL_250)),)))

    assert "DOSE_EXCEEDED" in too_much.codes()
    assert right.verdict == "go"


def test_a_per_kg_order_without_a_weight_runs_no_dose_rule():
    result = check(per_kg(weight=None))

    assert result.codes() == {"WEIGHT_REQUIRED"}
    assert result.dose_summary is None
    assert finding(result, "WEIGHT_REQUIRED").message_en.startswith(
        "The order is per kg (25 mg/kg) but the patient has no weight."
    )


def test_a_maximum_without_a_weight_still_checks_the_dose():
    result = check(child(weight=None))

    assert result.codes() == {"WEIGHT_REQUIRED"}
    assert result.dose_summary.comparison == "equal"
    assert "maximum of 25 mg/kg" in finding(result, "WEIGHT_REQUIRED").message_en


def test_the_amount_given_is_what_is_judged_against_the_maximum():
    # A 250 mg/5 mL syrup, two 5 mL units, 500 mg ordered: giving 300 mg is 15 mg/kg at 20 kg.
    syrup = order(
        medication=PARACETAMOL_SYRUP,
        dose_value=D("500"),
        max_dose_per_kg=D("15"),
    )
    base = replace(
        child(),
        orders=(syrup,),
        units=units(product(PARACETAMOL_SYRUP, "5", "mL"), 2),
    )
    at_max = check(replace(base, amount=Quantity(D("300"), "mg")))
    above = check(replace(base, amount=Quantity(D("301"), "mg")))

    assert "WEIGHT_DOSE_EXCEEDED" not in at_max.codes()
    assert "WEIGHT_DOSE_EXCEEDED" in above.codes()


def test_units_short_of_the_order_are_judged_as_scanned():
    # 1000 mg ordered, one 500 mg tablet scanned: 25 mg/kg at 20 kg, the maximum.
    result = check(child(dose_value=D("1000")))

    assert "WEIGHT_DOSE_EXCEEDED" not in result.codes()
    assert "DOSE_INCOMPLETE" in result.codes()


def test_the_stale_warning_says_the_weight_and_its_date():
    found = finding(check(child(weighed_ago=10 * DAY)), "WEIGHT_STALE")

    assert found.message_vi == (
        "Cân nặng 20 kg được cân ngày 04/03/2026, đã quá 7 ngày. Trẻ em cần được cân lại để "
        "tính liều theo cân nặng."
    )
    assert found.data["max_age_days"] == 7


def test_the_child_age_and_the_weight_age_are_the_hospitals_settings():
    facts = child(weighed_ago=10 * DAY)

    assert "WEIGHT_STALE" not in check(replace(facts, child_weight_max_age_days=14)).codes()
    assert "WEIGHT_STALE" not in check(replace(facts, child_under_years=7)).codes()
    assert "WEIGHT_STALE" in check(replace(facts, child_under_years=8)).codes()


def test_the_stale_weight_can_be_overridden_when_the_child_cannot_be_weighed():
    assert "CANNOT_WEIGH_NOW" in OVERRIDE_REASONS["WEIGHT_STALE"]


@pytest.mark.parametrize(
    ("born", "on", "years"),
    [
        (date(2010, 3, 14), date(2026, 3, 14), 16),
        (date(2010, 3, 15), date(2026, 3, 14), 15),
        (date(2012, 2, 29), date(2026, 2, 28), 13),
        (date(2012, 2, 29), date(2026, 3, 1), 14),
    ],
)
def test_age_counts_full_years(born, on, years):
    assert age_in_years(born, on) == years
