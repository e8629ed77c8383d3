"""Entry rules (scanning/rules/entry.py): what each slot holds and whether it was typed.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

import pytest

from scanning.rules import PatientScan
from tests.scanning.rules.builders import (
    SECOND_NURSE,
    STOP,
    WARN,
    area_codes,
    check,
    good,
    not_raised,
    other_kind_unit,
    raised,
    unit,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    (
        "UNKNOWN_CODE",
        STOP,
        "patient-slot",
        good(patient_scan=PatientScan("unknown", False), patient=None),
    ),
    ("UNKNOWN_CODE", STOP, "medication-slot", good(units=(unit(), other_kind_unit("unknown")))),
    ("UNKNOWN_CODE", STOP, "witness-slot", good(witness_scan_kind="unknown")),
    (
        "WRONG_SCAN_KIND",
        STOP,
        "product-in-patient-slot",
        good(patient_scan=PatientScan("medication", False), patient=None),
    ),
    (
        "WRONG_SCAN_KIND",
        STOP,
        "badge-in-patient-slot",
        good(patient_scan=PatientScan("badge", False), patient=None),
    ),
    (
        "WRONG_SCAN_KIND",
        STOP,
        "wristband-in-medication-slot",
        good(units=(unit(), other_kind_unit("wristband"))),
    ),
    (
        "WRONG_SCAN_KIND",
        STOP,
        "badge-in-medication-slot",
        good(units=(unit(), other_kind_unit("badge"))),
    ),
    ("WRONG_SCAN_KIND", STOP, "wristband-in-witness-slot", good(witness_scan_kind="wristband")),
    ("WRONG_SCAN_KIND", STOP, "product-in-witness-slot", good(witness_scan_kind="medication")),
    ("KEYED_ENTRY", WARN, "patient-keyed", good(patient_scan=PatientScan("wristband", True))),
    ("KEYED_ENTRY", WARN, "unit-keyed", good(units=(unit(keyed=True),))),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("entry")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    (
        "UNKNOWN_CODE",
        "badge-in-witness-slot",
        good(witness_scan_kind="badge", witness=SECOND_NURSE),
        "go",
    ),
    (
        "WRONG_SCAN_KIND",
        "badge-in-witness-slot",
        good(witness_scan_kind="badge", witness=SECOND_NURSE),
        "go",
    ),
    ("KEYED_ENTRY", "scanned", good(), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("entry")
