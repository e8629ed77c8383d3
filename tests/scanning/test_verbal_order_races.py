"""Two pharmacists recording the same verbal order's co-signature at once, on PostgreSQL with
real connections: exactly one records it, the other is told it is already recorded."""

import pytest
from django.db import transaction
from django.utils import timezone

from hospital.exceptions import ApplicationError
from pharmacy.models import MedicationOrder
from pharmacy.services import order_cosign
from tests.factories import AdmissionFactory, NurseFactory, OrderFactory, PharmacistFactory
from tests.scanning.test_concurrency import run_together
from tests.scanning.test_races import assert_no_errors, settled

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ITERATIONS = 10


def test_two_pharmacists_co_signing_one_verbal_order_at_once_record_it_once():
    nurse = NurseFactory()
    pharmacists = [PharmacistFactory(), PharmacistFactory()]
    admission = AdmissionFactory()
    for _iteration in range(ITERATIONS):
        # given: a verbal order, unsigned
        order = OrderFactory(
            admission=admission, verbal_kind="verbal", read_back_confirmed=True, documented_by=nurse
        )

        # when: both record the prescriber's signature at the same moment
        def cosign(index, order=order):
            try:
                with transaction.atomic(durable=True):
                    return order_cosign(
                        order=order, by=pharmacists[index], signed_at=timezone.now()
                    )
            except ApplicationError as refused:
                return refused

        results = run_together(2, settled(cosign))

        # then: one recorded it, the other was refused with ALREADY_COSIGNED
        assert_no_errors([r for r in results if not isinstance(r, ApplicationError)])
        refusals = [r for r in results if isinstance(r, ApplicationError)]
        assert [r.code for r in refusals] == ["ALREADY_COSIGNED"]
        (signed,) = [r for r in results if isinstance(r, MedicationOrder)]
        order.refresh_from_db()
        assert order.cosign_recorded_by_id == signed.cosign_recorded_by_id
        assert order.cosign_recorded_by_id in {p.pk for p in pharmacists}
