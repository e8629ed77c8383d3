"""Assessment rules (scanning/rules/assessment.py): what the order needs measured before giving,
and its hold parameters.

Pure tables, no database. Every row starts from a paracetamol order that is "go" with nothing to
measure, and changes one thing. "Metoprolol" here is the order's hold parameter on the heart rate.
"""

from decimal import Decimal as D

import pytest

from pharmacy.assessments import (
    AssessmentError,
    HoldParameter,
    hold_parameters_parse,
    kinds_needed,
    value_parse,
)
from scanning.rules import AssessmentValue
from tests.scanning.rules.builders import (
    STOP,
    area_codes,
    check,
    finding,
    good,
    not_raised,
    order,
    raised,
)

HR_BELOW_60 = HoldParameter("heart_rate", "<", D("60"))
SBP_BELOW_100 = HoldParameter("systolic_bp", "<", D("100"))
GLUCOSE_AT_OR_BELOW_4 = HoldParameter("blood_glucose", "<=", D("4"))


def measured(**values) -> tuple[AssessmentValue, ...]:
    return tuple(AssessmentValue(kind, D(str(value))) for kind, value in values.items())


def held_if(*holds: HoldParameter, needed=None, **values) -> object:
    """An order with these hold parameters (and so these kinds needed), and the values entered."""
    needed = kinds_needed(needed or (), holds)
    return good(
        orders=(order(assessments_needed=needed, hold_parameters=holds),),
        assessments=measured(**values),
    )


