"""PRN reassessments raced on PostgreSQL with real connections: two nurses documenting the same
dose's effect at once store one reassessment, and the other is refused with ALREADY_REASSESSED
naming the one kept. And the table is append-only (scanning migration 0014)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, transaction

from pharmacy.models import ScheduleKind
from scanning.models import PrnReassessment
from scanning.reassessments import reassessment_record
from scanning.refusals import AlreadyReassessedError
from tests.factories import AdministrationFactory, AdmissionFactory, NurseFactory, OrderFactory
from tests.scanning.test_concurrency import run_together
from tests.scanning.test_races import settled

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ITERATIONS = 10


def a_prn_dose():
    order = OrderFactory(
        admission=AdmissionFactory(),
        schedule_kind=ScheduleKind.PRN,
        times_of_day=[],
        prn_indication="Đau",
        prn_indications=["Đau", "Sốt"],
        prn_min_interval_minutes=240,
        prn_max_per_24h=Decimal("4000"),
    )
    return AdministrationFactory(order=order, prn_reason="Đau")


def test_two_nurses_documenting_one_reassessment_at_once_store_one():
    nurses = [NurseFactory(), NurseFactory()]
    for _iteration in range(ITERATIONS):
        # given
        record = a_prn_dose()

        # when: both document its effect at the same moment
        def document(index, record=record):
            try:
                with transaction.atomic(durable=True):
                    return reassessment_record(
                        performer=nurses[index],
                        administration=record,
                        effect=["effective", "partly"][index],
                        pain_score=index + 2,
                    )
            except AlreadyReassessedError as error:
                return error

        results = run_together(2, settled(document))

        # then: one stored, the other told which one was kept
        stored = [r for r in results if isinstance(r, PrnReassessment)]
        refused = [r for r in results if isinstance(r, AlreadyReassessedError)]
        assert (len(stored), len(refused)) == (1, 1), results
        kept = PrnReassessment.objects.get(administration=record)
        assert kept.pk == stored[0].pk
        assert refused[0].status == 409
        assert refused[0].details["reassessment"]["id"] == str(kept.external_id)
        assert refused[0].details["reassessment"]["effect"] == kept.effect


def test_a_reassessment_cannot_be_changed_or_deleted():
    record = a_prn_dose()
    with transaction.atomic():
        reassessment_record(performer=NurseFactory(), administration=record, effect="effective")
    rows = PrnReassessment.objects.filter(administration=record)

    for change in (lambda: rows.update(effect="not_effective"), lambda: rows.delete()):
        with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
            change()
    assert rows.get().effect == "effective"
