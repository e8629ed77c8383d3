"""One person in the province, an MRN per hospital: PatientNumber, the national-ID link and the
admission's copy of the number (wards.services, wards.selectors)."""

from datetime import date

import pytest
from django.db import transaction
from django.utils import timezone

from tests.constraints import assert_refused_twice
from tests.factories import AdmissionFactory, HospitalFactory, PatientFactory, WardFactory
from wards.models import Patient, PatientNumber
from wards.selectors import patient_by_mrn
from wards.services import (
    HisConflictError,
    admission_admit_from_his,
    patient_register,
    patient_save_from_his,
)

pytestmark = pytest.mark.django_db

CCCD = "022179000123"


def person(**overrides) -> dict[str, object]:
    return {
        "full_name": "Nguyễn Thị Mai Anh",
        "date_of_birth": date(1979, 4, 2),
        "sex": "F",
        "national_id": CCCD,
        **overrides,
    }


@pytest.fixture
def two_hospitals():
    return HospitalFactory(code="BVA"), HospitalFactory(code="BVB")


def test_a_registered_patient_has_her_number_at_the_registering_hospital(two_hospitals):
    # given
    a, _b = two_hospitals
    # when
    patient = patient_register(hospital_id=a.pk, mrn="BN000123", values=person())
    # then
    assert list(patient.numbers.values_list("hospital_id", "mrn")) == [(a.pk, "BN000123")]
    assert patient_by_mrn(hospital_id=a.pk, mrn="BN000123") == patient


def test_the_same_mrn_at_two_hospitals_is_two_people(two_hospitals):
    a, b = two_hospitals
    at_a = patient_save_from_his(
        mrn="BN000123", values=person(national_id=""), create=True, hospital_id=a.pk
    )
    at_b = patient_save_from_his(
        mrn="BN000123",
        values=person(full_name="Lê Văn Bình", sex="M", national_id=""),
        create=True,
        hospital_id=b.pk,
    )

    assert at_a.pk != at_b.pk
    assert patient_by_mrn(hospital_id=b.pk, mrn="BN000123").full_name == "Lê Văn Bình"
    assert patient_by_mrn(hospital_id=a.pk, mrn="BN000123").full_name == "Nguyễn Thị Mai Anh"


def test_a_number_new_at_a_hospital_with_a_known_national_id_joins_her_record(two_hospitals):
    # given a person hospital A registered, with her CCCD
    a, b = two_hospitals
    known = patient_save_from_his(mrn="BN000123", values=person(), create=True, hospital_id=a.pk)

    # when hospital B's HIS sends her under its own number, with a newer name spelling
    linked = patient_save_from_his(
        mrn="BB777",
        values=person(full_name="Nguyễn Thị Mai-Anh"),
        create=True,
        hospital_id=b.pk,
    )

    # then one person, two numbers, still registered by A; the demographics are updated
    assert linked.pk == known.pk
    assert Patient.objects.count() == 1
    assert dict(known.numbers.values_list("hospital__code", "mrn")) == {
        "BVA": "BN000123",
        "BVB": "BB777",
    }
    known.refresh_from_db()
    assert (known.hospital_id, known.mrn, known.full_name) == (
        a.pk,
        "BN000123",
        "Nguyễn Thị Mai-Anh",
    )


@pytest.mark.parametrize(
    "different", [{"date_of_birth": date(1980, 4, 2)}, {"sex": "M"}], ids=["birth", "sex"]
)
def test_a_known_national_id_with_another_birth_or_sex_is_an_identity_conflict(
    two_hospitals, different
):
    a, b = two_hospitals
    known = patient_save_from_his(mrn="BN000123", values=person(), create=True, hospital_id=a.pk)

    with pytest.raises(HisConflictError) as refused, transaction.atomic():
        patient_save_from_his(
            mrn="BB777", values=person(**different), create=True, hospital_id=b.pk
        )

    assert refused.value.code == "IDENTITY_CONFLICT"
    assert Patient.objects.count() == 1
    assert list(PatientNumber.objects.values_list("mrn", flat=True)) == ["BN000123"]
    known.refresh_from_db()
    assert known.date_of_birth == date(1979, 4, 2) and known.sex == "F"


def test_a_name_alone_never_links(two_hospitals):
    a, b = two_hospitals
    patient_save_from_his(
        mrn="BN000123", values=person(national_id=""), create=True, hospital_id=a.pk
    )

    other = patient_save_from_his(
        mrn="BB777", values=person(national_id=""), create=True, hospital_id=b.pk
    )

    assert Patient.objects.count() == 2
    assert other.numbers.get().hospital_id == b.pk


