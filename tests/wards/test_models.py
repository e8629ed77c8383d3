from datetime import timedelta

import pytest
from django.utils import timezone

from tests.constraints import assert_refused_twice
from tests.factories import (
    AdmissionFactory,
    AllergyFactory,
    BedFactory,
    PatientFactory,
    PharmacistFactory,
    WardFactory,
    WristbandFactory,
)
from wards.models import Admission, Allergy, Patient, Wristband

pytestmark = pytest.mark.django_db


def test_second_open_admission_for_a_patient_is_refused():
    # given
    first = AdmissionFactory()
    # when / then
    second = Admission(
        patient=first.patient,
        ward=first.ward,
        hospital=first.hospital,
        mrn=first.mrn,
        admitted_at=timezone.now(),
    )
    assert_refused_twice(second)


def test_a_discharged_admission_does_not_block_readmission():
    earlier = AdmissionFactory(discharged_at=timezone.now())
    again = Admission(
        patient=earlier.patient,
        ward=earlier.ward,
        hospital=earlier.hospital,
        mrn=earlier.mrn,
        admitted_at=timezone.now(),
    )
    again.full_clean()
    again.save()
    assert earlier.patient.admissions.count() == 2


def test_two_open_admissions_in_one_bed_are_refused():
    bed = BedFactory()
    AdmissionFactory(ward=bed.ward, bed=bed)
    patient = PatientFactory()
    other = Admission(
        patient=patient,
        ward=bed.ward,
        hospital=bed.ward.hospital,
        bed=bed,
        mrn=patient.mrn,
        admitted_at=timezone.now(),
    )
    assert_refused_twice(other)


def test_discharge_before_admission_is_refused():
    admission = AdmissionFactory.build(
        patient=PatientFactory(), ward=WardFactory(), admitted_at=timezone.now()
    )
    admission.discharged_at = admission.admitted_at - timedelta(minutes=1)
    assert_refused_twice(admission)


def test_patient_sex_must_be_a_known_code():
    patient = PatientFactory.build(sex="X")
    assert_refused_twice(patient)


def test_patient_gsrn_must_have_18_digits():
    patient = PatientFactory.build(gsrn="95200010000000101")
    assert_refused_twice(patient)


def test_mrn_is_unique():
    existing = PatientFactory()
    duplicate = PatientFactory.build(mrn=existing.mrn)
    assert_refused_twice(duplicate)


def test_allergy_severity_must_be_known():
    allergy = AllergyFactory.build(patient=PatientFactory(), severity="deadly")
    assert_refused_twice(allergy)


def test_same_allergen_twice_for_a_patient_is_refused():
    first = AllergyFactory()
    second = Allergy(patient=first.patient, allergen_code=first.allergen_code, allergen_name="x")
    assert_refused_twice(second)


def test_second_active_wristband_for_an_admission_is_refused():
    band = WristbandFactory()
    second = Wristband(
        patient=band.patient,
        admission=band.admission,
        instance=band.instance + 1,
        printed_at=timezone.now(),
        printed_by=band.printed_by,
    )
    assert_refused_twice(second)


def test_band_instance_is_never_reused_for_a_patient():
    band = WristbandFactory(voided_at=timezone.now(), void_reason="Reprinted")
    reuse = Wristband(
        patient=band.patient,
        admission=band.admission,
        instance=band.instance,
        printed_at=timezone.now(),
        printed_by=band.printed_by,
    )
    assert_refused_twice(reuse)


def test_voided_band_needs_a_reason():
    band = WristbandFactory.build(
        admission=AdmissionFactory(),
        printed_by=PharmacistFactory(),
        voided_at=timezone.now(),
        void_reason="",
    )
    band.patient = band.admission.patient
    assert_refused_twice(band)


def test_band_instance_must_fit_ai_8019():
    band = WristbandFactory.build(
        admission=AdmissionFactory(), printed_by=PharmacistFactory(), instance=10**10
    )
    band.patient = band.admission.patient
    assert_refused_twice(band)


def test_ward_windows_must_be_positive():
    ward = WardFactory.build(code="ZERO", window_minutes=0)
    assert_refused_twice(ward)


def test_patient_str_shows_two_identifiers():
    patient = Patient(full_name="Nguyễn Văn An", mrn="BN1")
    assert str(patient) == "Nguyễn Văn An (BN1)"


def test_two_admissions_with_one_visit_number_in_one_hospital_are_refused():
    AdmissionFactory(visit_number="VV2026-000123", discharged_at=timezone.now())
    again = AdmissionFactory.build(
        patient=PatientFactory(), ward=WardFactory(), visit_number="VV2026-000123"
    )
    assert_refused_twice(again)


def test_admissions_without_a_visit_number_do_not_collide():
    AdmissionFactory(visit_number="")
    AdmissionFactory(visit_number="")


# --- weight (the pharmacist checks doses against it; weight-based dosing builds on it) --------


@pytest.mark.parametrize("weight", ["0", "-3", "501"])
def test_a_weight_outside_what_a_patient_can_weigh_is_refused(weight):
    patient = PatientFactory.build(weight_kg=weight, weight_measured_at=timezone.now())
    assert_refused_twice(patient)


def test_a_weight_needs_the_time_it_was_measured_and_only_a_weight_has_one():
    assert_refused_twice(PatientFactory.build(weight_kg="54.5", weight_measured_at=None))
    assert_refused_twice(PatientFactory.build(weight_kg=None, weight_measured_at=timezone.now()))


@pytest.mark.parametrize("height", ["0", "-3", "251"])
def test_a_height_outside_what_a_patient_can_measure_is_refused(height):
    assert_refused_twice(PatientFactory.build(height_cm=height))


def test_a_height_is_kept_to_the_millimetre():
    patient = PatientFactory(height_cm="48.5")
    patient.refresh_from_db()
    assert str(patient.height_cm) == "48.5"


def test_a_newborns_weight_is_kept_to_ten_grams():
    patient = PatientFactory(weight_kg="0.48", weight_measured_at=timezone.now())
    patient.refresh_from_db()
    assert str(patient.weight_kg) == "0.48"


@pytest.mark.parametrize(
    ("born", "on", "vi", "en"),
    [
        ("1956-03-14", "2026-11-24", "70 tuổi", "70 years"),
        ("1956-11-25", "2026-11-24", "69 tuổi", "69 years"),
        ("2025-01-30", "2026-11-24", "21 tháng tuổi", "21 months"),
        ("2026-11-04", "2026-11-24", "20 ngày tuổi", "20 days"),
    ],
)
def test_age_is_told_in_years_months_under_two_and_days_under_one_month(born, on, vi, en):
    from datetime import date

    from django.utils import translation

    patient = PatientFactory.build(date_of_birth=date.fromisoformat(born))
    with translation.override("vi"):
        assert patient.age_text(date.fromisoformat(on)) == vi
    with translation.override("en"):
        assert patient.age_text(date.fromisoformat(on)) == en
