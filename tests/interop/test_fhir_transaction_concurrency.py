"""A sender that retries before the first answer came back (its timeout, our slow commit): the
copies race on PostgreSQL, and the bundle is still applied exactly once."""

import json
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client

from interop.models import CodeMapKind, FhirTransaction, InboundCodeMap
from pharmacy.demo import demo_hospital_load
from pharmacy.models import Medication, MedicationOrder
from tests.interop import fhir_bundles as b
from tests.interop.test_fhir_transaction import BASE, bearer
from tests.scanning.conftest import DEMO_NOW
from wards.models import Admission, Allergy, Patient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
COPIES = 8


def test_copies_of_one_bundle_sent_at_once_are_applied_once():
    # given
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_load()
        for his_code, ours in (("TT01", "paracetamol-500-tab"), ("TT07", "tramadol-50-cap")):
            InboundCodeMap.objects.create(
                kind=CodeMapKind.MEDICATION,
                his_code=his_code,
                medication=Medication.objects.get(code=ours),
            )
    token = bearer()
    body = json.dumps(b.transaction())
    start = threading.Barrier(COPIES)
    answers: list = [None] * COPIES

    def send(index):
        try:
            start.wait()
            answers[index] = Client().post(
                BASE,
                body,
                content_type="application/fhir+json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=send, args=(i,)) for i in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then
    assert [a.status_code for a in answers] == [200] * COPIES, [a.content for a in answers]
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert sum(a.get("Idempotent-Replayed") == "true" for a in answers) == COPIES - 1
    assert FhirTransaction.objects.count() == 1
    assert Patient.objects.filter(mrn=b.MRN).count() == 1
    assert Admission.objects.filter(visit_number=b.VISIT).count() == 1
    assert Allergy.objects.filter(patient__mrn=b.MRN).count() == 1
    assert (
        MedicationOrder.objects.filter(placer_order_number__startswith="YL2026-0777").count() == 2
    )
