"""/healthz: the load balancer's check that an app server process is up. It answers without the
database (a database failover must not take every app server out of the load balancer) and
reveals nothing."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_to_anyone_without_the_database(client):
    # when
    with CaptureQueriesContext(connections["default"]) as queries:
        response = client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Cache-Control"] == "no-store"
    assert len(queries) == 0


def test_healthz_takes_no_posts(client):
    # when
    response = client.post("/healthz")

    # then
    assert response.status_code == 405
