"""hospital.session_store reads a session with one hand-written statement: it must read exactly
what Django's database engine reads (the same row, the same expiry rule, the same contract on a
miss), on SQLite and on PostgreSQL."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hospital.session_store import SessionStore

pytestmark = pytest.mark.django_db


def test_it_is_the_configured_engine():
    assert settings.SESSION_ENGINE == "hospital.session_store"


def _saved(data: dict, *, expiry: int = 60) -> str:
    store = DjangoStore()
    store.update(data)
    store.set_expiry(expiry)
    store.save()
    return store.session_key


def test_a_live_session_reads_as_djangos_engine_reads_it():
    key = _saved({"ward": "NOI", "cart": "NOI-1", "n": 3})
    ours, theirs = SessionStore(key), DjangoStore(key)
    with CaptureQueriesContext(connection) as queries:
        data = ours.load()
    assert data == theirs.load()
    assert {key: data[key] for key in ("ward", "cart", "n")} == {
        "ward": "NOI",
        "cart": "NOI-1",
        "n": 3,
    }
    assert len(queries) == 1
    assert ours.session_key == key
    row = ours._get_session_from_db()
    reference = theirs._get_session_from_db()
    assert (row.session_key, row.session_data, row.expire_date) == (
        reference.session_key,
        reference.session_data,
        reference.expire_date,
    )


@pytest.mark.parametrize("seconds_after", [60, 61, 3600])
def test_an_expired_session_reads_as_empty_and_forgets_its_key(seconds_after):
    key = _saved({"ward": "NOI"}, expiry=60)
    with time_machine.travel(timezone.now() + timedelta(seconds=seconds_after)):
        ours, theirs = SessionStore(key), DjangoStore(key)
        assert ours.load() == theirs.load() == {}
        assert ours.session_key is None
        assert theirs.session_key is None


def test_just_before_expiry_the_session_is_still_read():
    key = _saved({"ward": "NOI"}, expiry=60)
    with time_machine.travel(timezone.now() + timedelta(seconds=59)):
        data = SessionStore(key).load()
        assert data == DjangoStore(key).load()
        assert data["ward"] == "NOI"


@pytest.mark.parametrize("key", [None, "", "short", "x" * 32])
def test_an_unknown_or_malformed_key_reads_as_empty(key):
    ours = SessionStore(key)
    assert ours.load() == DjangoStore(key).load() == {}
    assert ours.session_key is None


def test_saving_and_reading_back_through_our_engine():
    store = SessionStore()
    store["ward"] = "NGOAI"
    store.save()
    assert SessionStore(store.session_key).load() == {"ward": "NGOAI"}
    store["ward"] = "NOI"
    store.save()
    assert SessionStore(store.session_key).load() == {"ward": "NOI"}
    store.delete()
    assert SessionStore(store.session_key).load() == {}
