import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from itertools import pairwise
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pharmacy.models import DoseState, ScheduledDose
from scanning import audit
from scanning.chains import administration_append, scan_event_append
from scanning.models import AdministeredUnit, Administration, Override, ScanEvent
from tests.demo_copy import demo_hospital_copy
from tests.factories import NurseFactory, OrderFactory, PackageFactory
from tests.scanning.conftest import (
    AN_BAND,
    DEMO_NOW,
    HOA_BADGE,
    NGOC_BAND,
    PARACETAMOL,
    badge_client,
    image,
)

AN_MRN = "BN2026000101"


def verify_audit(**options) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out, **options)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def broken_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("BROKEN")]


def tamper(sql: str, params=()) -> None:
    """Raw SQL, as someone bypassing the application would write it. On PostgreSQL past the
    append-only trigger: SET LOCAL lasts only as long as this test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def bedside_flow(client) -> dict:
    """What a cart does in a morning round: check, record, not given, a correction with a
    replacement, and a refused record for the wrong patient."""
    body = {
        "patient": image(AN_BAND),
        "medications": [image(name) for name in PARACETAMOL],
        "cart": "NOI-1",
    }
    check = client.post("/api/v1/scan/check/", body, format="json")
    assert check.status_code == 200, check.json()
    given = client.post(
        "/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY="round-1"
    )
    assert given.status_code == 201, given.json()
    later = (
        ScheduledDose.objects.filter(
            order__admission__patient__mrn=AN_MRN,
            state=DoseState.SCHEDULED,
            due_at__gt=timezone.now(),
        )
        .order_by("due_at")
        .first()
    )
    not_given = client.post(
        "/api/v1/administrations/not-given/",
        {
            "patient": image(AN_BAND),
            "order": str(later.order.external_id),
            "scheduled_dose": str(later.external_id),
            "reason": "refused",
        },
        format="json",
    )
    assert not_given.status_code == 201, not_given.json()
    corrected = client.post(
        f"/api/v1/administrations/{given.json()['id']}/correct/",
        {
            "reason": "wrong_dose",
            "replacement_amount": "500",
            "replacement_unit": "mg",
            "overrides": [{"code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART"}],
        },
        format="json",
    )
    assert corrected.status_code == 201, corrected.json()
    refused = client.post(
        "/api/v1/administrations/",
        {"patient": image(NGOC_BAND), "medications": [image(PARACETAMOL[0])]},
        format="json",
    )
    assert refused.status_code in (409, 422), refused.json()
    return {
        "given": Administration.objects.get(external_id=given.json()["id"]),
        "refused_event": ScanEvent.objects.filter(purpose="record", administration=None).get(),
    }


# Pure: one spelling, one hash.


def test_canonical_json_has_one_spelling_for_one_value():
    hanoi = datetime(2026, 11, 24, 8, 10, 0, 5, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert audit.canonical_json({"b": 1, "a": [None, True, "Ngọc"]}) == (
        '{"a":[null,true,"Ng\\u1ecdc"],"b":1}'
    )
    assert audit.canonical_json(hanoi) == '"2026-11-24T01:10:00.000005+00:00"'
    # Decimals are strings, whatever scale the database gives back.
    assert audit.canonical_json(Decimal("1000.0000")) == audit.canonical_json(Decimal("1E+3"))
    assert audit.canonical_json(Decimal("0.3")) == '"0.3"'
    # JSONB gives 1e16 back as an integer and 1.0 as 1.0: both hash as the number they are.
    assert audit.canonical_json(1e16) == audit.canonical_json(10_000_000_000_000_000)
    assert audit.canonical_json(1.0) == audit.canonical_json(1) == "1"
    assert audit.canonical_json("1") != audit.canonical_json(1)


def test_a_naive_datetime_cannot_be_hashed():
    with pytest.raises(ValueError, match="naive"):
        audit.canonical_json(datetime(2026, 11, 24, 8, 10))  # noqa: DTZ001


def test_units_and_overrides_hash_as_sets():
    administration = SimpleNamespace(**dict.fromkeys(audit.ADMINISTRATION_FIELDS, "x"))
    one, two = (
        SimpleNamespace(**{**dict.fromkeys(audit.UNIT_FIELDS, ""), "serial": serial})
        for serial in ("S1", "S2")
    )
    assert audit.administration_hash(administration, [one, two], []) == (
        audit.administration_hash(administration, [two, one], [])
    )
    assert audit.administration_hash(administration, [one], []) != (
        audit.administration_hash(administration, [one, two], [])
    )


def test_a_prn_reason_is_hashed_only_when_there_is_one():
    # given: a record as it was written before PRN reasons existed
    fields = dict.fromkeys(audit.ADMINISTRATION_FIELDS, "x")
    before = audit.administration_hash(SimpleNamespace(**fields), [], [])

    # when / then: an empty reason leaves its hash as it was, a reason changes it
    assert audit.administration_hash(SimpleNamespace(**fields, prn_reason=""), [], []) == before
    given_for_pain = audit.administration_hash(SimpleNamespace(**fields, prn_reason="đau"), [], [])
    assert given_for_pain != before
    assert given_for_pain != (
        audit.administration_hash(SimpleNamespace(**fields, prn_reason="sốt"), [], [])
    )


@pytest.mark.parametrize(
    ("model", "names", "linked_by"),
    [
        (
            Administration,
            audit.ADMINISTRATION_FIELDS + audit.OPTIONAL_ADMINISTRATION_FIELDS,
            set(),
        ),
        (ScanEvent, audit.SCAN_EVENT_FIELDS, set()),
        (AdministeredUnit, audit.UNIT_FIELDS, {"administration_id"}),
        (Override, audit.OVERRIDE_FIELDS, {"administration_id"}),
    ],
)
def test_every_stored_field_is_hashed(model, names, linked_by):
    # A new column must be added to the hash deliberately (with a new audit.VERSION).
    stored = {field.attname for field in model._meta.concrete_fields}
    assert stored - {"id", *audit.CHAIN_FIELDS} - linked_by == set(names)


# Through the bedside API.


def test_the_bedside_round_leaves_chains_that_verify(nurse_client):
    # given
    flow = bedside_flow(nurse_client)

    # when
    status, output = verify_audit()

    # then
    assert status == 0, output
    records = Administration.objects.count() + ScanEvent.objects.count()
    chains = (
        Administration.objects.values("patient").distinct().count()
        + ScanEvent.objects.values("performer").distinct().count()
    )
    assert f"Audit chains intact: {chains} chains, {records} records checked." in output
    # record, not given, entered in error, replacement: one chain for the patient, in order
    an = flow["given"].patient
    assert list(
        Administration.objects.filter(patient=an)
        .order_by("chain_seq")
        .values_list("chain_seq", "status")
    ) == [(1, "completed"), (2, "not_done"), (3, "entered_in_error"), (4, "completed")]
    events = ScanEvent.objects.filter(performer=flow["given"].performer).order_by("chain_seq")
    assert list(events.values_list("chain_seq", flat=True)) == list(range(1, events.count() + 1))
    assert events.first().previous_hash == audit.GENESIS


def test_a_changed_record_is_reported_as_changed_content(nurse_client):
    # given
    given = bedside_flow(nurse_client)["given"]

    # when: the amount is raised behind the application's back
    tamper("UPDATE scanning_administration SET amount = 2000 WHERE id = %s", [given.pk])

    # then
    status, output = verify_audit()
    assert status == 1
    assert broken_lines(output) == [
        f"BROKEN scanning_administration id={given.pk} "
        f"(patient {given.patient_id}, seq {given.chain_seq}): content changed: "
        + output.split("content changed: ")[1].splitlines()[0]
    ]
    assert "1 broken chains" in output


def test_a_changed_unit_breaks_its_administration(nurse_client):
    given = bedside_flow(nurse_client)["given"]

    tamper(
        "UPDATE scanning_administeredunit SET lot = 'OTHER' WHERE administration_id = %s",
        [given.pk],
    )

    status, output = verify_audit()
    assert status == 1
    assert broken_lines(output)[0].startswith(
        f"BROKEN scanning_administration id={given.pk} (patient {given.patient_id}, seq 1): "
        "content changed"
    )


def test_a_unit_added_to_an_old_record_breaks_it(nurse_client):
    # The trigger refuses UPDATE and DELETE but an INSERT is how records are written: only the
    # chain notices a unit slipped under yesterday's administration.
    given = bedside_flow(nurse_client)["given"]
    unit = given.units.first()

    AdministeredUnit.objects.create(
        administration=given, package_id=unit.package_id, gtin=unit.gtin, serial="SLIPPED-IN"
    )

    status, output = verify_audit()
    assert status == 1
    assert f"id={given.pk} (patient {given.patient_id}, seq 1): content changed" in output


def test_a_changed_scan_event_is_reported(nurse_client):
    event = bedside_flow(nurse_client)["refused_event"]

    tamper("UPDATE scanning_scanevent SET verdict = 'go' WHERE id = %s", [event.pk])

    status, output = verify_audit()
    assert status == 1
    assert broken_lines(output)[0].startswith(
        f"BROKEN scanning_scanevent id={event.pk} "
        f"(performer {event.performer_id}, seq {event.chain_seq}): content changed"
    )


# Chains built directly, to cut rows out and forge them in.


def not_given(order, performer, **fields) -> Administration:
    return Administration(
        patient=order.admission.patient,
        admission=order.admission,
        order=order,
        status="not_done",
        reason="refused",
        performer=performer,
        administered_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def chain(db):
    """Three records in one patient's chain."""
    order, nurse = OrderFactory(), NurseFactory()
    rows = [administration_append(not_given(order, nurse)) for _ in range(3)]
    return SimpleNamespace(order=order, nurse=nurse, rows=rows)