POSITIVE = [
    ("ASSESSMENT_REQUIRED", STOP, "hr-not-entered", held_if(HR_BELOW_60)),
    (
        "ASSESSMENT_REQUIRED",
        STOP,
        "one-of-two-missing",
        held_if(HR_BELOW_60, SBP_BELOW_100, heart_rate=72),
    ),
    ("HOLD_PARAMETER", STOP, "hr-52", held_if(HR_BELOW_60, heart_rate=52)),
    # The boundary on the inside: a beat under the limit.
    ("HOLD_PARAMETER", STOP, "hr-59", held_if(HR_BELOW_60, heart_rate=59)),
    # "at or below" holds at the limit itself.
    ("HOLD_PARAMETER", STOP, "glucose-at-4", held_if(GLUCOSE_AT_OR_BELOW_4, blood_glucose="4.0")),
    # Holds stored around the order's validation: never given unchecked.
    (
        "HOLD_PARAMETER",
        STOP,
        "unreadable",
        good(orders=(order(hold_parameters_unreadable=True),), assessments=measured(heart_rate=80)),
    ),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == "stop"


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("assessment")


NEGATIVE = [
    ("ASSESSMENT_REQUIRED", "nothing-to-measure", good(), "go"),
    ("ASSESSMENT_REQUIRED", "hr-entered", held_if(HR_BELOW_60, heart_rate=72), "go"),
    (
        "ASSESSMENT_REQUIRED",
        "listed-kind-entered",
        held_if(needed=("pain_score",), pain_score=6),
        "go",
    ),
    # The limit itself does not meet a strict "<": 60 is given under "hold if HR < 60".
    ("HOLD_PARAMETER", "hr-exactly-60", held_if(HR_BELOW_60, heart_rate=60), "go"),
    ("HOLD_PARAMETER", "glucose-4.1", held_if(GLUCOSE_AT_OR_BELOW_4, blood_glucose="4.1"), "go"),
    # A value the order does not ask for says nothing.
    ("HOLD_PARAMETER", "unasked-value", good(assessments=measured(heart_rate=40)), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("assessment")


def test_the_hold_names_the_value_and_the_order_s_limit_in_both_languages():
    result = check(held_if(HR_BELOW_60, heart_rate=52))

    found = finding(result, "HOLD_PARAMETER")
    assert found.message_vi.startswith("Tạm hoãn liều Paracetamol 500 mg: mạch 52 lần/phút")
    assert "y lệnh ghi tạm hoãn nếu mạch < 60 lần/phút" in found.message_vi
    assert found.message_en.startswith("Hold Paracetamol 500 mg: heart rate is 52 /min;")
    assert found.data == {
        "order_id": 10,
        "kind": "heart_rate",
        "value": "52",
        "operator": "<",
        "limit": "60",
        "unit": "/min",
    }


def test_the_missing_values_are_listed_for_the_cart_in_the_order_s_order():
    result = check(held_if(HR_BELOW_60, SBP_BELOW_100, needed=("pain_score",), heart_rate=80))

    found = finding(result, "ASSESSMENT_REQUIRED")
    assert found.data["needed"] == ["pain_score", "heart_rate", "systolic_bp"]
    assert found.data["missing"] == ["pain_score", "systolic_bp"]
    assert found.message_vi.endswith("cần đo và nhập: điểm đau, huyết áp tâm thu.")


def test_a_hold_is_not_judged_on_a_missing_value_but_on_the_ones_entered():
    result = check(held_if(HR_BELOW_60, SBP_BELOW_100, systolic_bp=90))

    assert {f.code for f in result.findings} == {"ASSESSMENT_REQUIRED", "HOLD_PARAMETER"}
    assert finding(result, "HOLD_PARAMETER").data["kind"] == "systolic_bp"


def test_an_order_not_usable_is_not_asked_for_values():
    facts = good(
        orders=(order(status="on_hold", assessments_needed=("heart_rate",), hold_parameters=()),),
    )

    assert "ASSESSMENT_REQUIRED" not in check(facts).codes()


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("heart_rate", "600"),  # a typing slip, not a heart rate
        ("heart_rate", "19"),
        ("heart_rate", "72.5"),  # whole beats
        ("pain_score", "11"),
        ("blood_glucose", "4.25"),
        ("spo2", "NaN"),
        ("spo2", "abc"),
        ("weight", "70"),  # not an assessment kind
    ],
)
def test_implausible_values_are_refused_before_any_rule(kind, value):
    with pytest.raises(AssessmentError):
        value_parse(kind, value)


def test_values_at_the_edges_of_the_plausible_range_are_taken():
    assert value_parse("pain_score", "0") == D("0")
    assert value_parse("pain_score", "10") == D("10")
    assert value_parse("blood_glucose", "3,9") == D("3.9")  # a Vietnamese decimal comma


@pytest.mark.parametrize(
    "raw",
    [
        "heart_rate < 60",
        [{"kind": "heart_rate", "operator": "=", "value": "60"}],
        [{"kind": "heart_rate", "operator": "<", "value": "600"}],
        [{"kind": "heart_rate", "operator": "<"}],
        [{"kind": "pulse", "operator": "<", "value": "60"}],
        [{"kind": "heart_rate", "operator": ["<"], "value": "60"}],  # once a 500
        [{"kind": ["heart_rate"], "operator": "<", "value": "60"}],
    ],
)
def test_hold_parameters_that_cannot_be_taken(raw):
    with pytest.raises(AssessmentError):
        hold_parameters_parse(raw)


def test_hold_parameters_parse():
    assert hold_parameters_parse([{"kind": "heart_rate", "operator": "<", "value": "60"}]) == (
        HR_BELOW_60,
    )
    assert hold_parameters_parse([]) == ()


def test_an_order_s_stored_json_that_cannot_be_read_is_unreadable_not_empty():
    from pharmacy.assessments import order_assessments

    assert order_assessments(["heart_rate"], "hold if HR < 60").unreadable
    assert order_assessments(["pulse"], []).unreadable
    found = order_assessments(
        ["pain_score"], [{"kind": "heart_rate", "operator": "<", "value": "60"}]
    )
    assert (found.needed, found.holds, found.unreadable) == (
        ("pain_score", "heart_rate"),
        (HR_BELOW_60,),
        False,
    )
