"""Writing and walking the audit hash chains; the hashing itself is pure (scanning/audit.py).

Administrations chain per patient. Every writer of one (administration_record, _not_given,
_correct) already holds the patient's row lock, so the head of that patient's chain cannot move
between reading it and appending to it, and carts at different beds never wait for each other.

Scan events chain per performer, the one party every event has (failed badge logins write none).
Appending locks the performer's user row: one nurse's requests take turns, different nurses run in
parallel. Lock order on the bedside path: the patient, then the performer, never the reverse.

The unique (chain key, chain_seq) constraint makes a fork impossible even if a lock is missed: the
second writer fails instead of branching the chain."""

from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, models, transaction
from django.db.models import F

from hospital import sql
from scanning import audit, locks
from scanning.models import (
    AdministeredUnit,
    Administration,
    AdministrationAssessment,
    InfusionEvent,
    Override,
    Removal,
    ScanEvent,
    Waste,
)


def administration_append(
    administration: Administration,
    *,
    units: Sequence[AdministeredUnit] = (),
    overrides: Sequence[Override] = (),
    assessments: Sequence[AdministrationAssessment] = (),
) -> Administration:
    """Insert an unsaved administration with its units, overrides and the values measured before
    it as the next link of its patient's chain. The caller holds the patient's row lock
    (select_for_update)."""
    for row in (administration, *units, *overrides, *assessments):
        _normalise(row)
    # savepoint=False: no round trip of its own inside the caller's transaction, and a
    # transaction of its own without one, so that a record is never written without its units.
    with transaction.atomic(savepoint=False):
        _append(
            administration,
            "patient_id",
            audit.administration_hash(administration, units, overrides, assessments),
        )
        for unit in units:
            unit.administration = administration
        for override in overrides:
            override.administration = administration
        if units:
            AdministeredUnit.objects.bulk_create(units)
        if overrides:
            Override.objects.bulk_create(overrides)
        for value in assessments:
            value.administration = administration
        if assessments:
            AdministrationAssessment.objects.bulk_create(assessments)
    # The record as written, children included: whoever answers with it needs no second read.
    administration.written_units = list(units)
    administration.written_overrides = list(overrides)
    administration.written_assessments = list(assessments)
    return administration


def removal_append(removal: Removal) -> Removal:
    """Insert an unsaved removal as the next link of its patient's removal chain. The caller holds
    the patient's row lock, as for administration_append."""
    _normalise(removal)
    with transaction.atomic(savepoint=False):
        head = _head(Removal, "patient_id", removal.patient_id)
        _seal(removal, head, audit.removal_hash(removal))
        removal.save(force_insert=True)
    return removal


def waste_append(waste: Waste) -> Waste:
    """Insert an unsaved waste as the next link of its patient's waste chain. The caller holds the
    patient's row lock, as for a record."""
    _normalise(waste)
    with transaction.atomic(savepoint=False):
        head = _head(Waste, "patient_id", waste.patient_id)
        _seal(waste, head, audit.waste_hash(waste))
        waste.save(force_insert=True)
    return waste


def scan_event_append(event: ScanEvent) -> ScanEvent:
    """Insert an unsaved scan event as the next link of its performer's chain. The performer's
    row stays locked until the caller's transaction ends."""
    _normalise(event)
    with transaction.atomic(savepoint=False):
        locks.performer(event.performer_id)
        _append(event, "performer_id", audit.scan_event_hash(event))
    return event


def infusion_event_append(event: InfusionEvent) -> InfusionEvent:
    """Insert an unsaved bag event as the next link of its bag's chain. The caller holds the
    patient's row lock (scanning.locks), which serialises every write to the patient's bags."""
    _normalise(event)
    with transaction.atomic(savepoint=False):
        _append(event, "administration_id", audit.infusion_event_hash(event))
    return event


# Plain SQL for the statements every scan adds: built through the ORM they cost several times their
# round trip (measured on PostgreSQL: 0.63 ms against 0.12 ms for the lock and the head).


def _append(row: models.Model, key: str, content_hash: str) -> None:
    """Seal an unsaved row as the next link of the chain of rows sharing its `key` column, and
    insert it. The caller holds the lock that guards that chain's head.

    On PostgreSQL the head is read and the link computed in the INSERT itself, one statement
    instead of two. The lock cannot join them: a statement reads as of its start, so one that
    first waited for the lock would not see the head its previous holder just wrote. The SQL link
    is audit.link_hash's: SHA-256 of "seq|previous_hash|content_hash", ASCII, in lower-case hex
    (tests/scanning/test_audit_chain.py compares the two)."""
    model = type(row)
    if connection.vendor != "postgresql":
        _seal(row, _head(model, key, getattr(row, key)), content_hash)
        sql.insert(row)
        return
    row.content_hash = content_hash
    columns, values = sql.insert_values(row, leave_out=("chain_seq", "previous_hash"))
    table = sql.table(model)
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH head AS (SELECT chain_seq, previous_hash, content_hash "  # noqa: S608 - names only
            f"FROM {table} WHERE {sql.quote(key)} = %s AND chain_seq IS NOT NULL "
            "ORDER BY chain_seq DESC LIMIT 1) "
            f"INSERT INTO {table} ({', '.join(columns)}, chain_seq, previous_hash) "
            f"VALUES ({', '.join(['%s'] * len(columns))}, "
            "COALESCE((SELECT chain_seq + 1 FROM head), 1), "
            "COALESCE((SELECT encode(sha256(convert_to(chain_seq::text || '|' || previous_hash "
            "|| '|' || content_hash, 'UTF8')), 'hex') FROM head), %s)) "
            f"RETURNING {sql.quote(model._meta.pk.column)}, chain_seq, previous_hash",
            [getattr(row, key), *values, audit.GENESIS],
        )
        pk, row.chain_seq, row.previous_hash = cursor.fetchone()
    sql.inserted_as(row, pk)


