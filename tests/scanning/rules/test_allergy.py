"""Allergy rules (scanning/rules/allergy.py): the patient's allergies against the scanned
medication.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

import pytest

from scanning.rules import AllergyFacts
from tests.scanning.rules.builders import (
    AMOXICILLIN,
    STOP,
    WARN,
    area_codes,
    check,
    for_medication,
    good,
    not_raised,
    product,
    raised,
    unit,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    (
        "ALLERGY",
        STOP,
        "severe-substance",
        good(allergies=(AllergyFacts("paracetamol", "Paracetamol", "severe"),)),
    ),
    (
        "ALLERGY",
        STOP,
        "severe-class",
        for_medication(
            AMOXICILLIN,
            (unit(product(AMOXICILLIN)),),
            allergies=(AllergyFacts("penicillins", "Nhóm penicillin", "severe"),),
        ),
    ),
    *(
        (
            "ALLERGY",
            WARN,
            severity,
            good(allergies=(AllergyFacts("paracetamol", "Paracetamol", severity),)),
        )
        for severity in ("moderate", "mild", "unknown")
    ),
    (
        "ALLERGY",
        WARN,
        "moderate-class",
        for_medication(
            AMOXICILLIN,
            (unit(product(AMOXICILLIN)),),
            allergies=(AllergyFacts("penicillins", "Nhóm penicillin", "moderate"),),
        ),
    ),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("allergy")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    (
        "ALLERGY",
        "other-substance",
        good(allergies=(AllergyFacts("amoxicillin", "Amoxicillin", "severe"),)),
        "go",
    ),
    (
        "ALLERGY",
        "blank-codes-never-match",
        good(allergies=(AllergyFacts("", "?", "severe"),)),
        "go",
    ),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("allergy")
