import threading
import time
from datetime import date

import pytest
from django.db import connection, transaction

from tests.factories import AdmissionFactory, HospitalFactory, PharmacistFactory
from wards.models import Patient, Wristband
from wards.services import patient_save_from_his, wristband_issue

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
