"""Replaying the first answer to a retried POST (a cart on flaky Wi-Fi re-sends).

The key row is inserted first, in the same transaction as the work. A concurrent request with
the same key blocks on the unique index until the first commits, then finds the committed row
and replays its answer."""

import hashlib
import json
import uuid
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from hospital.api import error_body
from hospital.exceptions import ApplicationError
from scanning.models import IdempotentRequest

MAX_KEY_LENGTH = 200


def idempotency_key(request) -> str | None:
    """The request's `Idempotency-Key` header, or None when it sent none."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ApplicationError("Idempotency-Key is too long.", code="INVALID_IDEMPOTENCY_KEY")
    return key or None


def request_fingerprint(data) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_call(
    *, user, key: str | None, endpoint: str, data, run: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """`run` inside one durable transaction, its answer kept under `key`. An `ApplicationError`
    raised by `run` rolls the key back with the work: the error wrote nothing, so a retry runs
    again. `endpoint` names the operation and the object it acts on: one key sent to another
    operation, or to the same one on another record, is refused like a changed body."""
    with transaction.atomic(durable=True):
        if not key:
            return run()
        fingerprint = request_fingerprint(data)
        row_id = _key_claim(user_id=user.pk, key=key, endpoint=endpoint, fingerprint=fingerprint)
        if row_id is None:
            row = IdempotentRequest.objects.get(user=user, key=key)
            if row.endpoint != endpoint or row.request_fingerprint != fingerprint:
                return 422, error_body(
                    "IDEMPOTENCY_KEY_REUSED",
                    "This Idempotency-Key was used for a different request.",
                )
            return row.response_status, row.response_body
        status, body = run()
        _answer_keep(row_id, status, body)
        return status, body


# Plain SQL: the key row is written on every record, and `INSERT … ON CONFLICT DO NOTHING` needs no
# savepoint around an insert that may fail (PostgreSQL, and SQLite since 3.35).
def _prepared(name: str, value):
    return IdempotentRequest._meta.get_field(name).get_db_prep_save(value, connection)


def _key_claim(*, user_id: int, key: str, endpoint: str, fingerprint: str) -> int | None:
    """Insert the key's row, unanswered; its id, or None when this user already sent this key (a
    concurrent first request holding it is waited for: the unique index blocks until it ends)."""
    values = {
        "external_id": uuid.uuid4(),
        "created_at": timezone.now(),
        "user": user_id,
        "key": key,
        "endpoint": endpoint,
        "request_fingerprint": fingerprint,
        "response_status": 0,
        "response_body": {},
    }
    fields = [IdempotentRequest._meta.get_field(name) for name in values]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "  # noqa: S608
            f"ON CONFLICT ({_UNIQUE}) DO NOTHING RETURNING id",
            [_prepared(name, value) for name, value in values.items()],
        )
        inserted = cursor.fetchone()
    return inserted[0] if inserted else None


def _answer_keep(row_id: int, status: int, body: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET response_status = %s, response_body = %s WHERE id = %s",  # noqa: S608
            [status, _prepared("response_body", body), row_id],
        )


_TABLE = connection.ops.quote_name(IdempotentRequest._meta.db_table)
_UNIQUE = ", ".join(
    connection.ops.quote_name(IdempotentRequest._meta.get_field(name).column)
    for name in ("user", "key")
)
