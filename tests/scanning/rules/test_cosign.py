"""Co-sign rules (scanning/rules/cosign.py): a student nurse's records need her clinical
instructor's badge and PIN.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

from dataclasses import replace

import pytest

from tests.scanning.rules.builders import (
    GOOD_WITNESS,
    INSTRUCTOR,
    NURSE,
    PHARMACIST,
    SECOND_NURSE,
    STOP,
    STUDENT,
    area_codes,
    check,
    finding,
    good,
    insulin,
    not_raised,
    raised,
)

GOOD_COSIGN = {"cosigner_scan_kind": "badge", "cosigner": INSTRUCTOR, "cosigner_pin_ok": True}


def student(**changes):
    return good(performer=STUDENT, **changes)


# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    ("STUDENT_COSIGN_REQUIRED", STOP, "student-alone", student()),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("cosign")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    # The boundary: the same dose by the same student, co-signed by her instructor, is a GO.
    ("STUDENT_COSIGN_REQUIRED", "student-cosigned", student(**GOOD_COSIGN), "go"),
    ("STUDENT_COSIGN_REQUIRED", "licensed-nurse", good(), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("cosign")


@pytest.mark.parametrize(
    ("cosign_changes", "problem"),
    [
        ({"cosigner_scan_kind": None, "cosigner": None}, "missing"),
        ({"cosigner_scan_kind": "wristband", "cosigner": None}, "not_a_badge"),
        ({"cosigner": None}, "unknown_badge"),
        ({"cosigner": STUDENT}, "same_person"),
        ({"cosigner": replace(INSTRUCTOR, active=False)}, "inactive"),
        ({"cosigner": SECOND_NURSE}, "not_instructor"),
        ({"cosigner": replace(STUDENT, id=9)}, "not_instructor"),
        ({"cosigner": replace(PHARMACIST, is_instructor=True)}, "not_instructor"),
        ({"cosigner_pin_ok": False}, "pin"),
    ],
)
def test_the_cosigner_is_another_active_instructor_with_badge_and_pin(cosign_changes, problem):
    result = check(student(**{**GOOD_COSIGN, **cosign_changes}))

    assert finding(result, "STUDENT_COSIGN_REQUIRED").data["problem"] == problem
    assert result.verdict == "stop"


def test_a_nurse_is_never_asked_for_a_cosign_even_with_a_wrong_one_sent():
    result = check(good(cosigner_scan_kind="badge", cosigner=NURSE, cosigner_pin_ok=False))

    assert result.verdict == "go"


def test_a_patient_scan_alone_asks_for_no_cosign():
    result = check(student(units=()))

    assert "STUDENT_COSIGN_REQUIRED" not in result.codes()


def test_a_students_high_alert_dose_needs_the_witness_and_the_cosign():
    alone = check(insulin("1000", performer=STUDENT, witness_scan_kind=None, witness=None))
    witnessed = check(insulin("1000", performer=STUDENT, **GOOD_COSIGN, witness=SECOND_NURSE))

    assert {"WITNESS_REQUIRED", "STUDENT_COSIGN_REQUIRED"} <= alone.codes()
    assert witnessed.verdict == "go"


def test_the_instructor_may_be_the_witness_of_her_students_high_alert_dose():
    result = check(insulin("1000", performer=STUDENT, **GOOD_COSIGN, witness=INSTRUCTOR))

    assert result.verdict == "go"


def test_a_student_cannot_witness():
    result = check(insulin("1000", **{**GOOD_WITNESS, "witness": replace(STUDENT, id=9)}))

    assert finding(result, "WITNESS_REQUIRED").data["problem"] == "student"
