"""Identity: who gives the medication, and to whom.

- PERFORMER_NOT_ALLOWED when the person scanning is inactive or may not give medication.
- A patient slot that is not a wristband (entry.py), a band that matches no patient
  (PATIENT_UNKNOWN) or a band that is not active (WRISTBAND_VOID: a reprinted or hand-voided band
  may have been on someone else, so nothing else is said about the patient) leaves the patient
  unidentified: only findings about the scans themselves follow (product unknown, expired,
  recalled, serial used, duplicate, wrong kind, witness, keyed entry, performer).
- One inactive band is the exception: the band a patient wore when the admission closed, voided by
  the discharge itself (`band_discharged_at`), while the patient has no open admission since; it
  says why the patient is out of care (PATIENT_DECEASED, else PATIENT_NOT_ADMITTED "discharged at
  …"), never "scan the current band", which does not exist. After a readmission that old band is
  WRISTBAND_VOID again.
- A known patient with an active band who is deceased, or the discharge band, identifies the
  patient: ALLERGY is still reported, but nothing that needs an open admission (ward, orders,
  doses). A deceased patient gets PATIENT_DECEASED alone, not also PATIENT_NOT_ADMITTED.
- WRONG_WARD only when the cart has a ward.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_identity.py.
"""

from __future__ import annotations

from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, clock, iso
from scanning.rules.facts import CheckFacts


def check_performer(facts: CheckFacts, out: Findings) -> None:
    performer = facts.performer
    if not (performer.active and performer.may_administer):
        out.add(FindingCode.PERFORMER_NOT_ALLOWED, performer_id=performer.id)


def check_patient(facts: CheckFacts, out: Findings) -> tuple[bool, bool]:
    """(identified, in care): a known patient with an active band; and admitted and alive."""
    if facts.patient_scan.kind != "wristband":
        return False, False  # entry.check_slots says what the slot holds
    patient = facts.patient
    if patient is None:
        out.add(FindingCode.PATIENT_UNKNOWN)
        return False, False
    # The band worn when the admission closed tells why the patient is out of care; any other
    # inactive band (reprinted, voided by hand, an earlier stay's after a readmission) may have
    # been on someone else, so it identifies nobody.
    discharged_at = (
        facts.band_discharged_at if not facts.band_active and facts.admission is None else None
    )
    if not facts.band_active and discharged_at is None:
        out.add(FindingCode.WRISTBAND_VOID)
        return False, False
    if patient.deceased:
        out.add(FindingCode.PATIENT_DECEASED, {"mrn": patient.mrn}, mrn=patient.mrn)
    admission = facts.admission
    if admission is None and not patient.deceased:
        if discharged_at is not None:
            out.add(
                FindingCode.PATIENT_NOT_ADMITTED,
                {"mrn": patient.mrn, "discharged_at": clock(discharged_at, facts)},
                variant="discharged",
                mrn=patient.mrn,
                discharged_at=iso(discharged_at),
            )
        else:
            out.add(FindingCode.PATIENT_NOT_ADMITTED, {"mrn": patient.mrn}, mrn=patient.mrn)
    in_care = admission is not None and not patient.deceased
    if (
        in_care
        and admission is not None
        and facts.cart_ward_code is not None
        and admission.ward_code != facts.cart_ward_code
    ):
        out.add(
            FindingCode.WRONG_WARD,
            {"patient_ward": admission.ward_code, "cart_ward": facts.cart_ward_code},
            patient_ward=admission.ward_code,
            cart_ward=facts.cart_ward_code,
        )
    return True, in_care
