import os

import pytest
from django.db import connection


def pytest_configure(config):
    # CI sets REQUIRE_POSTGRES for its PostgreSQL pass: a silent fallback to SQLite would skip
    # every concurrency test and still look green.
    if os.environ.get("REQUIRE_POSTGRES") and connection.vendor != "postgresql":
        raise pytest.UsageError("REQUIRE_POSTGRES is set but the database is " + connection.vendor)


def pytest_collection_modifyitems(config, items):
    # PostgreSQL-only tests (row locks, concurrency) are skipped on SQLite; CI runs the suite on both.
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_truncate_trigger():
    """Transactional tests end with a flush (TRUNCATE of every table), which the ledger's BEFORE
    TRUNCATE trigger refuses (scanning/migrations/0005). The test database's superuser flushes in
    replica mode, where no trigger fires; the application's role may not set it."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return original(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


@pytest.fixture
def pharmacist(db):
    from tests.factories import PharmacistFactory

    return PharmacistFactory()


@pytest.fixture
def nurse(db):
    from tests.factories import NurseFactory

    return NurseFactory()