def _head(model: type[models.Model], key: str, value: int) -> tuple[int, str, str] | None:
    """The chain's last link: (chain_seq, previous_hash, content_hash), by the unique index."""
    rows = sql.fetchall(
        f"SELECT chain_seq, previous_hash, content_hash FROM {sql.table(model)} "  # noqa: S608
        f"WHERE {sql.quote(key)} = %s AND chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1",
        [value],
    )
    return rows[0] if rows else None


def _seal(row, head, content_hash: str) -> None:
    seal = audit.seal_next(head, content_hash)
    row.chain_seq, row.previous_hash, row.content_hash = (
        seal.chain_seq,
        seal.previous_hash,
        seal.content_hash,
    )


def _normalise(row: models.Model) -> None:
    """Make the values in memory the values the database will give back, so that the hash taken
    before the INSERT is the hash recomputed from the row: decimals at the column's scale (a
    computed share of a dose can carry more places than the column keeps)."""
    for field in row._meta.concrete_fields:
        value = getattr(row, field.attname)
        if isinstance(field, models.DecimalField) and value is not None:
            exponent = Decimal(1).scaleb(-field.decimal_places)
            setattr(row, field.attname, field.to_python(value).quantize(exponent, ROUND_HALF_UP))


def administration_links(*, chunk_size: int = 2000) -> Iterator[audit.StoredLink]:
    """Every administration, chain by chain, streamed: two extra queries per chunk for the units
    and overrides, whatever the size of the table."""
    rows = (
        Administration.objects.order_by(
            "patient_id", F("chain_seq").asc(nulls_last=True), "pk"
        ).prefetch_related("units", "overrides", "assessments")
    ).iterator(chunk_size=chunk_size)
    for row in rows:
        yield _link(
            row,
            row.patient_id,
            audit.administration_hash(
                row, row.units.all(), row.overrides.all(), row.assessments.all()
            ),
        )


def scan_event_links(*, chunk_size: int = 2000) -> Iterator[audit.StoredLink]:
    rows = ScanEvent.objects.order_by(
        "performer_id", F("chain_seq").asc(nulls_last=True), "pk"
    ).iterator(chunk_size=chunk_size)
    for row in rows:
        yield _link(row, row.performer_id, audit.scan_event_hash(row))


def removal_links(*, chunk_size: int = 2000) -> Iterator[audit.StoredLink]:
    rows = Removal.objects.order_by(
        "patient_id", F("chain_seq").asc(nulls_last=True), "pk"
    ).iterator(chunk_size=chunk_size)
    for row in rows:
        yield _link(row, row.patient_id, audit.removal_hash(row))


def waste_links(*, chunk_size: int = 2000) -> Iterator[audit.StoredLink]:
    rows = Waste.objects.order_by("patient_id", F("chain_seq").asc(nulls_last=True), "pk").iterator(
        chunk_size=chunk_size
    )
    for row in rows:
        yield _link(row, row.patient_id, audit.waste_hash(row))


def _link(row, chain, recomputed: str) -> audit.StoredLink:
    return audit.StoredLink(
        chain=chain,
        record_id=row.pk,
        seq=row.chain_seq,
        previous_hash=row.previous_hash,
        content_hash=row.content_hash,
        recomputed_hash=recomputed,
    )


def infusion_event_links(*, chunk_size: int = 2000) -> Iterator[audit.StoredLink]:
    rows = InfusionEvent.objects.order_by(
        "administration_id", F("chain_seq").asc(nulls_last=True), "pk"
    ).iterator(chunk_size=chunk_size)
    for row in rows:
        yield _link(row, row.administration_id, audit.infusion_event_hash(row))


CHAINS = {
    Administration._meta.db_table: ("patient", administration_links),
    ScanEvent._meta.db_table: ("performer", scan_event_links),
    InfusionEvent._meta.db_table: ("bag", infusion_event_links),
    Removal._meta.db_table: ("patient", removal_links),
    Waste._meta.db_table: ("patient", waste_links),
}