def test_each_link_is_the_link_of_the_row_before_as_python_hashes_it(chain):
    # given: three records and three scan events, sealed by the database on PostgreSQL
    events = [
        scan_event_append(ScanEvent(performer=chain.nurse, purpose="check")) for _ in range(3)
    ]

    # then: the chain columns in memory are the stored ones, each the link of the row before
    for rows in (chain.rows, events):
        stored = type(rows[0]).objects.filter(pk__in=[row.pk for row in rows]).order_by("chain_seq")
        assert [(r.chain_seq, r.previous_hash, r.content_hash) for r in stored] == [
            (r.chain_seq, r.previous_hash, r.content_hash) for r in rows
        ]
        assert [r.chain_seq for r in rows] == [1, 2, 3]
        assert rows[0].previous_hash == audit.GENESIS
        for before, after in pairwise(rows):
            assert after.previous_hash == audit.link_hash(
                seq=before.chain_seq,
                previous_hash=before.previous_hash,
                content_hash=before.content_hash,
            )


def test_a_deleted_record_leaves_a_sequence_gap(chain):
    _first, middle, last = chain.rows

    tamper("DELETE FROM scanning_administration WHERE id = %s", [middle.pk])

    status, output = verify_audit()
    assert status == 1
    assert broken_lines(output) == [
        f"BROKEN scanning_administration id={last.pk} (patient {last.patient_id}, seq 3): "
        "sequence gap: expected sequence number 2, found 3"
    ]