def test_a_second_number_at_the_same_hospital_for_one_national_id_is_a_conflict(two_hospitals):
    a, _b = two_hospitals
    patient_save_from_his(mrn="BN000123", values=person(), create=True, hospital_id=a.pk)

    with pytest.raises(HisConflictError) as refused, transaction.atomic():
        patient_save_from_his(mrn="BN000999", values=person(), create=True, hospital_id=a.pk)

    assert refused.value.code == "IDENTITY_CONFLICT"
    assert PatientNumber.objects.count() == 1


def test_an_update_cannot_take_another_patients_national_id(two_hospitals):
    a, _b = two_hospitals
    patient_save_from_his(mrn="BN000123", values=person(), create=True, hospital_id=a.pk)
    other = patient_save_from_his(
        mrn="BN000456", values=person(national_id="", sex="M"), create=True, hospital_id=a.pk
    )

    with pytest.raises(HisConflictError) as refused, transaction.atomic():
        patient_save_from_his(
            mrn="BN000456", values={"national_id": CCCD}, create=False, hospital_id=a.pk
        )

    assert refused.value.code == "IDENTITY_CONFLICT"
    other.refresh_from_db()
    assert other.national_id == ""


def test_an_update_from_one_hospital_never_reaches_the_other_hospitals_same_number(
    two_hospitals,
):
    a, b = two_hospitals
    patient_save_from_his(
        mrn="BN000123", values=person(national_id=""), create=True, hospital_id=a.pk
    )

    with pytest.raises(HisConflictError) as refused:
        patient_save_from_his(
            mrn="BN000123", values={"full_name": "Sai Tên"}, create=False, hospital_id=b.pk
        )

    assert refused.value.code == "PATIENT_UNKNOWN"
    assert Patient.objects.get().full_name == "Nguyễn Thị Mai Anh"


def test_an_admission_carries_her_number_at_the_wards_hospital(two_hospitals):
    # given a person of hospital A, numbered by B too
    a, b = two_hospitals
    patient = patient_save_from_his(mrn="BN000123", values=person(), create=True, hospital_id=a.pk)
    patient_save_from_his(mrn="BB777", values=person(), create=True, hospital_id=b.pk)

    # when B admits her
    admission = admission_admit_from_his(
        patient=patient,
        ward=WardFactory(hospital=b),
        bed=None,
        visit_number="VB1",
        admitted_at=timezone.now(),
    )

    # then
    assert admission.mrn == "BB777"
    assert patient.mrn == "BN000123"


def test_one_live_patient_per_national_id():
    PatientFactory(national_id=CCCD)
    assert_refused_twice(PatientFactory.build(national_id=CCCD))


def test_a_merged_record_keeps_its_national_id_beside_the_surviving_one():
    surviving = PatientFactory()
    merged = PatientFactory(national_id=CCCD, merged_into=surviving)
    again = PatientFactory.build(national_id=CCCD)
    again.full_clean()
    again.save()
    assert merged.national_id == again.national_id


def test_patients_without_a_national_id_do_not_collide():
    PatientFactory(national_id="")
    PatientFactory(national_id="")
    assert Patient.objects.filter(national_id="").count() == 2


def test_one_number_per_patient_and_hospital(two_hospitals):
    a, _b = two_hospitals
    patient = PatientFactory(hospital=a)
    assert_refused_twice(PatientNumber(hospital=a, mrn="BN999999", patient=patient))


def test_one_patient_per_number_at_a_hospital(two_hospitals):
    a, b = two_hospitals
    first = PatientFactory(hospital=a)
    other = PatientFactory(hospital=b)
    assert_refused_twice(PatientNumber(hospital=a, mrn=first.mrn, patient=other))


def test_an_admission_needs_its_mrn():
    admission = AdmissionFactory.build(patient=PatientFactory(), ward=WardFactory(), mrn="")
    assert_refused_twice(admission)


# --- the health-insurance number: its lifelong social-insurance part --------------------------


@pytest.mark.parametrize(
    ("card", "core"),
    [
        ("DN4797915123456", "7915123456"),
        ("hc 4 01 7915123456", "7915123456"),  # as typed, spaced and in lower case
        ("7915123456", "7915123456"),  # the social-insurance number alone
        ("DN47979151234", ""),  # too short: no card
        ("DN479791512345X", ""),
        ("", ""),
    ],
)
def test_the_social_insurance_number_is_the_last_ten_digits_of_a_card(card, core):
    from wards.selectors import social_insurance_number

    assert social_insurance_number(card) == core


def test_a_number_new_at_a_hospital_with_a_known_social_insurance_number_joins_her_record(
    two_hospitals,
):
    # given a person hospital A registered without a CCCD, on her employee's card (DN)
    a, b = two_hospitals
    known = patient_save_from_his(
        mrn="BN000123",
        values=person(national_id="", health_insurance_number="DN4797915123456"),
        create=True,
        hospital_id=a.pk,
    )

    # when hospital B's HIS sends her on her retiree's card (HT), same social-insurance number
    linked = patient_save_from_his(
        mrn="BB777",
        values=person(national_id="", health_insurance_number="HT3797915123456"),
        create=True,
        hospital_id=b.pk,
    )

    # then one person, two numbers, and her card as B read it last
    assert linked.pk == known.pk
    assert Patient.objects.count() == 1
    assert patient_by_mrn(hospital_id=b.pk, mrn="BB777") == known
    assert Patient.objects.get().health_insurance_number == "HT3797915123456"


