import logging
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

import psycopg
import pytest
import time_machine
from django.db import InterfaceError, OperationalError, connection
from django.utils import translation

from interop import services as interop_services
from interop.models import Destination, OutboundMessage
from pharmacy.models import DoseState, ScheduledDose
from scanning import services as scanning_services
from scanning.api import idempotency
from scanning.api.clock import clock_warnings
from scanning.models import AdministeredUnit, Administration, IdempotentRequest, ScanEvent
from tests.demo_copy import demo_hospital_copy
from tests.scanning.conftest import AN_BAND, DEMO_NOW, HOA_BADGE, PARACETAMOL, badge_client, image
from tests.scanning.test_audit_chain import verify_audit

pytestmark = pytest.mark.django_db

AN_MRN, AN_NAME = "BN2026000101", "Nguyễn Văn An"


@pytest.fixture
def his(db):
    """A receiver, so that a record writes an outbox row."""
    return Destination.objects.create(name="HIS", host="127.0.0.1", port=2575)


def right_dose(**extra) -> dict:
    return {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL], **extra}


def record(client, key, **extra):
    return client.post(
        "/api/v1/administrations/", right_dose(**extra), format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def lost(kind=OperationalError):
    return kind("server closed the connection unexpectedly")


@contextmanager
def connection_lost_after_the_outbox_row():
    real = interop_services.outbox_enqueue_administration

    def enqueue(**kwargs):
        real(**kwargs)
        raise lost()

    with mock.patch.object(interop_services, "outbox_enqueue_administration", enqueue):
        yield


@contextmanager
def connection_lost_at_the_audit_event():
    with mock.patch.object(
        scanning_services, "scan_event_append", side_effect=lost(InterfaceError)
    ):
        yield


@contextmanager
def connection_lost_at_the_last_write_before_commit():
    def keep(*args, **kwargs):  # the answer stored under the key, after the work
        raise lost()

    with mock.patch.object(idempotency, "_answer_keep", keep):
        yield


@contextmanager
def database_down():
    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "10.0.0.5", port 5432 failed')

    with mock.patch("django.db.backends.utils.CursorWrapper.execute", refuse):
        yield


def assert_nothing_recorded():
    assert not Administration.objects.exists()
    assert not AdministeredUnit.objects.exists()
    assert not OutboundMessage.objects.exists()
    assert not IdempotentRequest.objects.exists()
    assert not ScanEvent.objects.filter(purpose="record").exists()


@pytest.mark.parametrize(
    "fault",
    [
        connection_lost_after_the_outbox_row,
        connection_lost_at_the_audit_event,
        connection_lost_at_the_last_write_before_commit,
    ],
)
def test_a_connection_lost_mid_record_is_a_503_and_leaves_nothing_behind(nurse_client, his, fault):
    # when
    with fault():
        response = record(nurse_client, key="flaky-wifi-1")

    # then
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert response["Retry-After"] == "5"
    assert_nothing_recorded()
    assert ScheduledDose.objects.filter(state=DoseState.GIVEN).count() == 0


@pytest.mark.parametrize(
    "fault", [connection_lost_after_the_outbox_row, connection_lost_at_the_last_write_before_commit]
)
def test_a_retry_after_a_lost_connection_records_exactly_once(nurse_client, his, fault):
    # given
    with fault():
        assert record(nurse_client, key="flaky-wifi-2").status_code == 503

    # when
    first = record(nurse_client, key="flaky-wifi-2")
    again = record(nurse_client, key="flaky-wifi-2")

    # then
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Administration.objects.count() == 1
    assert AdministeredUnit.objects.count() == 2
    assert OutboundMessage.objects.count() == 1
    assert verify_audit()[0] == 0


def test_the_api_is_a_json_503_when_the_database_is_down(nurse_client):
    with database_down():
        response = nurse_client.post("/api/v1/scan/check/", right_dose(), format="json")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert "10.0.0.5" not in response.content.decode()


@pytest.mark.parametrize("path", ["/cart/", "/pharmacy/"])
def test_a_page_is_a_503_page_not_a_500_when_the_database_is_down(nurse_client, path):
    with database_down():
        response = nurse_client.get(path)

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "<html" in page and "Traceback" not in page and "10.0.0.5" not in page


def test_the_cart_login_page_is_a_503_page_when_the_database_is_down(client, db):
    with database_down():
        response = client.get("/cart/login/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")


@pytest.fixture
def demo_at_eight(transactional_db):
    with time_machine.travel(DEMO_NOW, tick=False):
        demo_hospital_copy()
        Destination.objects.create(name="HIS", host="127.0.0.1", port=2575)
        yield


def second_connection() -> psycopg.Connection:
    settings = connection.settings_dict
    params = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"],
        "host": settings["HOST"],
        "port": settings["PORT"],
    }
    return psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v})


def row_is_locked(other: psycopg.Connection, patient_id: int) -> bool:
    try:
        other.execute("SELECT 1 FROM wards_patient WHERE id = %s FOR UPDATE NOWAIT", [patient_id])
    except psycopg.errors.LockNotAvailable:
        return True
    return False


