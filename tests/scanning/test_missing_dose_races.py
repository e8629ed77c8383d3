"""Missing-dose requests raced on PostgreSQL with real connections: two nurses asking for one dose
at once make one request and both get it back; two pharmacists sending one request at once send
it once, and the other is refused. And the database itself lets a request move only from
requested to sent (the trigger of scanning migration 0011)."""

import pytest
from django.db import IntegrityError, InternalError, transaction

from scanning.missing_doses import missing_dose_mark_sent, missing_dose_request
from scanning.models import MissingDoseRequest, MissingDoseState
from scanning.refusals import MissingDoseAlreadySentError
from tests.factories import (
    AdmissionFactory,
    NurseFactory,
    OrderFactory,
    PharmacistFactory,
    ScheduledDoseFactory,
    WardFactory,
)
from tests.scanning.test_concurrency import run_together
from tests.scanning.test_races import assert_no_errors, settled

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ITERATIONS = 20


@pytest.fixture
def ward():
    return WardFactory()


def a_dose(ward):
    return ScheduledDoseFactory(order=OrderFactory(admission=AdmissionFactory(ward=ward)))


def test_two_nurses_asking_for_one_dose_at_once_make_one_request(ward):
    nurses = [NurseFactory(), NurseFactory()]
    for _iteration in range(ITERATIONS):
        # given
        dose = a_dose(ward)

        # when: both ask at the same moment
        def ask(index, dose=dose):
            with transaction.atomic(durable=True):
                return missing_dose_request(
                    nurse=nurses[index], scheduled_dose=dose, reason="not_on_cart"
                )

        results = run_together(2, settled(ask))

        # then: one request, both nurses hold it, one of them made it
        assert_no_errors(results)
        made = MissingDoseRequest.objects.filter(order=dose.order, due_at=dose.due_at)
        assert made.count() == 1
        assert {request.pk for request, _created in results} == {made.get().pk}
        assert sorted(created for _request, created in results) == [False, True]


def test_two_pharmacists_sending_one_request_at_once_send_it_once(ward):
    nurse = NurseFactory()
    pharmacists = [PharmacistFactory(), PharmacistFactory()]
    for _iteration in range(ITERATIONS):
        # given
        request, _ = missing_dose_request(
            nurse=nurse, scheduled_dose=a_dose(ward), reason="damaged"
        )

        # when
        def send(index, request=request):
            try:
                with transaction.atomic(durable=True):
                    return missing_dose_mark_sent(pharmacist=pharmacists[index], request=request)
            except MissingDoseAlreadySentError as refused:
                return refused

        results = run_together(2, settled(send))

        # then: one sent it, the other was told who did
        refusals = [r for r in results if isinstance(r, MissingDoseAlreadySentError)]
        sent = [r for r in results if isinstance(r, MissingDoseRequest)]
        assert (len(sent), len(refusals)) == (1, 1), results
        request.refresh_from_db()
        assert request.state == MissingDoseState.SENT
        assert request.sent_by == sent[0].sent_by
        assert refusals[0].details["sent_by"] == request.sent_by.username


def test_the_database_lets_a_request_move_only_from_requested_to_sent(ward):
    # given: a request sent
    pharmacist = PharmacistFactory()
    request, _ = missing_dose_request(
        nurse=NurseFactory(), scheduled_dose=a_dose(ward), reason="damaged"
    )
    missing_dose_mark_sent(pharmacist=pharmacist, request=request)
    rows = MissingDoseRequest.objects.filter(pk=request.pk)

    # when / then: nothing else changes and nothing is deleted, whatever writes
    for change in (
        lambda: rows.update(state=MissingDoseState.REQUESTED, sent_by=None, sent_at=None),
        lambda: rows.update(reason="other", comment="rewritten"),
        lambda: rows.delete(),
    ):
        with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
            change()
    assert rows.get().state == MissingDoseState.SENT


def test_the_request_itself_cannot_be_rewritten_while_open(ward):
    request, _ = missing_dose_request(
        nurse=NurseFactory(), scheduled_dose=a_dose(ward), reason="damaged"
    )

    with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
        MissingDoseRequest.objects.filter(pk=request.pk).update(reason="wrong_strength")
    assert MissingDoseRequest.objects.get(pk=request.pk).reason == "damaged"
