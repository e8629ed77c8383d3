"""The ledger cannot be emptied in one statement: on PostgreSQL a BEFORE TRUNCATE trigger refuses
TRUNCATE of the bedside record and of the break-the-glass log, like the row triggers (0002)
refuse UPDATE and DELETE. The owner can still disable it: what catches that is the anchored chain
heads (scanning/anchors.py); the application's role has no TRUNCATE privilege at all
(hospital/db_roles.py). Test isolation truncates in replica mode, where no trigger fires."""

from django.db import migrations

TABLES = [
    "scanning_administration",
    "scanning_administeredunit",
    "scanning_override",
    "scanning_scanevent",
    "hospital_accesslog",
]

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
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
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_refuse_truncate()")


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0002_accesslog"),
        ("scanning", "0004_routes_of_hl7_table_0162"),
    ]
    operations = [migrations.RunPython(create, drop)]
