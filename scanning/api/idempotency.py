"""Replaying the first answer to a retried POST (a cart on flaky Wi-Fi re-sends).

The key row is inserted first, in the same transaction as the work. A concurrent request with
the same key blocks on the unique index until the first commits, then finds the committed row
and replays its answer."""

import functools
import hashlib
import json
from collections.abc import Callable, Mapping

from django.db import transaction
from django.utils.translation import gettext
from rest_framework.response import Response

from hospital import sql
from hospital.api import error_body
from hospital.exceptions import ApplicationError
from scanning.models import IdempotentRequest

MAX_KEY_LENGTH = 200
# The endpoint of a key that was asked about (idempotent_outcome) before anything was kept under
# it: the key is closed, so "nothing was recorded" stays true for good.
CLOSED_ENDPOINT = "closed"


def idempotency_key(request) -> str | None:
    """The request's `Idempotency-Key` header, or None when it sent none."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ApplicationError(
            gettext("Idempotency-Key is too long."), code="INVALID_IDEMPOTENCY_KEY"
        )
    return key or None


def request_fingerprint(data) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(*, endpoint: str):
    """A POST handler that returns `(status, body)` runs whole under the request's
    Idempotency-Key (idempotent_call): validation and look-ups included, so a refusal rolls the
    key back with everything else. `endpoint` names the operation and may name URL arguments,
    e.g. "administrations/{external_id}/correct": one key is one operation on one object."""

    def decorate(post):
        @functools.wraps(post)
        def view(self, request, *args, **kwargs):
            status, body = idempotent_call(
                user=request.user,
                key=idempotency_key(request),
                endpoint=endpoint.format(**kwargs),
                data=_retried_part(request.data),
                run=lambda: post(self, request, *args, **kwargs),
            )
            return Response(body, status=status)

        return view

    return decorate


def _retried_part(data):
    """What a retry must repeat: not the cart's clock reading, which a resent request renews."""
    if not isinstance(data, Mapping):
        return data  # not an object: validation refuses it
    return {name: value for name, value in data.items() if name != "client_time"}


def idempotent_call(
    *, user, key: str | None, endpoint: str, data, run: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """`run` inside one durable transaction, its answer kept under `key` when it is a success. An
    `ApplicationError` raised by `run` rolls the key back with the work, and a 4xx it answers is
    not kept: a retry runs again. `endpoint` names the operation and the object it acts on: one key sent to another
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
            if row.endpoint == CLOSED_ENDPOINT:
                return 409, error_body(
                    "IDEMPOTENCY_KEY_CLOSED",
                    gettext(
                        "Nothing was recorded under this Idempotency-Key and it is closed: "
                        "send the request again with a new key."
                    ),
                )
            if row.endpoint != endpoint or row.request_fingerprint != fingerprint:
                return 422, error_body(
                    "IDEMPOTENCY_KEY_REUSED",
                    gettext("This Idempotency-Key was used for a different request."),
                )
            return row.response_status, row.response_body
        status, body = run()
        if status >= 400:
            # A refusal is not kept: the nurse's corrected retry (an override added) with the
            # same key is evaluated afresh. Its scan event still commits.
            IdempotentRequest.objects.filter(pk=claimed.pk).delete()
        else:
            _answer_keep(claimed.pk, status, body)
        return status, body


def _answer_keep(row_id: int, status: int, body: dict) -> None:
    sql.update(IdempotentRequest, row_id, response_status=status, response_body=body)


def idempotent_outcome(*, user, key: str) -> IdempotentRequest | None:
    """What became of `user`'s request sent with `key`: its kept answer, or None when nothing
    was kept. None is final: the key is closed here, so the lost request itself, if it is still
    on its way, is refused on arrival instead of recording after the cart was told it did not.
    The insert waits for a transaction in flight with the same key, so a request being recorded
    right now is answered once it commits or rolls back. Keys are per user: another nurse's key
    is simply not found."""
    with transaction.atomic(durable=True):
        closed = IdempotentRequest(
            user=user,
            key=key,
            endpoint=CLOSED_ENDPOINT,
            request_fingerprint="",
            response_status=0,
            response_body={},
        )
        if sql.insert(closed, unless_exists_on=("user", "key")):
            return None
        row = IdempotentRequest.objects.get(user=user, key=key)
        return None if row.endpoint == CLOSED_ENDPOINT else row
