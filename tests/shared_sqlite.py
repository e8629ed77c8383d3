"""One lock for the test process's shared in-memory SQLite connection.

On SQLite the test database lives in memory, so the live server's request threads and the test's
own thread all use one `sqlite3` connection (pytest-django's `live_server` hands it to every
request thread). Two threads on one connection deadlock the whole process: a statement that calls
one of Django's SQL functions (date extraction, REGEXP, …) runs it while holding the connection's
mutex and waits for the GIL, while the other thread holds the GIL reading a row and waits for the
mutex. CI's SQLite pass once hung for 90 minutes that way (the ward dashboard and its worklist,
loaded side by side by the browser). Two requests on one connection also share one transaction,
so one request's rollback could undo another's writes.

Hence: a request runs whole while it holds the lock, and every statement and row read on the
connection (the test thread's too) takes it. PostgreSQL and file databases give each thread its
own connection and are left alone.
"""

import functools
import sqlite3
import threading

from django.core.servers.basehttp import ThreadedWSGIServer
from django.db.backends.sqlite3.base import SQLiteCursorWrapper
from django.test.testcases import LiveServerThread

SHARED_CONNECTION = threading.RLock()


def _locked(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with SHARED_CONNECTION:
            return method(*args, **kwargs)

    return call


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server, each request's application call holding the shared connection's lock.
    The lock is not held while a kept-alive connection waits for its next request."""

    def set_app(self, application):
        super().set_app(_locked(application))


def serialise_shared_sqlite_connection() -> None:
    LiveServerThread.server_class = OneRequestAtATimeServer
    SQLiteCursorWrapper.execute = _locked(SQLiteCursorWrapper.execute)
    SQLiteCursorWrapper.executemany = _locked(SQLiteCursorWrapper.executemany)
    SQLiteCursorWrapper.fetchone = _locked(sqlite3.Cursor.fetchone)
    SQLiteCursorWrapper.fetchmany = _locked(sqlite3.Cursor.fetchmany)
    SQLiteCursorWrapper.fetchall = _locked(sqlite3.Cursor.fetchall)
    SQLiteCursorWrapper.__next__ = _locked(sqlite3.Cursor.__next__)
