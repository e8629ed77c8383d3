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