def test_a_deleted_scan_event_leaves_a_sequence_gap(db):
    nurse = NurseFactory()
    events = [scan_event_append(ScanEvent(performer=nurse, purpose="check")) for _ in range(3)]

    tamper("DELETE FROM scanning_scanevent WHERE id = %s", [events[1].pk])

    status, output = verify_audit()
    assert status == 1
    assert broken_lines(output) == [
        f"BROKEN scanning_scanevent id={events[2].pk} (performer {nurse.pk}, seq 3): "
        "sequence gap: expected sequence number 2, found 3"
    ]


def test_a_record_forged_into_the_middle_breaks_the_next_link(chain):
    # given: a forger who knows the algorithm makes room at seq 3 and writes a perfect link there
    _first, middle, last = chain.rows
    tamper("UPDATE scanning_administration SET chain_seq = 4 WHERE id = %s", [last.pk])
    forged = not_given(chain.order, chain.nurse, comment="given late, not refused")
    seal = audit.seal_next(
        (middle.chain_seq, middle.previous_hash, middle.content_hash),
        audit.administration_hash(forged, [], []),
    )
    forged.chain_seq, forged.previous_hash, forged.content_hash = (
        seal.chain_seq,
        seal.previous_hash,
        seal.content_hash,
    )
    forged.save(force_insert=True)

    # when
    status, output = verify_audit()

    # then: the forged row holds, the record after it no longer does
    assert status == 1
    assert broken_lines(output) == [
        f"BROKEN scanning_administration id={last.pk} (patient {last.patient_id}, seq 4): "
        "link broken: " + output.split("link broken: ")[1].splitlines()[0]
    ]


