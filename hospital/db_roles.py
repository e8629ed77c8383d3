"""Two PostgreSQL roles: the owner of the tables, that `manage.py migrate` connects as
(DATABASE_MIGRATE_URL), and the application's role (DATABASE_URL), that owns nothing.

The application's role may read and write the working tables but only add to the ledger (INSERT
and SELECT): it cannot UPDATE, DELETE or TRUNCATE a record, disable a trigger (only an owner can
ALTER a table), or switch triggers off with `session_replication_role` (superusers only). The
owner can do all of that, so nothing runs as the owner but migrations, and what the owner could
still do unseen is caught by the chain heads anchored outside the database (scanning/anchors.py).

`manage.py db_roles` sets both up from a superuser's connection, idempotently; `migrate` (as the
owner) re-grants after every run, so a new table is covered the moment it exists."""

import re

from psycopg import sql

# Append-only in the database (row triggers refuse UPDATE and DELETE, a statement trigger refuses
# TRUNCATE): the application's role gets INSERT and SELECT only.
LEDGER_TABLES = (
    "scanning_administration",
    "scanning_administeredunit",
    "scanning_override",
    "scanning_administrationassessment",
    "scanning_prnreassessment",
    "scanning_scanevent",
    "scanning_infusionevent",
    "scanning_removal",
    "scanning_waste",
    "hospital_accesslog",
)
# Written only by migrations.
READ_ONLY_TABLES = ("django_migrations",)

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class RoleError(ValueError):
    pass


def role_name(name: str, what: str) -> str:
    if not name or not _ROLE.fullmatch(name):
        raise RoleError(
            f"{what} role {name!r}: lower-case letters, digits and underscores, at most 63"
        )
    return name


def _fetch(cursor, query, params=()) -> list[tuple]:
    cursor.execute(query, params)
    return cursor.fetchall()


def _exists(cursor, role: str) -> bool:
    return bool(_fetch(cursor, "SELECT 1 FROM pg_roles WHERE rolname = %s", [role]))


def setup(
    cursor,
    *,
    database: str,
    owner: str,
    owner_password: str | None,
    app: str,
    app_password: str | None,
) -> None:
    """Create or correct both roles and hand every object of the schema to the owner. Run as a
    superuser, in autocommit or one transaction; running it again changes nothing."""
    role_name(owner, "owner")
    role_name(app, "application")
    if owner == app:
        raise RoleError("the owner and the application must be different roles")
    for role in (owner, app):
        if _fetch(cursor, "SELECT 1 FROM pg_roles WHERE rolname = %s AND rolsuper", [role]):
            # Never demote a superuser (it may be the one running this): pick another name.
            raise RoleError(f"{role} is a superuser: the owner and the application must not be")
    for role, password in ((owner, owner_password), (app, app_password)):
        verb = "ALTER" if _exists(cursor, role) else "CREATE"
        statement = sql.SQL(
            "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        ).format(sql.SQL(verb), sql.Identifier(role))
        if password:
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        cursor.execute(statement)
    # The application must not inherit the owner's rights through membership.
    for (member_of,) in _fetch(
        cursor,
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s",
        [app],
    ):
        cursor.execute(
            sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(member_of), sql.Identifier(app))
        )
    # The owner of a database owns its public schema (PostgreSQL 15), and a schema's owner may
    # drop the tables in it: that is the owner's, never the application's.
    cursor.execute(
        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(database), sql.Identifier(owner)
        )
    )
    schema_owner = _fetch(
        cursor, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
    )[0][0]
    if schema_owner != "pg_database_owner":
        cursor.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
    cursor.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
            sql.Identifier(database), sql.Identifier(owner), sql.Identifier(app)
        )
    )
    cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    cursor.execute(
        sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(sql.Identifier(owner))
    )
    _take_over(cursor, owner)
    grant(cursor, owner=owner, app=app, as_owner=False)


def _take_over(cursor, owner: str) -> None:
    """Every table, sequence, view and function of the schema to the owner (tables made before
    the roles were split belong to whoever ran the first migrate). Identity sequences follow
    their table, and so do sequences a table owns (serial)."""
    relations = _fetch(
        cursor,
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "AND pg_get_userbyid(c.relowner) <> %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))",
        [owner],
    )
    kinds = {"v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}
    for name, kind in relations:
        cursor.execute(
            sql.SQL("ALTER {} {} OWNER TO {}").format(
                sql.SQL(kinds.get(kind, "TABLE")), sql.Identifier(name), sql.Identifier(owner)
            )
        )
    functions = _fetch(
        cursor,
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> %s",
        [owner],
    )
    for (signature,) in functions:
        cursor.execute(
            sql.SQL("ALTER ROUTINE {} OWNER TO {}").format(
                sql.SQL(signature), sql.Identifier(owner)
            )
        )


def grant(cursor, *, owner: str, app: str, as_owner: bool = True) -> None:
    """The application's rights on what exists, and on what the owner creates later. Run as the
    owner (after a migration) or as a superuser; the ledger is re-narrowed every time."""
    owner_id, app_id = sql.Identifier(owner), sql.Identifier(app)
    default_for = sql.SQL("") if as_owner else sql.SQL("FOR ROLE {} ").format(owner_id)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app_id),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES {}IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(default_for, app_id),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES {}IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(default_for, app_id),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            app_id
        ),
        sql.SQL(
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {}"
        ).format(app_id),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(app_id),
    ]
    existing = {
        name
        for (name,) in _fetch(
            cursor,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)",
            [list(LEDGER_TABLES + READ_ONLY_TABLES)],
        )
    }
    for table in LEDGER_TABLES:
        if table in existing:
            statements.append(
                sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), app_id)
            )
    for table in READ_ONLY_TABLES:
        if table in existing:
            statements.append(
                sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
                    sql.Identifier(table), app_id
                )
            )
    for statement in statements:
        cursor.execute(statement)


def app_role_findings(cursor, app: str) -> list[str]:
    """What the application's role could use to empty or rewrite the ledger; [] when nothing."""
    found = []
    attributes = _fetch(
        cursor,
        "SELECT rolsuper, rolcreaterole, rolbypassrls, rolreplication FROM pg_roles "
        "WHERE rolname = %s",
        [app],
    )
    if not attributes:
        return [f"role {app} does not exist"]
    for flag, value in zip(
        ("SUPERUSER", "CREATEROLE", "BYPASSRLS", "REPLICATION"), attributes[0], strict=True
    ):
        if value:
            found.append(f"{app} has {flag}")
    owned = _fetch(
        cursor,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = %s "
        "UNION ALL SELECT nspname FROM pg_namespace WHERE pg_get_userbyid(nspowner) = %s "
        "UNION ALL SELECT datname FROM pg_database WHERE datname = current_database() "
        "AND pg_get_userbyid(datdba) = %s",
        [app, app, app],
    )
    if owned:
        found.append(f"{app} owns {', '.join(sorted(name for (name,) in owned))}")
    for (member_of,) in _fetch(
        cursor,
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s",
        [app],
    ):
        found.append(f"{app} is a member of {member_of}")
    for table in LEDGER_TABLES:
        rights = _fetch(
            cursor,
            "SELECT p FROM unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) p "
            "WHERE to_regclass(%s::text) IS NOT NULL AND has_table_privilege(%s::name, %s::text, p)",
            [f"public.{table}", app, f"public.{table}"],
        )
        if rights:
            found.append(f"{app} may {', '.join(right for (right,) in rights)} {table}")
    return found