def test_a_known_social_insurance_number_with_another_birth_date_is_an_identity_conflict(
    two_hospitals,
):
    a, b = two_hospitals
    patient_save_from_his(
        mrn="BN000123",
        values=person(national_id="", health_insurance_number="DN4797915123456"),
        create=True,
        hospital_id=a.pk,
    )

    with pytest.raises(HisConflictError) as refused:
        patient_save_from_his(
            mrn="BB777",
            values=person(
                national_id="",
                health_insurance_number="DN4797915123456",
                date_of_birth=date(1980, 4, 2),
            ),
            create=True,
            hospital_id=b.pk,
        )

    assert refused.value.code == "IDENTITY_CONFLICT"
    assert "social-insurance number" in str(refused.value)
    assert Patient.objects.count() == 1 and PatientNumber.objects.count() == 1


def test_a_social_insurance_number_of_someone_with_another_national_id_is_an_identity_conflict(
    two_hospitals,
):
    a, b = two_hospitals
    patient_save_from_his(
        mrn="BN000123",
        values=person(health_insurance_number="DN4797915123456"),
        create=True,
        hospital_id=a.pk,
    )

    with pytest.raises(HisConflictError) as refused:
        patient_save_from_his(
            mrn="BB777",
            values=person(national_id="001099000777", health_insurance_number="DN4797915123456"),
            create=True,
            hospital_id=b.pk,
        )

    assert refused.value.code == "IDENTITY_CONFLICT"
    assert Patient.objects.count() == 1 and PatientNumber.objects.count() == 1


def test_a_malformed_insurance_number_links_nobody(two_hospitals):
    a, b = two_hospitals
    patient_save_from_his(
        mrn="BN000123",
        values=person(national_id="", health_insurance_number="DN47979151"),
        create=True,
        hospital_id=a.pk,
    )

    other = patient_save_from_his(
        mrn="BB777",
        values=person(national_id="", health_insurance_number="DN47979151"),
        create=True,
        hospital_id=b.pk,
    )

    assert Patient.objects.count() == 2 and other.numbers.get().hospital_id == b.pk


# --- A40: a merge at one hospital and the numbers other hospitals gave the duplicate ------------


def test_a_merge_moves_the_duplicates_number_at_another_hospital_to_the_surviving_record(
    two_hospitals,
):
    from wards.services import patient_merge_from_his, patient_number_add

    # given hospital A's duplicate record, which hospital B also numbers (BNB0009)
    a, b = two_hospitals
    surviving = patient_register(hospital_id=a.pk, mrn="BNA0001", values=person(national_id=""))
    prior = patient_register(hospital_id=a.pk, mrn="BNA0002", values=person(national_id=""))
    patient_number_add(patient=prior, hospital_id=b.pk, mrn="BNB0009")

    # when A's HIS merges BNA0002 into BNA0001
    patient_merge_from_his(surviving=surviving, prior=prior)

    # then B's number finds the surviving record; A's old number stays with the merged one
    assert patient_by_mrn(hospital_id=b.pk, mrn="BNB0009") == surviving
    assert patient_by_mrn(hospital_id=a.pk, mrn="BNA0002") == prior
    assert Patient.objects.get(pk=prior.pk).merged_into == surviving


def test_a_merge_leaves_a_hospital_that_numbers_both_records_its_own_duplicate_to_merge(
    two_hospitals,
):
    from wards.services import patient_merge_from_his, patient_number_add

    # given both records numbered by hospital B too (BNB0008 and BNB0009)
    a, b = two_hospitals
    surviving = patient_register(hospital_id=a.pk, mrn="BNA0001", values=person(national_id=""))
    prior = patient_register(hospital_id=a.pk, mrn="BNA0002", values=person(national_id=""))
    patient_number_add(patient=surviving, hospital_id=b.pk, mrn="BNB0008")
    patient_number_add(patient=prior, hospital_id=b.pk, mrn="BNB0009")

    # when A merges them
    patient_merge_from_his(surviving=surviving, prior=prior)

    # then B's two numbers stay where they were (one per hospital and person): B merges its own
    assert patient_by_mrn(hospital_id=b.pk, mrn="BNB0008") == surviving
    assert patient_by_mrn(hospital_id=b.pk, mrn="BNB0009") == prior
    with pytest.raises(HisConflictError) as refused:
        patient_save_from_his(mrn="BNB0009", values={}, create=False, hospital_id=b.pk)
    assert refused.value.code == "PATIENT_MERGED"
