"""The demo hospital for the tests, loaded once and copied back for each test.

Several hundred tests start from the demo hospital, in an empty database (a test's rolled back
transaction, or a transactional test's flush). Its loader makes ~430 rows through the ORM, 1–2 s
a test under CI's load, minutes of each CI pass. The first test loads it for real; the rows it
added are kept, and each later test inserts them again in one transaction, as long as the empty
database holds what the first load started from. The flush's post_migrate builds the groups,
content types and permissions again under new keys, so a kept row that points to one is pointed
to its namesake. Anything unexpected falls back to the real loader.
"""

import sys
from datetime import datetime

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from pharmacy.demo import demo_hospital_load

SKIPPED = {"django_migrations", "sqlite_sequence"}


def _rebuilt() -> dict[str, dict]:
    """The rows post_migrate makes again after a flush: their key → a name that survives."""
    return {
        Group._meta.db_table: dict(Group.objects.values_list("pk", "name")),
        ContentType._meta.db_table: {
            pk: (app, model)
            for pk, app, model in ContentType.objects.values_list("pk", "app_label", "model")
        },
        Permission._meta.db_table: {
            pk: (app, model, codename)
            for pk, app, model, codename in Permission.objects.values_list(
                "pk", "content_type__app_label", "content_type__model", "codename"
            )
        },
    }


def _dump() -> dict[str, tuple[list[str], dict[str, tuple]]]:
    """Every table's columns and rows, each row keyed by its repr (rows may hold lists)."""
    found = {}
    tables = set(connection.introspection.table_names()) - SKIPPED
    with connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [column[0] for column in cursor.description]
            rows = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in cursor.fetchall()
            ]
            found[table] = (columns, {repr(row): row for row in rows})
    return found


def _shape(dump) -> dict[str, set[str]]:
    """What must be the same before each copy: every table but those post_migrate rebuilds (and
    the tables that point to nothing but them: a group's permissions)."""
    rebuilt = set(_rebuilt()) | {Group.permissions.through._meta.db_table}
    return {table: set(rows) for table, (_columns, rows) in dump.items() if table not in rebuilt}


def _pointers(table: str, columns: list[str]) -> dict[int, str]:
    """The columns of `table` that point to a rebuilt table: column index → that table."""
    rebuilt = set(_rebuilt())
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return {
                columns.index(field.column): field.related_model._meta.db_table
                for field in model._meta.concrete_fields
                if field.is_relation and field.related_model._meta.db_table in rebuilt
            }
    return {}


class DemoCopy:
    def __init__(self):
        self.start: dict[str, set[str]] | None = None  # the emptied database the load began from
        self.names: dict[str, dict] = {}  # rebuilt table → key → name, as the first load saw them
        self.added: dict[str, tuple[list[str], list[tuple], dict[int, str]]] = {}
        self.usable = True

    def load(self, dump: dict | None = None) -> None:
        """`dump`: the database now (`_dump()`), when the caller has read it already."""
        if not self.usable:
            demo_hospital_load()
            return
        before = _dump() if dump is None else dump
        if self.start is None:
            demo_hospital_load()
            self._keep(before, _dump())
        elif _shape(before) != self.start or not self._copy():
            demo_hospital_load()

    def _keep(self, before, after) -> None:
        self.start = _shape(before)
        self.names = _rebuilt()
        for table, (columns, rows) in after.items():
            old = before.get(table, (columns, {}))[1]
            if set(old) - set(rows):  # the load changed or removed a row it did not make
                self.usable = False
                return
            new = [row for key, row in rows.items() if key not in old]
            if new:
                if table in self.names:  # the load made a group: keys would not line up
                    self.usable = False
                    return
                self.added[table] = (columns, new, _pointers(table, columns))

    def _copy(self) -> bool:
        now = {
            table: {name: pk for pk, name in names.items()} for table, names in _rebuilt().items()
        }
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for table, (columns, rows, pointers) in self.added.items():
                    if pointers:
                        rows = [
                            tuple(
                                now[pointers[i]][self.names[pointers[i]][v]]
                                if i in pointers and v is not None
                                else v
                                for i, v in enumerate(row)
                            )
                            for row in rows
                        ]
                    names = ", ".join(connection.ops.quote_name(c) for c in columns)
                    marks = ", ".join(["%s"] * len(columns))
                    cursor.executemany(
                        f"INSERT INTO {connection.ops.quote_name(table)} ({names}) VALUES ({marks})",
                        rows,
                    )
                models = apps.get_models(include_auto_created=True)
                for statement in connection.ops.sequence_reset_sql(no_style(), models):
                    cursor.execute(statement)
        except Exception as error:  # any surprise: the real loader, from now on
            self.usable = False
            print(f"demo copy failed ({error!r}): the demo is loaded each time", file=sys.stderr)
            return False
        return True


_COPIES: dict[tuple[datetime, frozenset], DemoCopy] = {}


def demo_hospital_copy() -> None:
    """What `demo_hospital_load()` makes now, in a test's database, from a copy of the first load
    made at the same moment (a test's frozen clock) into the same rows (an empty database, or one
    a fixture added to first)."""
    dump = _dump()
    start = frozenset((table, frozenset(rows)) for table, rows in _shape(dump).items())
    _COPIES.setdefault((timezone.now(), start), DemoCopy()).load(dump)
