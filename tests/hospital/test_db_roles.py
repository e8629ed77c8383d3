"""The application's PostgreSQL role owns nothing and may only add to the ledger; migrations run as
the owner (hospital/db_roles.py). The roles are made in the test database by `manage.py db_roles`,
named after it, so that test runs side by side on one cluster do not share them."""

from contextlib import contextmanager
from io import StringIO

import psycopg
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from psycopg import errors

from hospital import db_roles
from pharmacy.demo import demo_hospital_load
from scanning.models import Administration
from tests.scanning.conftest import DEMO_NOW, HOA_BADGE, badge_client
from tests.scanning.test_audit_chain import bedside_flow, verify_audit

pytestmark = [pytest.mark.postgres]

PASSWORDS = {"owner": "owner-test-password", "app": "app-test-password"}


def url(user: str, password: str = "") -> str:
    settings = connection.settings_dict
    secret = f":{password}" if password else ""
    return (
        f"postgres://{user}{secret}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
        f"/{settings['NAME']}"
    )


@contextmanager
def connected_as(user: str, password: str = ""):
    """The whole application on the default connection as `user`, as DATABASE_URL would set it."""
    saved = connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]
    connection.close()
    connection.settings_dict.update(USER=user, PASSWORD=password)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(USER=saved[0], PASSWORD=saved[1])


@pytest.fixture(scope="module")
def roles(django_db_setup, django_db_blocker):
    """Both roles, made once for the module and committed (other connections must see them)."""
    with django_db_blocker.unblock():
        database = connection.settings_dict["NAME"]
        names = {"owner": f"{database}_owner"[:63], "app": f"{database}_app"[:63]}
        superuser = connection.settings_dict["USER"]
        admin_url = url(superuser, connection.settings_dict["PASSWORD"])
        migrate_url = url(names["owner"], PASSWORDS["owner"])
        with (
            override_settings(DATABASE_MIGRATE_URL=migrate_url, DATABASE_ADMIN_URL=admin_url),
            connected_as(names["app"], PASSWORDS["app"]),
        ):
            out = StringIO()
            call_command("db_roles", stdout=out)
            call_command("db_roles", stdout=out)  # again: nothing changes, nothing fails
        yield {**names, "superuser": superuser, "migrate_url": migrate_url, "output": out}
        with connection.cursor() as cursor:
            for role in (names["owner"], names["app"]):
                cursor.execute(f'REASSIGN OWNED BY "{role}" TO "{superuser}"')
                cursor.execute(f'DROP OWNED BY "{role}"')
                cursor.execute(f'DROP ROLE "{role}"')


