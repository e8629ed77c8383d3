"""Reads off the primary: the views that only read, and may be a few seconds behind, read from a
streaming standby (the `replica` database alias, DATABASE_REPLICA_URL).

Explicit, per view: `@reads_from_replica` on the report pages, the ward dashboard, FHIR search
and the administrations feed. Nothing else ever reads from the replica: the router sends a read
there only inside `replica_reads()`, and even there not inside a transaction (a read in a write
transaction must see that transaction and hold its locks on the primary). The bedside check and
record are never decorated, so they always read the primary (tests/hospital/test_replica_router.py).

Before each decorated view the standby's replay lag is measured (one small query on the
connection the view will use). Past DATABASE_REPLICA_MAX_LAG_SECONDS the view reads from the
primary instead; a replica that cannot be reached is left alone for DATABASE_REPLICA_RETRY_SECONDS
and the primary serves meanwhile. The answer says where it read from (`X-Read-From`).

The user and the session are read before the switch, on the primary: a nurse who logged in a
second ago must not look logged out because the standby has not replayed her session yet.
"""

import functools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest
from django.template.response import TemplateResponse

from hospital.api import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)

REPLICA = "replica"
READ_FROM_HEADER = "X-Read-From"

_reading_from: ContextVar[str | None] = ContextVar("bcma_reading_from", default=None)
_replica_down_until = 0.0

# How far behind the primary the standby's data is, in seconds. Everything received is applied
# and the WAL receiver is running: not behind. Otherwise: the age of the last transaction it
# replayed (on a standby whose primary is gone, the age of its newest data). Not a standby at all
# (a promoted node, or a test mirror): not behind. pg_stat_wal_receiver shows its row (the pid)
# to any role; its details need pg_read_all_stats, so only the row's presence is used.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
        AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0
    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
END::float8
"""


class PrimaryReplicaRouter:
    """Writes, migrations and every read outside `replica_reads()` go to the primary."""

    def db_for_read(self, model, **hints):
        alias = _reading_from.get()
        if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            # Not None: Django would then follow an instance hint, and an object read from the
            # replica would pull its relations from there after the view.
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def replica_lag_seconds() -> float:
    """The replica's replication lag now (0 for a database that is not a standby)."""
    connection = connections[REPLICA]
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(LAG_SQL)
        return float(cursor.fetchone()[0])


def forget_replica_state() -> None:
    """Try the replica again at the next read (tests; a process just forked)."""
    global _replica_down_until
    _replica_down_until = 0.0


def _replica_fit() -> bool:
    global _replica_down_until
    if not settings.DATABASE_REPLICA_READS or REPLICA not in settings.DATABASES:
        return False
    if time.monotonic() < _replica_down_until:
        return False
    try:
        lag = replica_lag_seconds()
    except DATABASE_UNAVAILABLE as error:
        _replica_down_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
        first_line = (str(error).strip().splitlines() or [""])[0]
        logger.warning(
            "replica unreachable, reading from the primary for %.0f s: %s %s",
            settings.DATABASE_REPLICA_RETRY_SECONDS,
            type(error).__name__,
            first_line,
        )
        with suppress(DATABASE_UNAVAILABLE):
            connections[REPLICA].close()
        return False
    if lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
        logger.warning(
            "replica %.1f s behind (limit %.1f s): reading from the primary",
            lag,
            settings.DATABASE_REPLICA_MAX_LAG_SECONDS,
        )
        return False
    return True


@contextmanager
def replica_reads() -> Iterator[str]:
    """Reads inside go to the replica if it is reachable and recent enough, else to the primary;
    yields the alias chosen."""
    alias = REPLICA if _replica_fit() else DEFAULT_DB_ALIAS
    token = _reading_from.set(alias)
    try:
        yield alias
    finally:
        _reading_from.reset(token)


def _request(args) -> HttpRequest | None:
    """The request among a view's arguments: a function view's first, a method's second."""
    for arg in args[:2]:
        if isinstance(arg, HttpRequest) or hasattr(arg, "_request"):
            return arg
    return None


def reads_from_replica(view):
    """Decorate a view (function, or an APIView's method) that only reads and may be a few
    seconds behind. Its template is rendered inside, so lazy querysets read the replica too."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not settings.DATABASE_REPLICA_READS:
            return view(*args, **kwargs)
        request = _request(args)
        if request is not None:
            # Authentication (and the session) on the primary, before the switch.
            getattr(getattr(request, "user", None), "is_authenticated", None)
        with replica_reads() as alias:
            response = view(*args, **kwargs)
            if isinstance(response, TemplateResponse) and not response.is_rendered:
                response.render()
        response[READ_FROM_HEADER] = "replica" if alias == REPLICA else "primary"
        return response

    return wrapped
