"""``manage.py db_roles``: set up the owner and the application's PostgreSQL roles
(hospital/db_roles.py), or with ``--check`` report what the application's role could use to empty
or rewrite the ledger.

Role names and passwords come from the URLs: the owner from DATABASE_MIGRATE_URL, the application
from DATABASE_URL; the setup connects as a superuser with DATABASE_ADMIN_URL (or --admin-url).
Running it again changes nothing."""

from urllib.parse import unquote, urlsplit

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from hospital import db_roles


def _user_of(url: str, what: str) -> tuple[str, str | None, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.username:
        raise CommandError(f"{what} must be a postgres:// URL with a user name")
    password = unquote(parts.password) if parts.password else None
    return unquote(parts.username), password, parts.path.lstrip("/")


class Command(BaseCommand):
    help = (
        "Create or correct the owner (DATABASE_MIGRATE_URL) and the application (DATABASE_URL) "
        "roles as a superuser (DATABASE_ADMIN_URL); --check reports what the application's role "
        "could use against the ledger."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-url",
            default=settings.DATABASE_ADMIN_URL or None,
            help="a superuser's postgres:// URL to the same database (DATABASE_ADMIN_URL)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="only check the role DATABASE_URL connects as; exit 1 if it could touch the ledger",
        )

    def handle(self, *args, admin_url: str | None, check: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "Database roles are for PostgreSQL: DATABASE_URL is " + connection.vendor
            )
        if check:
            return self._check()
        if not settings.DATABASE_MIGRATE_URL:
            raise CommandError("Set DATABASE_MIGRATE_URL: the owner's postgres:// URL.")
        if not admin_url:
            raise CommandError("Set DATABASE_ADMIN_URL (or --admin-url): a superuser's URL.")
        owner, owner_password, owner_database = _user_of(
            settings.DATABASE_MIGRATE_URL, "DATABASE_MIGRATE_URL"
        )
        app = connection.settings_dict["USER"]
        app_password = connection.settings_dict.get("PASSWORD") or None
        database = connection.settings_dict["NAME"]
        if owner_database != database:
            raise CommandError(
                f"DATABASE_MIGRATE_URL names database {owner_database!r}, DATABASE_URL {database!r}"
            )
        try:
            with psycopg.connect(admin_url, autocommit=True) as admin, admin.cursor() as cursor:
                if admin.info.dbname != database:
                    raise CommandError(
                        f"DATABASE_ADMIN_URL connects to {admin.info.dbname!r}, not {database!r}"
                    )
                with admin.transaction():
                    db_roles.setup(
                        cursor,
                        database=database,
                        owner=owner,
                        owner_password=owner_password,
                        app=app,
                        app_password=app_password,
                    )
                findings = db_roles.app_role_findings(cursor, app)
        except (db_roles.RoleError, psycopg.Error) as error:
            raise CommandError(f"Roles not set up: {error}") from error
        if findings:
            raise CommandError("Roles set up, but: " + "; ".join(findings))
        self.stdout.write(
            f"Roles ready in {database}: {owner} owns the tables (manage.py migrate connects as "
            f"it), {app} owns nothing and may only add to the ledger."
        )

    def _check(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            (role,) = cursor.fetchone()
            findings = db_roles.app_role_findings(cursor, role)
        for finding in findings:
            self.stdout.write(f"UNSAFE {finding}")
        if findings:
            raise CommandError(
                f"The application's role {role} could empty or rewrite the ledger.", returncode=1
            )
        self.stdout.write(f"{role} owns nothing and may only add to the ledger.")
