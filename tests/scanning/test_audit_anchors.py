"""Chain heads anchored outside the database (scanning/anchors.py): what the chains alone cannot
see (an emptied ledger, a cut-off tail, a tail rewritten with fresh hashes) fails verify_audit
against a signed anchor."""

import json
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from scanning import audit
from scanning.chains import administration_append, scan_event_append
from scanning.models import AdministeredUnit, Administration, Override, ScanEvent
from tests.factories import NurseFactory, OrderFactory
from tests.scanning.test_audit_chain import not_given, tamper, verify_audit

LEDGER = ["scanning_administeredunit", "scanning_override", "scanning_administration"]


def audit_anchor(directory) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("audit_anchor", anchor_dir=str(directory), stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def anchor_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ANCHOR")]


@pytest.fixture
def anchored(db, tmp_path):
    """Two patients' chains of three records each, two scan events, and an anchor of them."""
    nurse = NurseFactory()
    orders = [OrderFactory(), OrderFactory()]
    rows = [administration_append(not_given(order, nurse)) for order in orders for _ in range(3)]
    events = [scan_event_append(ScanEvent(performer=nurse, purpose="check")) for _ in range(2)]
    status, output = audit_anchor(tmp_path)
    assert status == 0, output
    return SimpleNamespace(dir=tmp_path, nurse=nurse, orders=orders, rows=rows, events=events)


def empty_the_ledger() -> None:
    """As the owner or a superuser would: on PostgreSQL TRUNCATE, past the BEFORE TRUNCATE trigger
    (replica mode, which only a superuser may set); on SQLite a DELETE."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending checks
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"TRUNCATE {', '.join(LEDGER)}, scanning_scanevent CASCADE")
        else:
            for table in [*LEDGER, "scanning_scanevent"]:
                cursor.execute(f"DELETE FROM {table}")


def test_an_emptied_ledger_fails_against_its_anchor(anchored):
    empty_the_ledger()

    # the chains alone see nothing wrong with no chains at all
    assert verify_audit() == (0, "Audit chains intact: 0 chains, 0 records checked.\n")
    status, output = verify_audit(anchor_dir=str(anchored.dir))

    assert status == 1
    assert anchor_lines(output) == [
        "ANCHOR scanning_administration: ledger emptied: the table is empty; it held 6 records at "
        + anchor_time(anchored.dir),
        "ANCHOR scanning_scanevent: ledger emptied: the table is empty; it held 2 records at "
        + anchor_time(anchored.dir),
    ]
    assert "2 differences from the anchor" in output


def anchor_time(directory) -> str:
    (path,) = directory.glob("audit-heads-*.json")
    return json.loads(path.read_text())["written_at"]


def test_a_deleted_tail_fails_against_its_anchor(anchored):
    last = anchored.rows[2]
    tamper("DELETE FROM scanning_administration WHERE id = %s", [last.pk])

    assert verify_audit()[0] == 0  # a chain cut short still links up
    status, output = verify_audit(anchor_dir=str(anchored.dir))

    assert status == 1
    assert anchor_lines(output) == [
        "ANCHOR scanning_administration: fewer records than anchored: 5 records now, 6 at "
        + anchor_time(anchored.dir),
        f"ANCHOR scanning_administration (patient {last.patient_id}): anchored records missing: "
        f"anchored up to sequence number 3 at {anchor_time(anchored.dir)}, now ends at 2",
    ]


def test_a_deleted_chain_fails_against_its_anchor(anchored):
    tamper("DELETE FROM scanning_scanevent")

    status, output = verify_audit(anchor_dir=str(anchored.dir))

    assert status == 1
    assert anchor_lines(output) == [
        "ANCHOR scanning_scanevent: ledger emptied: the table is empty; it held 2 records at "
        + anchor_time(anchored.dir)
    ]


def rewrite_consistently(row: Administration, comment: str) -> None:
    """Change a chain's head and store its fresh content hash: the chain still links up."""
    row.comment = comment
    content = audit.administration_hash(
        row,
        AdministeredUnit.objects.filter(administration=row),
        Override.objects.filter(administration=row),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scanning_administration SET comment = %s, content_hash = %s WHERE id = %s",
            [comment, content, row.pk],
        )


@pytest.mark.postgres
def test_a_head_rewritten_after_disable_trigger_fails_against_its_anchor(anchored):
    last = Administration.objects.get(pk=anchored.rows[5].pk)
    with connection.cursor() as cursor:
        # as a superuser or the tables' owner; pending foreign key checks first (ALTER TABLE
        # refuses to run with trigger events pending in the transaction)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "ALTER TABLE scanning_administration DISABLE TRIGGER scanning_administration_append_only"
        )
    rewrite_consistently(last, "given by someone else")
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE scanning_administration ENABLE TRIGGER scanning_administration_append_only"
        )

    assert verify_audit()[0] == 0  # the rewrite recomputed the hash: the chain alone cannot tell
    status, output = verify_audit(anchor_dir=str(anchored.dir))

    assert status == 1
    assert anchor_lines(output) == [
        f"ANCHOR scanning_administration (patient {last.patient_id}): anchored record rewritten: "
        f"sequence number 3 no longer hashes to the link anchored at {anchor_time(anchored.dir)}"
    ]


