"""The legal record is append-only in the database itself, not only in our code: on PostgreSQL a
trigger refuses UPDATE and DELETE on administrations, their units and overrides, and scan events.
(TRUNCATE, which test isolation uses, is a different statement and is not affected.)"""

from django.db import migrations

TABLES = [
    "scanning_administration",
    "scanning_administeredunit",
    "scanning_override",
    "scanning_scanevent",
]

FUNCTION = """
CREATE OR REPLACE FUNCTION scanning_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (corrections are new records)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # the % in RAISE are not placeholders
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION scanning_refuse_change()"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS scanning_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("scanning", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
