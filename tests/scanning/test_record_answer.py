"""The record's answer is built from the rows just written, not read back."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.scanning.conftest import AN_BAND, PARACETAMOL, image


def test_record_answer_reads_nothing_back(nurse_client):
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}
    with CaptureQueriesContext(connection) as c:
        r = nurse_client.post("/api/v1/administrations/", body, format="json")
    assert r.status_code == 201 and len(r.json()["units"]) == 2
    read_back = [
        q["sql"]
        for q in c.captured_queries
        if q["sql"].startswith(
            ('SELECT "scanning_administeredunit"."id"', 'SELECT "scanning_override"')
        )
    ]
    assert read_back == []


def test_a_record_read_back_answers_with_the_same_units_and_overrides(nurse_client):
    # given: the answer built from the rows just written
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}
    written = nurse_client.post("/api/v1/administrations/", body, format="json").json()

    # when: the same record read back from the database (the feed)
    feed = nurse_client.get("/api/v1/administrations/?since=2000-01-01T00:00:00").json()

    # then
    (read,) = [row for row in feed["results"] if row["id"] == written["id"]]
    assert read["units"] == written["units"] and len(read["units"]) == 2
    assert read["overrides"] == written["overrides"]


def test_a_record_read_back_lists_its_rows_in_the_order_they_were_written(nurse_client):
    # given: a record with two units (a vacuum may move rows in PostgreSQL's heap, so an
    # unordered read can return them either way round: CI saw it)
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}
    nurse_client.post("/api/v1/administrations/", body, format="json")

    # when: the feed reads it back
    with CaptureQueriesContext(connection) as c:
        nurse_client.get("/api/v1/administrations/?since=2000-01-01T00:00:00")

    # then: each child table is read in the order its rows were inserted
    children = (
        "scanning_administeredunit",
        "scanning_override",
        "scanning_administrationassessment",
    )
    reads = {
        table: q["sql"]
        for q in c.captured_queries
        for table in children
        if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    }
    assert set(reads) == set(children)
    for table, sql in reads.items():
        assert sql.endswith(f'ORDER BY "{table}"."id" ASC'), sql
