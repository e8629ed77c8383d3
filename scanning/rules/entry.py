"""Entry: what each slot of the cart holds, and whether a person typed it.

The patient slot takes the wristband, the medication slot product codes, the witness slot a staff
badge. A code of no known kind is UNKNOWN_CODE, a known kind in the wrong slot WRONG_SCAN_KIND:
both STOP, nothing is guessed. A patient slot that holds no wristband identifies nobody
(identity.py then says nothing more about the patient). A code typed rather than scanned is
KEYED_ENTRY (a WARN with a reason, counted in the compliance reports); a typed medication code
without its lot and expiry is product.py's KEYED_LOT_EXPIRY_MISSING.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_entry.py.
"""

from __future__ import annotations

from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, JSONValue, Words
from scanning.rules.facts import CheckFacts

_KINDS = {
    "wristband": Words("vòng tay", "wristband"),
    "badge": Words("thẻ nhân viên", "staff badge"),
    "medication": Words("mã thuốc", "medication code"),
}


def check_slots(facts: CheckFacts, out: Findings) -> None:
    """UNKNOWN_CODE / WRONG_SCAN_KIND for the patient slot, each medication unit, the witness."""
    if facts.patient_scan.kind != "wristband":
        _wrong_slot(out, "patient", facts.patient_scan.kind)
    for index, unit in enumerate(facts.units):
        if unit.kind != "medication":
            _wrong_slot(out, "medication", unit.kind, units=[index])
    kind = facts.witness_scan_kind
    if kind is not None and kind != "badge":
        _wrong_slot(out, "witness", kind)


def _wrong_slot(out: Findings, slot: str, kind: str, **data: JSONValue) -> None:
    if kind not in _KINDS:
        out.add(FindingCode.UNKNOWN_CODE, variant=slot, slot=slot, kind=kind, **data)
        return
    out.add(
        FindingCode.WRONG_SCAN_KIND,
        {"kind": _KINDS[kind]},
        variant=slot,
        slot=slot,
        kind=kind,
        **data,
    )


def check_keyed(facts: CheckFacts, out: Findings) -> None:
    units = [index for index, unit in enumerate(facts.units) if unit.keyed]
    patient = facts.patient_scan.keyed
    if not (patient or units):
        return
    variant = "both" if patient and units else "wristband" if patient else "medication"
    out.add(FindingCode.KEYED_ENTRY, variant=variant, patient=patient, units=units)
