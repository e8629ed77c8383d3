"""``manage.py migrate`` as the owner of the tables when DATABASE_MIGRATE_URL is set: the
application's role (DATABASE_URL) owns nothing and could not create or alter a table. After the
migrations, the application's rights are granted again (hospital/db_roles.py), so a new table is
covered and a ledger table stays INSERT and SELECT only. Without it, Django's own migrate."""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections

from hospital import db_roles
from hospital.management.commands.db_roles import _user_of

SWAPPED = ("USER", "PASSWORD")


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        url = settings.DATABASE_MIGRATE_URL
        if not url or options["database"] != DEFAULT_DB_ALIAS:
            return super().handle(*args, **options)
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            raise CommandError("DATABASE_MIGRATE_URL is for PostgreSQL")
        owner, password, database = _user_of(url, "DATABASE_MIGRATE_URL")
        if database != connection.settings_dict["NAME"]:
            raise CommandError(
                f"DATABASE_MIGRATE_URL names database {database!r}, "
                f"DATABASE_URL {connection.settings_dict['NAME']!r}"
            )
        app = connection.settings_dict["USER"]
        saved = {key: connection.settings_dict.get(key) for key in SWAPPED}
        connection.close()
        connection.settings_dict.update(USER=owner, PASSWORD=password or "")
        try:
            super().handle(*args, **options)
            if app and app != owner:
                connection.ensure_connection()
                with connection.connection.cursor() as cursor:
                    db_roles.grant(cursor, owner=owner, app=app)
                if options["verbosity"]:
                    self.stdout.write(f"Migrated as {owner}; rights of {app} granted again.")
        finally:
            connection.close()
            connection.settings_dict.update(saved)
