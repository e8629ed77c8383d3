"""Witness: high-alert medication (the ordered or any scanned one) needs a second nurse to
cross-check: another active staff member who may give medication (not the performer, not a
pharmacist, not a student nurse), identified by badge scan and PIN. Checked whenever known
products were scanned, even before the patient is identified. WITNESS_REQUIRED says what is wrong with the witness given (the
variant is the `problem` in its data); what the witness slot holds is entry.py's.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_witness.py.
"""

from __future__ import annotations

from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, names
from scanning.rules.facts import CheckFacts, MedicationFacts, OrderFacts, WitnessFacts


def witness_problem(facts: CheckFacts | WitnessFacts) -> str | None:
    witness = facts.witness
    if facts.witness_scan_kind is None:
        return "missing"
    if facts.witness_scan_kind != "badge":
        return "not_a_badge"
    if witness is None:
        return "unknown_badge"
    if witness.id == facts.performer.id:
        return "same_person"
    if not witness.active:
        return "inactive"
    if witness.is_pharmacist:
        return "pharmacist"
    if witness.is_student:
        return "student"
    if not witness.may_administer:
        return "not_allowed"
    if not facts.witness_pin_ok:
        return "pin"
    return None


def check_witness(
    facts: CheckFacts, medications: list[MedicationFacts], order: OrderFacts | None, out: Findings
) -> None:
    candidates = [*medications, *([order.medication] if order else [])]
    high_alert = [m for m in candidates if m.high_alert]
    if not high_alert:
        return
    problem = witness_problem(facts)
    if problem is None:
        return
    out.add(
        FindingCode.WITNESS_REQUIRED,
        {"medications": names(high_alert)},
        variant=problem,
        problem=problem,
        medications=list(dict.fromkeys(m.name for m in high_alert)),
    )