def as_role(role: str, password: str) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=role,
        password=password,
        autocommit=True,
        options="-c lock_timeout=5000",
    )


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE scanning_administration CASCADE",
        "TRUNCATE scanning_scanevent",
        "TRUNCATE hospital_accesslog",
        "ALTER TABLE scanning_administration DISABLE TRIGGER scanning_administration_append_only",
        "ALTER TABLE scanning_scanevent DISABLE TRIGGER ALL",
        "SET session_replication_role = replica",
        "UPDATE scanning_administration SET comment = 'changed'",
        "DELETE FROM scanning_scanevent",
        "DROP TABLE scanning_override CASCADE",
        "DROP TRIGGER scanning_scanevent_no_truncate ON scanning_scanevent",
        "CREATE TABLE shadow (id int)",
        "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
    ],
)
def test_the_app_role_cannot_empty_rewrite_or_unprotect_the_ledger(roles, db, statement):
    with (
        as_role(roles["app"], PASSWORDS["app"]) as app,
        app.cursor() as cursor,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        cursor.execute(statement)


def test_the_app_role_is_no_superuser_and_owns_nothing(roles, db):
    with as_role(roles["app"], PASSWORDS["app"]) as app, app.cursor() as cursor:
        assert db_roles.app_role_findings(cursor, roles["app"]) == []
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        assert cursor.fetchone() == (0,)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        assert cursor.fetchall() == [(roles["owner"],)]


def test_even_the_owner_cannot_truncate_the_ledger(roles, db):
    with as_role(roles["owner"], PASSWORDS["owner"]) as owner, owner.cursor() as cursor:
        for table in db_roles.LEDGER_TABLES:
            with pytest.raises(errors.RestrictViolation, match="TRUNCATE refused"):
                cursor.execute(f"TRUNCATE {table} CASCADE")


def test_db_roles_check_finds_a_superuser_unsafe(roles, db):
    out = StringIO()
    with pytest.raises(CommandError, match="could empty or rewrite the ledger"):
        call_command("db_roles", check=True, stdout=out)
    assert f"UNSAFE {roles['superuser']} has SUPERUSER" in out.getvalue()


def test_db_roles_never_demotes_a_superuser(roles, db):
    with (
        override_settings(DATABASE_MIGRATE_URL=roles["migrate_url"]),
        pytest.raises(CommandError, match="is a superuser"),
    ):
        call_command("db_roles", admin_url=url(roles["superuser"]), stdout=StringIO())


def test_the_bedside_works_as_the_app_role_and_the_audit_verifies(
    roles, transactional_db, tmp_path
):
    with connected_as(roles["app"], PASSWORDS["app"]):
        with time_machine.travel(DEMO_NOW, tick=False):
            demo_hospital_load()
            client = badge_client(HOA_BADGE, "111111")
            recorded = bedside_flow(client)  # check, record, not given, a correction, a refusal
        assert Administration.objects.filter(corrects=recorded["given"]).exists()
        assert verify_audit()[0] == 0
        out = StringIO()
        call_command("audit_anchor", anchor_dir=str(tmp_path), stdout=out)
        status, output = verify_audit(anchor_dir=str(tmp_path))
        assert status == 0, output
        out = StringIO()
        call_command("db_roles", check=True, stdout=out)
        assert "owns nothing and may only add to the ledger" in out.getvalue()

    # the owner, past its own trigger, empties the ledger
    with as_role(roles["owner"], PASSWORDS["owner"]) as owner, owner.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE scanning_scanevent DISABLE TRIGGER scanning_scanevent_no_truncate"
        )
        cursor.execute("TRUNCATE scanning_scanevent CASCADE")  # and the checks that name its rows
        cursor.execute(
            "ALTER TABLE scanning_scanevent ENABLE TRIGGER scanning_scanevent_no_truncate"
        )

    with connected_as(roles["app"], PASSWORDS["app"]):
        status, output = verify_audit(anchor_dir=str(tmp_path))
    assert status == 1
    assert "ANCHOR scanning_scanevent: ledger emptied" in output


def test_migrate_connects_as_the_owner_and_grants_the_app_its_rights_again(roles, transactional_db):
    with connection.cursor() as cursor:  # drift: a right lost, a ledger right gained
        cursor.execute(f'REVOKE INSERT ON wards_patient FROM "{roles["app"]}"')
        cursor.execute(f'GRANT UPDATE, DELETE ON scanning_administration TO "{roles["app"]}"')

    out = StringIO()
    with (
        override_settings(DATABASE_MIGRATE_URL=roles["migrate_url"]),
        connected_as(roles["app"], PASSWORDS["app"]),
    ):
        call_command("migrate", interactive=False, stdout=out)

    assert (
        f"Migrated as {roles['owner']}; rights of {roles['app']} granted again." in out.getvalue()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s::name, 'wards_patient', 'INSERT'), "
            "has_table_privilege(%s::name, 'scanning_administration', 'UPDATE'), "
            "has_table_privilege(%s::name, 'scanning_administration', 'DELETE'), "
            "has_table_privilege(%s::name, 'scanning_administration', 'INSERT')",
            [roles["app"]] * 4,
        )
        assert cursor.fetchone() == (True, False, False, True)
    assert connection.settings_dict["USER"] == roles["superuser"]