@pytest.mark.postgres
def test_a_backend_killed_while_the_record_holds_its_locks_is_a_503_then_a_retry_records_once(
    demo_at_eight,
):
    # given: the record's backend is terminated from outside once it holds the patient's lock
    # and has written the record and its outbox row
    client = badge_client(HOA_BADGE, "111111")
    real = interop_services.outbox_enqueue_administration
    seen = {}

    def enqueue_then_die(**kwargs):
        real(**kwargs)
        patient_id = kwargs["administration"].patient_id
        with second_connection() as other:
            seen["locked_before"] = row_is_locked(other, patient_id)
            other.execute(
                "SELECT pg_terminate_backend(%s, 5000)", [connection.connection.info.backend_pid]
            )
            seen["locked_after"] = row_is_locked(other, patient_id)

    # when
    with mock.patch.object(interop_services, "outbox_enqueue_administration", enqueue_then_die):
        response = record(client, key="killed-1")

    # then
    assert seen == {"locked_before": True, "locked_after": False}
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert_nothing_recorded()

    # when the cart sends it again
    retry = record(client, key="killed-1")
    again = record(client, key="killed-1")

    # then
    assert (retry.status_code, again.status_code) == (201, 201)
    assert again.json() == retry.json()
    assert Administration.objects.count() == 1 and OutboundMessage.objects.count() == 1
    assert verify_audit()[0] == 0


# The cart's clock: never the record's time; far off, logged and warned.


def clock_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bcma.clock"]


def test_a_cart_clock_far_ahead_is_logged_and_warned_and_the_server_time_is_recorded(
    nurse_client, caplog
):
    # given
    caplog.set_level(logging.INFO)
    cart_time = DEMO_NOW + timedelta(minutes=10)

    # when
    response = record(nurse_client, key="clock-1", client_time=cart_time.isoformat())

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert datetime.fromisoformat(body["administered_at"]) == DEMO_NOW
    [warning] = body["warnings"]
    assert warning["code"] == "CLOCK_SKEW"
    assert warning["details"]["skew_seconds"] == 600
    [logged] = clock_records(caplog)
    assert logged.levelno == logging.WARNING
    assert (logged.cart, logged.skew_seconds) == ("NOI-1", 600)
    assert AN_NAME not in logged.getMessage() and AN_MRN not in logged.getMessage()


def test_a_cart_clock_behind_is_a_negative_skew(nurse_client, caplog):
    caplog.set_level(logging.INFO)
    cart_time = DEMO_NOW - timedelta(minutes=5)

    response = nurse_client.post(
        "/api/v1/scan/check/", right_dose(client_time=cart_time.isoformat()), format="json"
    )

    assert response.status_code == 200
    assert response.json()["warnings"][0]["details"]["skew_seconds"] == -300
    assert [r.skew_seconds for r in clock_records(caplog)] == [-300]


def test_a_cart_clock_within_the_threshold_is_quiet(nurse_client, caplog):
    caplog.set_level(logging.INFO)

    response = record(
        nurse_client, key="clock-2", client_time=(DEMO_NOW + timedelta(seconds=90)).isoformat()
    )

    assert response.status_code == 201
    assert response.json()["warnings"] == []
    assert clock_records(caplog) == []


def test_the_threshold_is_a_setting(nurse_client, caplog, settings):
    settings.CLOCK_SKEW_WARN_SECONDS = 30
    caplog.set_level(logging.INFO)

    response = nurse_client.post(
        "/api/v1/scan/check/",
        right_dose(client_time=(DEMO_NOW + timedelta(seconds=45)).isoformat()),
        format="json",
    )

    assert [w["code"] for w in response.json()["warnings"]] == ["CLOCK_SKEW"]


def test_a_retry_with_a_new_clock_reading_replays_the_first_answer(nurse_client):
    first = record(nurse_client, key="clock-3", client_time=DEMO_NOW.isoformat())
    again = record(
        nurse_client, key="clock-3", client_time=(DEMO_NOW + timedelta(seconds=7)).isoformat()
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Administration.objects.count() == 1


def test_a_malformed_cart_clock_is_a_400(nurse_client):
    response = record(nurse_client, key="clock-4", client_time="yesterday-ish")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["client_time"]
    assert not Administration.objects.exists()


@pytest.mark.parametrize(
    "client_time", ["0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00", "1990-01-01T00:00:00Z"]
)
def test_a_cart_clock_out_of_range_is_a_400_not_a_500(nurse_client, client_time):
    response = record(nurse_client, key="clock-5", client_time=client_time)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["client_time"]
    assert not Administration.objects.exists()


@pytest.mark.parametrize(
    ("skew", "language", "words"),
    [
        (600, "en", "This cart's clock is 10 minutes ahead of the server's."),
        (-300, "vi", "Đồng hồ của xe thuốc chậm hơn máy chủ 5 phút."),
        (45, "vi", "Đồng hồ của xe thuốc nhanh hơn máy chủ 45 giây."),
        (3 * 86400 + 2 * 3600 + 59, "vi", "Đồng hồ của xe thuốc nhanh hơn máy chủ 3 ngày, 2 giờ."),
    ],
)
def test_the_clock_warning_says_the_difference_as_a_person_does(settings, skew, language, words):
    # 989,170 seconds once reached a nurse as "lệch 989170 giây"
    settings.CLOCK_SKEW_WARN_SECONDS = 30
    with time_machine.travel(DEMO_NOW, tick=False), translation.override(language):
        [warning] = clock_warnings(
            client_time=DEMO_NOW + timedelta(seconds=skew), cart="NOI-1", endpoint="check"
        )
    # (Django writes "10 minutes" with a no-break space, so it never breaks across lines)
    assert warning["message"].replace("\xa0", " ").startswith(words)