def test_a_head_rewritten_in_place_fails_against_its_anchor(anchored):
    last = Administration.objects.get(pk=anchored.rows[2].pk)
    if connection.vendor == "postgresql":
        tamper("SELECT 1")  # replica mode for the rest of the transaction
    rewrite_consistently(last, "rewritten")

    status, output = verify_audit(anchor_dir=str(anchored.dir))

    assert status == 1
    assert [line.split(":")[1].strip() for line in anchor_lines(output)] == [
        "anchored record rewritten"
    ]


def test_records_added_after_the_anchor_verify(anchored):
    order = anchored.orders[0]
    administration_append(not_given(order, anchored.nurse))
    administration_append(not_given(OrderFactory(), anchored.nurse))
    scan_event_append(ScanEvent(performer=NurseFactory(), purpose="check"))

    status, output = verify_audit(anchor_dir=str(anchored.dir))

    assert status == 0, output
    assert output.startswith("Audit chains intact: 5 chains, 11 records checked against the anchor")


def test_a_changed_anchor_is_not_trusted(anchored):
    (path,) = anchored.dir.glob("audit-heads-*.json")
    document = json.loads(path.read_text())
    document["tables"]["scanning_administration"]["records"] = 5
    path.write_text(json.dumps(document))

    status, output = verify_audit(anchor_dir=str(anchored.dir))

    assert status == 1
    assert "Audit anchors cannot be trusted" in output
    assert "bad signature" in output


def test_an_anchor_signed_with_another_key_is_not_trusted(anchored):
    with override_settings(AUDIT_ANCHOR_KEY="someone-else"):
        status, output = verify_audit(anchor_dir=str(anchored.dir))

    assert status == 1
    assert "bad signature" in output


def test_no_anchor_where_anchors_were_asked_for_fails(db, tmp_path):
    assert verify_audit(anchor_dir=str(tmp_path))[0] == 1
    status, output = verify_audit(anchor_dir=str(tmp_path / "missing"))
    assert status == 1
    assert "does not exist" in output


def test_a_cut_tail_is_never_anchored(anchored):
    (path,) = anchored.dir.glob("audit-heads-*.json")
    before = path.read_bytes()
    tamper("DELETE FROM scanning_administration WHERE id = %s", [anchored.rows[5].pk])

    status, output = audit_anchor(anchored.dir)

    assert status == 1
    assert "Not anchored" in output
    assert "anchored records missing" in output
    assert path.read_bytes() == before
    assert verify_audit(anchor_dir=str(anchored.dir))[0] == 1


def test_the_anchor_is_written_whole_and_replaced_the_same_day(anchored):
    administration_append(not_given(anchored.orders[1], anchored.nurse))

    status, output = audit_anchor(anchored.dir)

    assert status == 0, output
    assert [path.name for path in anchored.dir.iterdir()] == [
        next(anchored.dir.glob("audit-heads-*.json")).name
    ]  # no temporary file left behind, one file a day
    anchor = audit.anchor_read(
        json.loads(next(anchored.dir.glob("audit-heads-*.json")).read_text()),
        "test-only-anchor-key",
    )
    assert anchor.tables["scanning_administration"].records == 7
    assert anchor.tables["scanning_administration"].heads[str(anchored.rows[3].patient_id)][0] == 4
    assert anchor.tables["scanning_scanevent"].records == 2


def test_anchoring_needs_a_key_and_a_directory(db, tmp_path):
    with override_settings(AUDIT_ANCHOR_KEY=""):
        status, output = audit_anchor(tmp_path)
    assert (status, "AUDIT_ANCHOR_KEY" in output) == (1, True)
    with pytest.raises(CommandError, match="AUDIT_ANCHOR_DIR"):
        call_command("audit_anchor", stdout=StringIO())