def test_a_record_written_around_the_chain_is_reported(chain):
    stray = Administration.objects.create(
        **{
            field: getattr(not_given(chain.order, chain.nurse), field)
            for field in ("patient", "admission", "order", "status", "reason", "performer")
        },
        administered_at=timezone.now(),
    )

    status, output = verify_audit()
    assert status == 1
    assert broken_lines(output)[0].startswith(
        f"BROKEN scanning_administration id={stray.pk} (patient {stray.patient_id}, seq None): "
        "not chained"
    )


def test_a_chain_cannot_fork(chain):
    first = chain.rows[0]
    fork = not_given(chain.order, chain.nurse)
    fork.chain_seq, fork.previous_hash, fork.content_hash = (
        1,
        audit.GENESIS,
        audit.administration_hash(fork, [], []),
    )

    with pytest.raises(ValidationError):
        fork.validate_constraints()
    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save(force_insert=True)
    assert Administration.objects.filter(patient=first.patient, chain_seq=1).count() == 1


def test_only_the_first_break_of_each_chain_is_reported(chain):
    # given: two breaks in one chain, one in another
    first, _middle, last = chain.rows
    other_order = OrderFactory()
    other = [administration_append(not_given(other_order, chain.nurse)) for _ in range(3)]
    tamper(
        "UPDATE scanning_administration SET comment = 'x' WHERE id IN (%s, %s, %s)",
        [first.pk, last.pk, other[1].pk],
    )

    status, output = verify_audit()

    assert status == 1
    assert [line.split(":")[0] for line in broken_lines(output)] == [
        f"BROKEN scanning_administration id={first.pk} (patient {first.patient_id}, seq 1)",
        f"BROKEN scanning_administration id={other[1].pk} (patient {other[1].patient_id}, seq 2)",
    ]
    assert "2 broken chains; 2 chains, 6 records checked." in output


def test_odd_values_hash_alike_before_the_insert_and_after_the_read(db):
    # given: a share of a dose with more places than the column, a local time, awkward JSON
    order, nurse = OrderFactory(), NurseFactory()
    package = PackageFactory(medication=order.medication)
    local = timezone.now().astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    administration_append(
        Administration(
            patient=order.admission.patient,
            admission=order.admission,
            order=order,
            status="completed",
            performer=nurse,
            administered_at=local,
            amount=Decimal("1000") / 3,
            unit="mg",
            route="PO",
            is_partial=True,
        ),
        units=[AdministeredUnit(package=package, gtin=package.gtin, serial="Ä\x1d1")],
        overrides=[Override(finding_code="DOSE_INCOMPLETE", reason="OTHER", comment="½ viên")],
    )
    scan_event_append(
        ScanEvent(
            performer=nurse,
            purpose="check",
            scans=[{"raw": "]d2\x1d0109", "big": 1e16, "ratio": 0.1, "pair": (1, 2)}],
            findings=[{"code": "X", "data": {"minutes": 61.0, "ids": [3, 1]}}],
        )
    )

    # then
    assert verify_audit()[0] == 0
    assert Administration.objects.get().amount == Decimal("333.3333")


