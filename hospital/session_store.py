"""Django's database session engine, reading a session with one hand-written statement.

Every bedside request reads its cart session. Django's engine reads it through the ORM
(`Session.objects.get(session_key=…, expire_date__gt=now)`), compiled afresh on each request:
reading the session took 1,792 Python calls per check + record, 538 this way (counted as
bench.cost counts). This engine reads the same row under the same condition (its key, not yet
expired) as plain SQL, on the primary like the session's user (hospital/auth.py,
hospital/replica.py), and is Django's engine in everything else: creating, saving, deleting,
expiry, `clearsessions` and the async methods are inherited unchanged.

    SESSION_ENGINE = "hospital.session_store"
"""

from functools import cache

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from hospital.sql import ModelColumns, fetchall, table


@cache
def _session_statement() -> tuple[str, ModelColumns]:
    columns = ModelColumns(Session, "s")
    sql = (
        f"SELECT {columns.sql} FROM {table(Session)} s "  # noqa: S608 - names only
        "WHERE s.session_key = %s AND s.expire_date > %s"
    )
    return sql, columns


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        """The session's row if it exists and has not expired, as the ORM's `get` would return
        it; else None, forgetting the key (Django's contract: `load` then starts a new session)."""
        key = self.session_key
        if key is not None:
            sql, columns = _session_statement()
            rows = fetchall(sql, [key, timezone.now()])
            if rows:
                return columns.instance(rows[0])
        self._session_key = None
        return None
