"""Reads off the primary: reports, the dashboard, FHIR search and the administrations feed read
from the `replica` alias; the bedside check and record, and anything inside a transaction, never do.

The test settings name a `replica` alias that mirrors the test database (Django's TEST MIRROR):
the same data through a connection of its own, so the queries each alias ran can be counted.
The real thing (a streaming standby of a second PostgreSQL cluster) is in bench.province, which
CI runs at smoke size."""

from unittest import mock

import pytest
import time_machine
from django.db import OperationalError, connections, transaction
from django.test.utils import CaptureQueriesContext

from hospital import replica
from hospital.models import User
from tests.demo_copy import demo_hospital_copy
from tests.scanning.conftest import AN_BAND, DEMO_NOW, HOA_BADGE, PARACETAMOL, badge_client, image
from wards.models import Patient

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

AN_MRN = "BN2026000101"
DUC_BAND = {"code": "8018952000100000001051\x1d80191"}  # NOI 05: omeprazole due now


@pytest.fixture
def replica_reads(settings):
    settings.DATABASE_REPLICA_READS = True
    replica.forget_replica_state()
    yield
    replica.forget_replica_state()


@pytest.fixture
def demo():
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        yield


@pytest.fixture
def nurse_client(demo):
    return badge_client(HOA_BADGE, "111111")


@pytest.fixture
def pharmacist_web(demo, client):
    client.force_login(User.objects.get(username="duocsi.tuan"))
    return client


def queries_on_each_alias(call):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as standby,
    ):
        response = call()
    return response, len(primary), len(standby)


def record(client, key):
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}
    return client.post("/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_bedside_never_reads_from_the_replica(replica_reads, nurse_client):
    # given
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}
    patient = Patient.objects.get(mrn=AN_MRN)

    # when
    bedside = [
        lambda: nurse_client.post("/api/v1/scan/check/", body, format="json"),
        lambda: record(nurse_client, "bedside-1"),
        lambda: record(nurse_client, "bedside-1"),  # the retry replays the first answer
        lambda: nurse_client.post(
            "/api/v1/administrations/not-given/",
            {"patient": DUC_BAND, "order": _omeprazole_order(), "reason": "refused"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="bedside-2",
        ),
        lambda: nurse_client.get(f"/api/v1/patients/{patient.mrn}/mar/?date=2026-11-24"),
        lambda: nurse_client.get("/api/v1/wards/NOI/due/"),
    ]
    answers = [queries_on_each_alias(call) for call in bedside]

    # then
    statuses = [response.status_code for response, _primary, _standby in answers]
    assert statuses == [200, 201, 201, 201, 200, 200], [r.content[:300] for r, *_ in answers]
    assert [standby for _response, _primary, standby in answers] == [0] * len(bedside)
    assert all(primary > 0 for _response, primary, _standby in answers)


def _omeprazole_order() -> str:
    import uuid

    from pharmacy.demo import DEMO_NAMESPACE

    return str(uuid.uuid5(DEMO_NAMESPACE, "duc-omeprazole"))


def test_the_feed_and_fhir_search_read_from_the_replica(replica_reads, nurse_client):
    # given
    assert record(nurse_client, "feed-1").status_code == 201
    patient = Patient.objects.get(mrn=AN_MRN)

    # when
    feed, _primary, feed_on_standby = queries_on_each_alias(
        lambda: nurse_client.get("/api/v1/administrations/?ward=NOI")
    )
    search, _primary, search_on_standby = queries_on_each_alias(
        lambda: nurse_client.get(
            f"/api/v1/fhir/MedicationAdministration?patient=Patient/{patient.external_id}"
        )
    )

    # then: the standby's copy of the record is what they show
    assert feed.status_code == 200 and len(feed.json()["results"]) == 1
    assert search.status_code == 200 and search.json()["total"] == 1
    assert feed_on_standby > 0 and search_on_standby > 0
    assert feed["X-Read-From"] == search["X-Read-From"] == "replica"


def test_reports_and_the_dashboard_read_from_the_replica(replica_reads, pharmacist_web):
    # when
    pages = [
        "/pharmacy/reports/scan-compliance/?date_from=2026-11-20&date_to=2026-11-24",
        "/pharmacy/reports/scan-compliance/csv/?date_from=2026-11-20&date_to=2026-11-24&table=wards",
        "/pharmacy/reports/scan-compliance/chart/?date_from=2026-11-20&date_to=2026-11-24",
        "/dashboard/?ward=NOI",
    ]
    answers = [queries_on_each_alias(lambda page=page: pharmacist_web.get(page)) for page in pages]

    # then
    assert [response.status_code for response, *_ in answers] == [200] * len(pages)
    assert all(standby > 0 for _response, _primary, standby in answers)
    assert all(response["X-Read-From"] == "replica" for response, *_ in answers)


def test_a_lagging_replica_sends_the_reads_to_the_primary(replica_reads, settings, nurse_client):
    # given: the standby last replayed a transaction a minute ago, and the limit is 5 s
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 5

    # when
    with mock.patch.object(replica, "replica_lag_seconds", return_value=60.0):
        feed, primary, standby = queries_on_each_alias(
            lambda: nurse_client.get("/api/v1/administrations/")
        )

    # then
    assert feed.status_code == 200
    assert standby == 0 and primary > 0
    assert feed["X-Read-From"] == "primary"


def test_an_unreachable_replica_sends_the_reads_to_the_primary(replica_reads, nurse_client):
    # when
    refused = OperationalError('connection to server at "10.0.0.6", port 5432 failed')
    with mock.patch.object(replica, "replica_lag_seconds", side_effect=refused) as lag:
        first, _primary, first_standby = queries_on_each_alias(
            lambda: nurse_client.get("/api/v1/administrations/")
        )
        second, _primary, _standby = queries_on_each_alias(
            lambda: nurse_client.get("/api/v1/administrations/")
        )

    # then: no error for the reader, and the dead replica is not tried on every request
    assert first.status_code == second.status_code == 200
    assert first_standby == 0
    assert first["X-Read-From"] == second["X-Read-From"] == "primary"
    assert lag.call_count == 1


def test_without_a_replica_everything_reads_from_the_primary(settings, nurse_client):
    # given: DATABASE_REPLICA_URL unset
    settings.DATABASE_REPLICA_READS = False

    # when
    feed, primary, standby = queries_on_each_alias(
        lambda: nurse_client.get("/api/v1/administrations/")
    )

    # then
    assert feed.status_code == 200
    assert standby == 0 and primary > 0
    assert "X-Read-From" not in feed


def test_reads_inside_a_transaction_use_the_primary(replica_reads, demo):
    # when
    with (
        replica.replica_reads() as alias,
        CaptureQueriesContext(connections["replica"]) as standby,
    ):
        with transaction.atomic():
            Patient.objects.filter(mrn=AN_MRN).exists()
        Patient.objects.filter(mrn=AN_MRN).exists()

    # then: the replica was chosen, and read only outside the transaction
    assert alias == "replica"
    assert len(standby) == 1


def test_an_error_inside_replica_reads_leaves_the_next_request_on_the_primary(replica_reads, demo):
    # given
    with pytest.raises(ZeroDivisionError), replica.replica_reads():
        1 / 0  # noqa: B018 - the error is the point

    # when
    with CaptureQueriesContext(connections["replica"]) as standby:
        Patient.objects.filter(mrn=AN_MRN).exists()

    # then
    assert len(standby) == 0
