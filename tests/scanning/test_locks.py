"""scanning/locks.py: a record takes the bedside's row locks in the documented order (patient, its
open orders by primary key, the dose, the performer). Only PostgreSQL takes row locks."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hospital.models import User
from hospital.sql import table
from pharmacy.models import MedicationOrder, ScheduledDose
from tests.scanning.conftest import AN_BAND, PARACETAMOL, image
from wards.models import Patient

pytestmark = pytest.mark.skipif(
    not connection.features.has_select_for_update, reason="no row locks on this database"
)


def test_a_record_takes_the_locks_in_the_documented_order(frozen_demo, nurse_client):
    # given
    body = {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]}

    # when
    with CaptureQueriesContext(connection) as captured:
        response = nurse_client.post("/api/v1/administrations/", body, format="json")

    # then
    assert response.status_code == 201, response.content
    order = {
        table(Patient): "patient",
        table(MedicationOrder): "orders",
        table(ScheduledDose): "dose",
        table(User): "performer",
    }
    locked = []
    for query in captured:
        if "FOR NO KEY UPDATE" not in query["sql"] and "FOR UPDATE" not in query["sql"]:
            continue
        sql = query["sql"]
        # The row a statement locks is the one its outermost FROM names.
        first = min(
            (match.start(), name)
            for quoted, name in order.items()
            for match in re.finditer(rf"FROM {re.escape(quoted)}", sql)
        )
        locked.append(first[1])
    assert list(dict.fromkeys(locked)) == ["patient", "orders", "dose", "performer"]
