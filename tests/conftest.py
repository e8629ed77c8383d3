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


@pytest.fixture
def pharmacist(db):
    from tests.factories import PharmacistFactory

    return PharmacistFactory()


@pytest.fixture
def nurse(db):
    from tests.factories import NurseFactory

    return NurseFactory()
