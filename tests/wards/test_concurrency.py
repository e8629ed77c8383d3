import threading
import time
from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.factories import (
    AdmissionFactory,
    HospitalFactory,
    PatientFactory,
    PharmacistFactory,
    WardFactory,
)
from wards.models import Admission, Patient, Wristband
from wards.services import admission_admit_from_his, patient_save_from_his, wristband_issue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_reprints_leave_exactly_one_active_band():
    # given
    admission = AdmissionFactory()
    pharmacist = PharmacistFactory()
    start = threading.Barrier(8)
    errors = []

    def reprint():
        try:
            start.wait()
            wristband_issue(admission=admission, printed_by=pharmacist)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=reprint) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert errors == []
    bands = Wristband.objects.filter(patient=admission.patient)
    assert sorted(bands.values_list("instance", flat=True)) == list(range(1, 9))
    assert bands.filter(voided_at__isnull=True).count() == 1
    assert bands.get(voided_at__isnull=True).instance == 8


def test_two_hospitals_registering_one_person_at_once_make_one_patient_with_two_numbers():
    # given two hospitals whose HISs send the same new person (same CCCD) at the same moment
    hospitals = [HospitalFactory(code="BVA"), HospitalFactory(code="BVB")]
    start = threading.Barrier(2)
    errors = []
    values = {
        "full_name": "Nguyễn Thị Mai Anh",
        "date_of_birth": date(1979, 4, 2),
        "sex": "F",
        "national_id": "022179000123",
    }

    def register(hospital, mrn):
        try:
            start.wait()
            with transaction.atomic():
                patient_save_from_his(mrn=mrn, values=values, create=True, hospital_id=hospital.pk)
                # Both inside their transaction before either commits.
                time.sleep(0.2)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [
        threading.Thread(target=register, args=(hospital, mrn))
        for hospital, mrn in zip(hospitals, ["BN000123", "BB777"], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then one person, numbered by both hospitals
    assert errors == []
    patient = Patient.objects.get()
    assert dict(patient.numbers.values_list("hospital__code", "mrn")) == {
        "BVA": "BN000123",
        "BVB": "BB777",
    }


def admit_at_once(wards) -> list[Exception]:
    """A new patient admitted on each ward as visit V0001, both inside their transaction before
    either commits. Returns what was raised."""
    patients = [PatientFactory(hospital=ward.hospital) for ward in wards]
    start = threading.Barrier(len(wards))
    errors = []

    def admit(ward, patient):
        try:
            start.wait()
            with transaction.atomic():
                admission_admit_from_his(
                    patient=patient,
                    ward=ward,
                    bed=None,
                    visit_number="V0001",
                    admitted_at=timezone.now(),
                )
                time.sleep(0.2)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=admit, args=pair) for pair in zip(wards, patients, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_one_visit_number_sent_at_once_for_two_patients_of_one_hospital_admits_one():
    hospital = HospitalFactory(code="BVA")
    wards = [
        WardFactory(code="A-NOI", hospital=hospital),
        WardFactory(code="A-NGOAI", hospital=hospital),
    ]

    errors = admit_at_once(wards)

    assert [type(error) for error in errors] == [IntegrityError]
    assert Admission.objects.filter(visit_number="V0001").count() == 1


def test_one_visit_number_sent_at_once_by_two_hospitals_admits_both():
    wards = [
        WardFactory(code="A-NOI", hospital=HospitalFactory(code="BVA")),
        WardFactory(code="B-NOI", hospital=HospitalFactory(code="BVB")),
    ]

    errors = admit_at_once(wards)

    assert errors == []
    assert set(Admission.objects.values_list("hospital__code", "visit_number")) == {
        ("BVA", "V0001"),
        ("BVB", "V0001"),
    }
