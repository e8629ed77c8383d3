"""Allergy: the patient's recorded allergies against the scanned medication.

An allergy matches when its code names the medication's substance or its allergy class (any case,
blanks never match; the matcher is pharmacy/allergy.py, shared with the order review). Any severe match is a STOP; otherwise (moderate, mild, unknown severity) a
WARN with a reason. Reported once the patient is identified, even when the patient is out of care
(the discharge band), never for an unidentified band.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_allergy.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from pharmacy import allergy as matcher
from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, Words, medications, names
from scanning.rules.facts import AllergyFacts, CheckFacts, MedicationFacts, ScannedUnit

_SEVERITIES = {
    "severe": Words("nặng", "severe"),
    "moderate": Words("trung bình", "moderate"),
    "mild": Words("nhẹ", "mild"),
}
_UNKNOWN_SEVERITY = Words("chưa rõ mức độ", "severity unknown")


def allergies_matching(
    allergies: Iterable[AllergyFacts], medication: MedicationFacts
) -> list[AllergyFacts]:
    """The allergies naming the medication's substance or its allergy class: the rule of ALLERGY,
    which the cart's dose list also flags orders by. The matching itself is pharmacy.allergy's,
    shared with the pharmacist's order review."""
    return matcher.allergies_matching(
        allergies,
        code_of=lambda allergy: allergy.code,
        substance_code=medication.substance_code,
        allergy_class_code=medication.allergy_class_code,
    )


def check_allergies(facts: CheckFacts, known: list[tuple[int, ScannedUnit]], out: Findings) -> None:
    matched: list[tuple[AllergyFacts, MedicationFacts]] = [
        (allergy, medication)
        for allergy in facts.allergies
        for medication in medications(known)
        if allergy in allergies_matching(facts.allergies, medication)
    ]
    if not matched:
        return
    severe = any(allergy.severity == "severe" for allergy, _m in matched)
    allergies = list(dict.fromkeys(allergy for allergy, _m in matched))

    def described(language: str) -> str:
        return ", ".join(
            f"{a.name} ({getattr(_SEVERITIES.get(a.severity, _UNKNOWN_SEVERITY), language)})"
            for a in allergies
        )

    out.add(
        FindingCode.ALLERGY,
        {
            "allergies": Words(described("vi"), described("en")),
            "medications": names(medication for _a, medication in matched),
        },
        variant="severe" if severe else "default",
        allergies=[{"code": a.code, "name": a.name, "severity": a.severity} for a in allergies],
        medications=list(dict.fromkeys(m.name for _a, m in matched)),
    )
