"""Two HIS messages with one order number at once: within a hospital one wins, across hospitals
both do (each HIS issues its own numbers). PostgreSQL only: SQLite serialises writers."""

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction

from pharmacy.models import MedicationOrder
from pharmacy.services import order_create_from_his
from tests.factories import AdmissionFactory, HospitalFactory, MedicationFactory, WardFactory
from tests.pharmacy.test_services import his_values

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def order_at_once(wards) -> list[Exception]:
    """A new order DH0001 for a patient admitted on each ward, both inside their transaction
    before either commits. Returns what was raised."""
    admissions = [AdmissionFactory(ward=ward) for ward in wards]
    medication = MedicationFactory(routes=["PO"])
    start = threading.Barrier(len(wards))
    errors = []

    def order(admission):
        try:
            start.wait()
            with transaction.atomic():
                order_create_from_his(values=his_values(admission, medication=medication))
                time.sleep(0.2)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=order, args=(admission,)) for admission in admissions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_one_order_number_sent_at_once_for_two_patients_of_one_hospital_orders_one():
    hospital = HospitalFactory(code="BVA")
    wards = [
        WardFactory(code="A-NOI", hospital=hospital),
        WardFactory(code="A-NGOAI", hospital=hospital),
    ]

    errors = order_at_once(wards)

    assert [type(error) for error in errors] == [IntegrityError]
    assert MedicationOrder.objects.filter(placer_order_number="DH0001").count() == 1


def test_one_order_number_sent_at_once_by_two_hospitals_orders_both():
    wards = [
        WardFactory(code="A-NOI", hospital=HospitalFactory(code="BVA")),
        WardFactory(code="B-NOI", hospital=HospitalFactory(code="BVB")),
    ]

    errors = order_at_once(wards)

    assert errors == []
    assert set(MedicationOrder.objects.values_list("hospital__code", "placer_order_number")) == {
        ("BVA", "DH0001"),
        ("BVB", "DH0001"),
    }
