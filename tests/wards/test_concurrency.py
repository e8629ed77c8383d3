import threading

import pytest
from django.db import connection

from tests.factories import AdmissionFactory, PharmacistFactory
from wards.models import Wristband
from wards.services import wristband_issue

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
