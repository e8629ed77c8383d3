"""Replaying the first answer to a retried POST (a cart on flaky Wi-Fi re-sends).

The key row is inserted first, in the same transaction as the work. A concurrent request with
the same key blocks on the unique index until the first commits, then finds the committed row
and replays its answer."""

import hashlib
import json
from collections.abc import Callable

from django.db import transaction

from hospital import sql
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
        # Plain SQL: the key row is written on every record, and ON CONFLICT needs no savepoint
        # around an insert that may fail.
        claimed = IdempotentRequest(
            user=user,
            key=key,
            endpoint=endpoint,
            request_fingerprint=fingerprint,
            response_status=0,
            response_body={},
        )
        if not sql.insert(claimed, unless_exists_on=("user", "key")):
            row = IdempotentRequest.objects.get(user=user, key=key)
            if row.endpoint != endpoint or row.request_fingerprint != fingerprint:
                return 422, error_body(
                    "IDEMPOTENCY_KEY_REUSED",
                    "This Idempotency-Key was used for a different request.",
                )
            return row.response_status, row.response_body
        status, body = run()
        _answer_keep(claimed.pk, status, body)
        return status, body


def _answer_keep(row_id: int, status: int, body: dict) -> None:
    sql.update(IdempotentRequest, row_id, response_status=status, response_body=body)
