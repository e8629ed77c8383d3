"""A visit number is its hospital's: each HIS issues its own (often from one vendor's sequence),
so BVA's V0001 and BVB's V0001 are two visits. An admission belongs to its ward's hospital, for
good (wards.models.Admission.hospital, wards.services)."""

import pytest
from django.utils import timezone

from tests.constraints import assert_refused_twice
from tests.factories import (
    AdmissionFactory,
    BedFactory,
    HospitalFactory,
    PatientFactory,
    WardFactory,
)
from wards.models import Admission
from wards.services import (
    HisConflictError,
    admission_admit_from_his,
    admission_move_from_his,
    admission_transfer_cancel_from_his,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_wards():
    """A ward at each of two hospitals."""
    return (
        WardFactory(code="A-NOI", hospital=HospitalFactory(code="BVA")),
        WardFactory(code="B-NOI", hospital=HospitalFactory(code="BVB")),
    )


def admit(ward, visit_number: str, patient=None) -> Admission:
    return admission_admit_from_his(
        patient=patient or PatientFactory(hospital=ward.hospital),
        ward=ward,
        bed=None,
        visit_number=visit_number,
        admitted_at=timezone.now(),
    )


# ------------------------------------------------------------------ the constraint


def test_the_same_visit_number_twice_in_one_hospital_is_refused(two_wards):
    # given
    a, _b = two_wards
    AdmissionFactory(ward=a, visit_number="V0001")
    other_ward_of_a = WardFactory(code="A-NGOAI", hospital=a.hospital)
    # when / then: on another ward of the same hospital, still refused
    again = AdmissionFactory.build(
        patient=PatientFactory(hospital=a.hospital), ward=other_ward_of_a, visit_number="V0001"
    )
    assert again.hospital == a.hospital
    assert_refused_twice(again)


def test_the_same_visit_number_at_two_hospitals_is_two_admissions(two_wards):
    a, b = two_wards
    AdmissionFactory(ward=a, visit_number="V0001")
    at_b = AdmissionFactory.build(
        patient=PatientFactory(hospital=b.hospital), ward=b, visit_number="V0001"
    )

    at_b.full_clean()
    at_b.save()

    assert set(Admission.objects.filter(visit_number="V0001").values_list("hospital__code")) == {
        ("BVA",),
        ("BVB",),
    }


# ------------------------------------------------------------------ admitting (A01)


def test_the_same_visit_number_for_another_patient_in_the_hospital_is_a_visit_conflict(two_wards):
    # given
    a, _b = two_wards
    admit(a, "V0001")
    newcomer = PatientFactory(hospital=a.hospital)

    # when / then
    with pytest.raises(HisConflictError) as refused:
        admit(a, "V0001", newcomer)
    assert refused.value.code == "VISIT_CONFLICT"
    assert not newcomer.admissions.exists()


def test_the_same_visit_number_at_two_hospitals_admits_two_patients(two_wards):
    # given
    a, b = two_wards
    at_a = admit(a, "V0001")

    # when
    at_b = admit(b, "V0001")

    # then
    assert at_a.pk != at_b.pk and at_a.patient_id != at_b.patient_id
    assert (at_a.hospital, at_b.hospital) == (a.hospital, b.hospital)
    assert Admission.objects.get(pk=at_a.pk).ward == a


def test_the_same_visit_again_at_its_hospital_is_an_update_not_another_admission(two_wards):
    a, b = two_wards
    admit(b, "V0001")
    first = admit(a, "V0001")
    bed = BedFactory(ward=a, code="07")

    again = admission_admit_from_his(
        patient=first.patient, ward=a, bed=bed, visit_number="V0001", admitted_at=timezone.now()
    )

    assert again.pk == first.pk and again.bed == bed
    assert Admission.objects.filter(visit_number="V0001").count() == 2


# ------------------------------------------------------------------ it stays in its hospital


def test_an_admission_is_in_its_wards_hospital_after_admit_and_transfer(two_wards):
    # given
    a, _b = two_wards
    admission = admit(a, "V0001")
    assert admission.hospital_id == admission.ward.hospital_id == a.hospital_id

    # when moved to another ward of its hospital, and the move cancelled
    surgery = WardFactory(code="A-NGOAI", hospital=a.hospital)
    moved = admission_move_from_his(admission=admission, ward=surgery, bed=None, at=None)
    back = admission_transfer_cancel_from_his(admission=moved, ward=None, bed=None)

    # then
    for seen in (moved, back, Admission.objects.get(pk=admission.pk)):
        assert seen.hospital_id == seen.ward.hospital_id == a.hospital_id
    assert (moved.ward, back.ward) == (surgery, a)


def test_a_transfer_to_a_ward_of_another_hospital_is_refused(two_wards):
    # given
    a, b = two_wards
    admission = admit(a, "V0001")

    # when / then
    with pytest.raises(HisConflictError) as refused:
        admission_move_from_his(admission=admission, ward=b, bed=None, at=None)
    assert refused.value.code == "WARD_OTHER_HOSPITAL"
    with pytest.raises(HisConflictError):
        admission_transfer_cancel_from_his(admission=admission, ward=b, bed=None)
    stayed = Admission.objects.get(pk=admission.pk)
    assert (stayed.ward, stayed.hospital, stayed.transferred_at) == (a, a.hospital, None)