def test_verify_streams_in_chunks(chain):
    for _ in range(3):
        administration_append(not_given(chain.order, chain.nurse))

    with CaptureQueriesContext(connection) as queries:
        status, output = verify_audit(chunk_size=2)

    assert status == 0, output
    assert "1 chains, 6 records checked" in output
    # one read of each table, plus units and overrides once per chunk of two administrations
    selects = [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"]]
    assert sum("scanning_administeredunit" in sql for sql in selects) == 3


# The record path: chains under concurrency, and the migration that back-fills them.


@pytest.fixture
def demo_at_eight(transactional_db):
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        yield


@pytest.mark.postgres
def test_one_nurse_checking_at_several_carts_at_once_keeps_one_unforked_chain(demo_at_eight):
    clients = [badge_client(HOA_BADGE, "111111") for _ in range(8)]
    body = {"patient": image(AN_BAND), "medications": [image(PARACETAMOL[0])]}
    start, statuses = threading.Barrier(8), [None] * 8

    def check(index):
        try:
            start.wait()
            statuses[index] = clients[index].post("/api/v1/scan/check/", body, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=check, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [response.status_code for response in statuses] == [200] * 8
    assert sorted(ScanEvent.objects.values_list("chain_seq", flat=True)) == list(range(1, 9))
    assert verify_audit()[0] == 0


LAST_UNCHAINED = ("scanning", "0002_append_only_triggers")


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_the_rows_written_before_it():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([LAST_UNCHAINED])
    try:
        # given: records written before the chains, by the old schema's models
        old = MigrationExecutor(connection).loader.project_state(LAST_UNCHAINED).apps
        order, nurse = OrderFactory(), NurseFactory()
        package = PackageFactory(medication=order.medication)
        OldAdministration = old.get_model("scanning", "Administration")
        rows = []
        for status in ("completed", "not_done"):
            row = OldAdministration.objects.create(
                patient_id=order.admission.patient_id,
                admission_id=order.admission_id,
                order_id=order.pk,
                performer_id=nurse.pk,
                administered_at=datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
                + timedelta(hours=len(rows)),
                status=status,
                reason="" if status == "completed" else "refused",
                amount=Decimal("500") if status == "completed" else None,
                unit="mg" if status == "completed" else "",
                route="PO" if status == "completed" else "",
            )
            rows.append(row)
        old.get_model("scanning", "AdministeredUnit").objects.create(
            administration_id=rows[0].pk, package_id=package.pk, gtin=package.gtin, serial="S1"
        )
        old.get_model("scanning", "Override").objects.create(
            administration_id=rows[0].pk, finding_code="TOO_LATE", reason="PATIENT_AWAY"
        )
        old.get_model("scanning", "ScanEvent").objects.create(
            performer_id=nurse.pk, purpose="record", administration_id=rows[0].pk
        )

        # when
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)

    # then: each old row is a link, in the order it was written, and the chains verify
    assert list(Administration.objects.order_by("created_at").values_list("pk", "chain_seq")) == [
        (rows[0].pk, 1),
        (rows[1].pk, 2),
    ]
    assert ScanEvent.objects.get().chain_seq == 1
    status, output = verify_audit()
    assert status == 0, output
    assert "2 chains, 3 records checked" in output
    if connection.vendor == "postgresql":
        # and the append-only trigger is back on
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            Administration.objects.filter(pk=rows[0].pk).update(comment="x")
