import os

import pytest
from django.db import connection


def pytest_configure(config):
    # CI sets REQUIRE_POSTGRES for its PostgreSQL pass: a silent fallback to SQLite would skip
    # every concurrency test and still look green.
    if os.environ.get("REQUIRE_POSTGRES") and connection.vendor != "postgresql":
        raise pytest.UsageError("REQUIRE_POSTGRES is set but the database is " + connection.vendor)
    if connection.vendor == "sqlite":
        from tests.shared_sqlite import serialise_shared_sqlite_connection

        serialise_shared_sqlite_connection()


# What makes a test touch the database: pytest-django refuses any other test a connection.
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
    | {"live_server", "django_db_setup"}
)


def uses_database(item) -> bool:
    return (
        item.get_closest_marker("django_db") is not None
        or "postgres" in item.keywords
        or not DATABASE_FIXTURES.isdisjoint(item.fixturenames)
    )


def pytest_collection_modifyitems(config, items):
    # CI's PostgreSQL pass (ONLY_DATABASE_TESTS=1) leaves out the tests that use no database: they
    # ran the same in the SQLite pass beside it (rule tables, parsers, decoders), and would run
    # here without a connection. Reported as deselected, with their number.
    if os.environ.get("ONLY_DATABASE_TESTS"):
        databaseless = [item for item in items if not uses_database(item)]
        if databaseless:
            config.hook.pytest_deselected(items=databaseless)
            items[:] = [item for item in items if uses_database(item)]
    # PostgreSQL-only tests (row locks, concurrency) are skipped on SQLite; CI runs the suite on both.
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete_in_replica_mode():
    """Transactional tests end with a flush of every table. PostgreSQL's flush is a TRUNCATE,
    which the ledger's BEFORE TRUNCATE trigger refuses (scanning/migrations/0005) and which costs
    seconds for ~60 small tables (a file swap per table and index); this flush DELETEs instead, in
    replica mode, where no trigger fires (neither the ledger's nor the foreign keys': every table is
    emptied). Only the test database's superuser may set replica mode; the app's role may not."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            statements = original(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
            return ["SET LOCAL session_replication_role = replica", *statements]
        deletes = [f"DELETE FROM {self.quote_name(table)}" for table in tables]
        return ["SET LOCAL session_replication_role = replica", *deletes]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture
def pharmacist(db):
    from tests.factories import PharmacistFactory

    return PharmacistFactory()


@pytest.fixture
def nurse(db):
    from tests.factories import NurseFactory

    return NurseFactory()
