"""Witness rules (scanning/rules/witness.py): the second nurse who cross-checks high-alert
medication.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

from dataclasses import replace

import pytest

from tests.scanning.rules.builders import (
    NURSE,
    PARACETAMOL_500,
    SECOND_NURSE,
    STOP,
    area_codes,
    check,
    finding,
    good,
    insulin,
    not_raised,
    order,
    raised,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    (
        "WITNESS_REQUIRED",
        STOP,
        "no-witness",
        insulin("1000", witness_scan_kind=None, witness=None, witness_pin_ok=False),
    ),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("witness")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    ("WITNESS_REQUIRED", "good-witness", insulin("1000"), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("witness")


@pytest.mark.parametrize(
    ("witness_changes", "problem"),
    [
        ({"witness_scan_kind": None, "witness": None}, "missing"),
        ({"witness_scan_kind": "wristband", "witness": None}, "not_a_badge"),
        ({"witness": None}, "unknown_badge"),
        ({"witness": NURSE}, "same_person"),
        ({"witness": replace(SECOND_NURSE, active=False)}, "inactive"),
        ({"witness": replace(SECOND_NURSE, is_pharmacist=True)}, "pharmacist"),
        ({"witness": replace(SECOND_NURSE, may_administer=False)}, "not_allowed"),
        ({"witness_pin_ok": False}, "pin"),
    ],
)
def test_witness_must_be_another_active_nurse_with_badge_and_pin(witness_changes, problem):
    result = check(insulin("1000", **witness_changes))

    assert finding(result, "WITNESS_REQUIRED").data["problem"] == problem
    assert result.verdict == "stop"


def test_witness_is_not_checked_for_ordinary_medication():
    result = check(good(witness_scan_kind="badge", witness=NURSE, witness_pin_ok=False))

    assert result.verdict == "go"


def test_a_high_alert_order_needs_a_witness_whatever_the_product_flag():
    high_alert_order = order(medication=replace(PARACETAMOL_500, high_alert=True))

    result = check(good(orders=(high_alert_order,)))

    assert "WITNESS_REQUIRED" in result.codes()
