"""The SQLite pass's one connection, shared by the live server's threads, must not deadlock."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.shared_sqlite import OneRequestAtATimeServer

# Two threads on one connection: one runs a statement that calls a Django SQL function (REGEXP)
# row by row, the other reads rows. Without the lock this froze the whole process within a second
# (tried by hand: every run); the parent gives it a minute.
SCRIPT = """
import os, sys, threading, time
os.environ["DJANGO_SETTINGS_MODULE"] = "hospital.settings.test"
os.environ["DATABASE_URL"] = "sqlite://:memory:"
import django
django.setup()
from tests.shared_sqlite import serialise_shared_sqlite_connection
serialise_shared_sqlite_connection()
from django.db import connections
shared = connections["default"]
shared.inc_thread_sharing()
NUMBERS = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000) "
rounds = {"function": 0, "rows": 0}
errors = []
threading.excepthook = lambda failure: errors.append(repr(failure.exc_value))
until = time.monotonic() + 2

def with_function():
    connections["default"] = shared
    while time.monotonic() < until:
        with shared.cursor() as cursor:
            cursor.execute(NUMBERS + "SELECT x FROM n WHERE CAST(x AS TEXT) REGEXP %s", ["7"])
            assert len(cursor.fetchall()) == 813
        rounds["function"] += 1

def reading_rows():
    connections["default"] = shared
    while time.monotonic() < until:
        with shared.cursor() as cursor:
            cursor.execute(NUMBERS + "SELECT x FROM n")
            assert sum(1 for _ in cursor) == 3000
        rounds["rows"] += 1

threads = [threading.Thread(target=f) for f in (with_function, reading_rows)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
if errors:
    sys.exit(" ".join(errors))
print(rounds["function"], rounds["rows"])
"""


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="only the SQLite pass shares a connection"
)
def test_two_threads_on_the_shared_connection_both_finish():
    done = subprocess.run(  # noqa: S603 - this interpreter on the script above
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    function_rounds, row_rounds = map(int, done.stdout.split())
    assert function_rounds > 0
    assert row_rounds > 0


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="only the SQLite pass shares a connection"
)
def test_the_live_server_runs_one_request_at_a_time(live_server):
    assert isinstance(live_server.thread.httpd, OneRequestAtATimeServer)
