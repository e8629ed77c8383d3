"""Hand-written SELECTs that return model instances exactly as a queryset would.

For the few statements on the bedside path where the ORM's compiling and instance building cost
several times the database's own work (docs/benchmarks.md). Values pass through the ORM's own
converters, so a datetime, decimal, boolean or UUID reads the same as from a queryset, on
PostgreSQL and on SQLite; every concrete field is selected, so no deferred field can turn into a
hidden query later."""

from datetime import datetime

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[models.Model]) -> str:
    return quote(model._meta.db_table)


def fetchall(sql: str, params) -> list[tuple]:
    """The rows of one statement. A datetime parameter goes in as a queryset's would: SQLite stores
    a datetime as naive UTC text, "2026-11-24 01:00:00", and the driver's own adapter would send
    "2026-11-24 01:00:00+00:00", which as text sorts after it, so a row at exactly that moment
    would fail `>=` and pass `>` (found by tests/scanning/test_facts_twins.py)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                connection.ops.adapt_datetimefield_value(value)
                if isinstance(value, datetime)
                else value
                for value in params
            ],
        )
        return cursor.fetchall()


class ModelColumns:
    """A model's columns under a table alias: the SELECT list (`sql`), and a row slice back to
    converted values or to a model instance. `only` picks fields (then `values` only)."""

    def __init__(self, model: type[models.Model], alias: str, only: tuple[str, ...] = ()):
        self.model = model
        self.fields = (
            [model._meta.get_field(name) for name in only] if only else model._meta.concrete_fields
        )
        self.complete = not only
        self.names = [field.attname for field in self.fields]
        self.sql = ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)
        self.width = len(self.fields)
        self._converters: dict[str, list] = {}

    def values(self, row, start: int = 0) -> list:
        values = list(row[start : start + self.width])
        for index, convert, column in self._converters_for(connection.vendor):
            values[index] = convert(values[index], column, connection)
        return values

    def instance(self, row, start: int = 0) -> models.Model:
        """What `Model.from_db` returns for this row. Built without `Model.__init__`, which sets
        the fields one `setattr` at a time (three to four times the cost on a wide model such as
        an order), unless the model has an `__init__` of its own or init signals to send."""
        if not self.complete:
            raise TypeError("an instance needs every concrete field (no `only`)")
        values = self.values(row, start)
        model = self.model
        if (
            model.__init__ is not models.Model.__init__
            or pre_init.has_listeners(model)
            or post_init.has_listeners(model)
        ):
            return model.from_db(connection.alias, self.names, values)
        new = model.__new__(model)
        state = ModelState()
        state.adding = False
        state.db = connection.alias
        new.__dict__.update(zip(self.names, values, strict=True), _state=state)
        return new

    def _converters_for(self, vendor: str) -> list:
        # what SQLCompiler.get_converters finds: the backend's, then the field's own
        if vendor not in self._converters:
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                for convert in connection.ops.get_db_converters(column) + column.get_db_converters(
                    connection
                ):
                    found.append((index, convert, column))
            self._converters[vendor] = found
        return self._converters[vendor]


def row_lock(of: str = "") -> str:
    """The row-lock clause for a SELECT, or "" where the database has no row locks (SQLite
    serialises writers itself). On PostgreSQL NO KEY UPDATE, like every bedside lock: a plain
    FOR UPDATE also blocks the KEY SHARE lock that inserting a row pointing at the locked one
    takes, so a check holding the nurse and a record holding the patient would each wait on the
    other's foreign key (a deadlock; tests/scanning/test_lock_modes.py)."""
    if not connection.features.has_select_for_update:
        return ""
    mode = "FOR NO KEY UPDATE" if connection.vendor == "postgresql" else "FOR UPDATE"
    return f"{mode} OF {of}" if of else mode


_WRITTEN_RAW: set[type[models.Model]] = set()


def written_raw(*model_classes: type[models.Model]) -> None:
    """Declare the models that `insert` and `update` write without save(). The system check
    hospital.E001 (hospital/checks.py) fails when one of them gains a save() override or a
    pre/post-save receiver, which these writes would silently skip."""
    _WRITTEN_RAW.update(model_classes)


def written_raw_models() -> frozenset[type[models.Model]]:
    return frozenset(_WRITTEN_RAW)


def _declared(model: type[models.Model]) -> None:
    if model not in _WRITTEN_RAW:
        raise TypeError(
            f"{model.__name__} is not declared with hospital.sql.written_raw(): a raw write of an "
            "undeclared model would skip a save() override or a signal unchecked."
        )


def insert(instance: models.Model, *, unless_exists_on: tuple[str, ...] = ()) -> bool:
    """INSERT one unsaved instance and set its primary key: what `save(force_insert=True)` does
    for a model with no save() override and no signal receivers, without compiling the statement
    through the ORM. Each field's `pre_save` (auto_now_add) and `get_db_prep_save` run as in a
    save; the instance is marked as saved.

    `unless_exists_on` names the fields of a unique constraint: a row that would break it is not
    inserted (`ON CONFLICT DO NOTHING`, no savepoint needed; PostgreSQL, and SQLite since 3.35),
    and the call returns False, waiting first for a concurrent transaction that holds that key."""
    meta = instance._meta
    columns, values = insert_values(instance)
    conflict = ""
    if unless_exists_on:
        keys = ", ".join(quote(meta.get_field(name).column) for name in unless_exists_on)
        conflict = f"ON CONFLICT ({keys}) DO NOTHING "
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(instance.__class__)} "  # noqa: S608 - names only
            f"({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}) {conflict}"
            f"RETURNING {quote(meta.pk.column)}",
            values,
        )
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    inserted_as(instance, inserted[0])
    return True


def insert_values(
    instance: models.Model, *, leave_out: tuple[str, ...] = ()
) -> tuple[list[str], list]:
    """The quoted columns and prepared values of an INSERT of one unsaved instance, as `insert`
    writes them, for a statement that computes the fields named in `leave_out` itself. Each
    field's `pre_save` (auto_now_add) runs as in a save."""
    _declared(instance.__class__)
    fields = [
        field
        for field in instance._meta.concrete_fields
        if not (field.primary_key and getattr(instance, field.attname) is None)
        and field.name not in leave_out
    ]
    return [quote(field.column) for field in fields], [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]


def inserted_as(instance: models.Model, pk) -> None:
    """Mark an instance written by a hand-written INSERT as saved, with its new primary key."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


def update(model: type[models.Model], pk, **values) -> None:
    """UPDATE one row's fields by primary key, each value prepared as a save would prepare it."""
    _declared(model)
    fields = [model._meta.get_field(name) for name in values]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(model)} SET "  # noqa: S608 - names only
            + ", ".join(f"{quote(field.column)} = %s" for field in fields)
            + f" WHERE {quote(model._meta.pk.column)} = %s",
            [
                field.get_db_prep_save(value, connection)
                for field, value in zip(fields, values.values(), strict=True)
            ]
            + [pk],
        )
