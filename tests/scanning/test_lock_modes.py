"""A check holding the nurse's row and a record holding the patient's must not deadlock on the
foreign-key locks their inserts take (found by review: FOR UPDATE blocks FOR KEY SHARE)."""

import threading
import time
from datetime import date

import pytest
from django.db import connection, transaction

import gs1
from scanning import services
from scanning.scans import ScanInput
from scanning.services import CheckRequest, administration_check, administration_record
from tests.factories import (
    AdmissionFactory,
    NurseFactory,
    OrderFactory,
    PackageFactory,
    PharmacistFactory,
    ScheduledDoseFactory,
    WardFactory,
    WristbandFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_check_and_a_record_by_one_nurse_on_one_patient_do_not_deadlock(monkeypatch):
    # given: one nurse, one patient, one due dose
    ward, nurse, pharmacist, package = (
        WardFactory(),
        NurseFactory(),
        PharmacistFactory(),
        PackageFactory(),
    )
    ward.staff.add(nurse)
    admission = AdmissionFactory(ward=ward)
    band = WristbandFactory(admission=admission, instance=1, printed_by=pharmacist)
    order = OrderFactory(
        admission=admission,
        medication=package.medication,
        verified_by=pharmacist,
        dose_value=package.medication.strength_value,
        dose_unit=package.medication.strength_unit,
    )
    ScheduledDoseFactory(order=order)
    request = CheckRequest(
        patient=ScanInput(
            code=gs1.wristband_element_string(
                gs1.WristbandPayload(gsrn=band.patient.gsrn, instance=1)
            )
        ),
        medications=(
            ScanInput(
                code=gs1.medication_element_string(
                    gs1.MedicationPayload(
                        gtin=package.gtin, expiry=date(2030, 1, 31), lot="L1", serial="S1"
                    )
                )
            ),
        ),
        cart="c1",
    )
    # the record pauses holding the patient's lock while the check locks the nurse and inserts
    build = services.check_context_build
    record_holds_patient = threading.Event()

    def slow_build(**kwargs):
        if getattr(threading.current_thread(), "is_record", False):
            record_holds_patient.set()
            time.sleep(1.0)
        return build(**kwargs)

    monkeypatch.setattr(services, "check_context_build", slow_build)
    results = {}

    def record():
        threading.current_thread().is_record = True
        try:
            with transaction.atomic(durable=True):
                outcome = administration_record(performer=nurse, request=request)
            results["record"] = outcome.refusal_code or "recorded"
        except Exception as error:
            results["record"] = repr(error)
        finally:
            connection.close()

    def check():
        record_holds_patient.wait(5)
        time.sleep(0.2)
        try:
            with transaction.atomic(durable=True):
                administration_check(performer=nurse, request=request)
            results["check"] = "checked"
        except Exception as error:
            results["check"] = repr(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=record), threading.Thread(target=check)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert results == {"record": "recorded", "check": "checked"}
