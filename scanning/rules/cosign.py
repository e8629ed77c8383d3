"""Co-sign: a student nurse (hospital.models.Role.STUDENT_NURSE) gives medication only with her
clinical instructor's badge scan and PIN on each record. STUDENT_COSIGN_REQUIRED is a STOP until
the instructor co-signs; its variant (the `problem` in its data) says what is wrong with the
co-signer given.

Decisions DESIGN.md leaves open (each pinned by tests/scanning/rules/test_cosign.py):

- Who co-signs: an active licensed nurse (nurse or charge nurse) in the instructor group
  (hospital.models.Role.INSTRUCTOR, `User.is_instructor`), never the student herself, never
  another student, never a pharmacist. The checks run in the witness rule's order (missing, not a
  badge, unknown badge, same person, inactive, not an instructor, PIN), so an inactive
  instructor's account is said to be inactive before anything else about her.
- Checked whenever known products were scanned, as the witness is (even before the patient is
  identified), so the cart can ask for the instructor as soon as the drug is scanned.
- A qualified nurse's records are never asked for a co-sign, and a co-signer sent with one is
  not checked and not recorded.
- A high-alert dose given by a student needs both: the witness (witness.py) and the co-sign. The
  instructor may be that witness: she is a licensed nurse at the bedside, and asking for a third
  person would keep students from high-alert drugs on a ward with one nurse on duty. She scans her
  badge in each slot (each signature is its own act). A student can never be a witness.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_cosign.py.
"""

from __future__ import annotations

from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings
from scanning.rules.facts import CheckFacts


def cosign_problem(facts: CheckFacts) -> str | None:
    """What is wrong with the co-signer given for a student's dose, or None when she co-signs."""
    cosigner = facts.cosigner
    if facts.cosigner_scan_kind is None:
        return "missing"
    if facts.cosigner_scan_kind != "badge":
        return "not_a_badge"
    if cosigner is None:
        return "unknown_badge"
    if cosigner.id == facts.performer.id:
        return "same_person"
    if not cosigner.active:
        return "inactive"
    if not cosigner.is_instructor or cosigner.is_student or cosigner.is_pharmacist:
        return "not_instructor"
    if not facts.cosigner_pin_ok:
        return "pin"
    return None


def check_cosign(facts: CheckFacts, out: Findings) -> None:
    if not facts.performer.is_student:
        return
    problem = cosign_problem(facts)
    if problem is None:
        return
    out.add(FindingCode.STUDENT_COSIGN_REQUIRED, variant=problem, problem=problem)
