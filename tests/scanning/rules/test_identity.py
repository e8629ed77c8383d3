"""Identity rules (scanning/rules/identity.py): who gives the medication, and to whom: performer,
band, patient.

Pure tables, no database. Every row starts from `good()` (builders.py), which is "go", and changes
one thing.
"""

from dataclasses import replace

import pytest

from scanning.rules import AllergyFacts
from tests.scanning.rules.builders import (
    ADMISSION,
    DISCHARGED_AT,
    NURSE,
    PATIENT,
    PHARMACIST,
    STOP,
    WARN,
    area_codes,
    check,
    discharged,
    dose,
    finding,
    good,
    not_raised,
    order,
    raised,
)

# --- one row per code and condition: the code is raised with its severity -----------------

POSITIVE = [
    ("PATIENT_UNKNOWN", STOP, "no-patient-for-gsrn", good(patient=None, band_active=False)),
    ("WRISTBAND_VOID", STOP, "voided-or-superseded", good(band_active=False)),
    ("PATIENT_NOT_ADMITTED", STOP, "no-open-admission", good(admission=None, orders=(), doses=())),
    ("PATIENT_NOT_ADMITTED", STOP, "band-voided-by-discharge", discharged()),
    ("PATIENT_DECEASED", STOP, "deceased", good(patient=replace(PATIENT, deceased=True))),
    ("PATIENT_DECEASED", STOP, "deceased-and-discharged", discharged(deceased=True)),
    ("WRONG_WARD", WARN, "other-ward", good(cart_ward_code="NGOAI2")),
    ("PERFORMER_NOT_ALLOWED", STOP, "pharmacist", good(performer=PHARMACIST)),
    ("PERFORMER_NOT_ALLOWED", STOP, "inactive", good(performer=replace(NURSE, active=False))),
]


@pytest.mark.parametrize(("code", "severity", "facts"), raised(POSITIVE))
def test_code_is_raised(code, severity, facts):
    result = check(facts)

    assert {f.severity for f in result.findings if f.code == code} == {severity}
    assert result.verdict == ("stop" if result.stops() else "warn")


def test_every_code_has_a_positive_row():
    assert {code for code, *_rest in POSITIVE} == area_codes("identity")


# --- one row per code: the neighbouring situation that must NOT raise it -------------------

NEGATIVE = [
    ("PATIENT_UNKNOWN", "known-patient", good(), "go"),
    ("WRISTBAND_VOID", "active-band", good(band_active=True), "go"),
    ("WRISTBAND_VOID", "band-voided-by-discharge", discharged(units=()), "stop"),
    ("PATIENT_NOT_ADMITTED", "admitted", good(), "go"),
    ("PATIENT_DECEASED", "alive", good(), "go"),
    ("WRONG_WARD", "cart-without-ward", good(cart_ward_code=None), "go"),
    ("WRONG_WARD", "same-ward", good(cart_ward_code="NOI1"), "go"),
    ("PERFORMER_NOT_ALLOWED", "nurse", good(performer=NURSE), "go"),
]


@pytest.mark.parametrize(("code", "facts", "verdict"), not_raised(NEGATIVE))
def test_code_is_not_raised(code, facts, verdict):
    result = check(facts)

    assert code not in result.codes()
    assert result.verdict == verdict


def test_every_code_has_a_negative_row():
    assert {code for code, *_rest in NEGATIVE} == area_codes("identity")


#
# A band voided because a newer one was printed says WRISTBAND_VOID (scan the current band): it
# may have been on the wrong patient, so it identifies nobody. The band a patient wore when the
# admission closed was voided by the discharge itself: the nurse is told the patient left (or
# died), which is true, rather than to look for a band that does not exist.


def test_a_band_voided_by_discharge_says_the_patient_was_discharged():
    result = check(discharged())

    assert result.codes() == {"PATIENT_NOT_ADMITTED"}
    assert result.verdict == "stop"
    found = finding(result, "PATIENT_NOT_ADMITTED")
    assert "đã ra viện" in found.message_vi
    assert "was discharged" in found.message_en
    assert "WRISTBAND_VOID" not in result.codes()
    assert found.data["discharged_at"] == DISCHARGED_AT.isoformat()


def test_the_band_of_a_deceased_patient_says_deceased_only():
    result = check(discharged(deceased=True))

    assert result.codes() == {"PATIENT_DECEASED"}
    assert result.verdict == "stop"
    assert "tử vong" in finding(result, "PATIENT_DECEASED").message_vi


def test_an_active_band_of_a_deceased_patient_not_yet_discharged_says_deceased():
    result = check(good(patient=replace(PATIENT, deceased=True)))

    assert result.codes() == {"PATIENT_DECEASED"}


def test_a_superseded_band_of_a_discharged_patient_still_says_void():
    # the band was replaced before the discharge: it was not the band worn when the patient left
    result = check(discharged(band_discharged_at=None))

    assert result.codes() == {"WRISTBAND_VOID"}
    assert "vòng tay hiện tại" in finding(result, "WRISTBAND_VOID").message_vi


def test_a_superseded_band_of_a_deceased_patient_still_says_void():
    result = check(discharged(deceased=True, band_discharged_at=None))

    assert result.codes() == {"WRISTBAND_VOID"}


def test_the_band_of_an_earlier_stay_after_readmission_says_void():
    # discharged last month with this band, admitted again with a new one: scan the current band
    result = check(discharged(admission=ADMISSION, orders=(order(),), doses=(dose(),)))

    assert result.codes() == {"WRISTBAND_VOID"}
    assert result.order is None


def test_a_discharged_patients_allergy_is_still_reported():
    result = check(discharged(allergies=(AllergyFacts("paracetamol", "Paracetamol", "severe"),)))

    assert result.codes() == {"PATIENT_NOT_ADMITTED", "ALLERGY"}
