"""The outbox worker: claims due messages, sends them over MLLP, records what the receiver said.

Delivery is at least once, and exactly once in the normal case:

1. Claim. In a short transaction, lock due rows with `SELECT … FOR UPDATE SKIP LOCKED` (other
   workers skip them instead of waiting), stamp them with this batch's lease token and push
   `next_attempt_at` past the longest this batch can take. Commit: the rows are now invisible to
   other workers until that lease ends.
2. Send each message and wait for its ACK, outside any transaction.
3. Record the result only if the row still carries our lease token (a worker that overran its
   lease must not overwrite a newer attempt): AA (or CA) → delivered; AE, AR, timeouts, refused
   or lost connections → retry after base × 2^(attempts − 1) seconds, or dead after the
   destination's maximum attempts.

A worker killed between 1 and 3 leaves its rows claimed; when the lease ends another worker sends
them again. The receiver may then see a message twice, with the same MSH-10, and drops the copy.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from interop import conf
from interop.hl7v2 import AckParseError, Hl7MappingError, ack_parse, ras_o17
from interop.mllp import ConnectFailed, MllpClient, MllpError
from interop.models import Destination, OutboundMessage, OutboundState
from interop.snapshot import snapshot_from_json

logger = logging.getLogger(__name__)


@dataclass
class BatchResult:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost_lease: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempts: int) -> timedelta:
    base = float(conf.get("INTEROP_RETRY_BASE_SECONDS"))
    cap = float(conf.get("INTEROP_RETRY_MAX_SECONDS"))
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def lease_length(destination: Destination, batch_size: int) -> timedelta:
    per_message = (
        float(conf.get("INTEROP_CONNECT_TIMEOUT_SECONDS")) + destination.ack_timeout_seconds
    )
    return timedelta(
        seconds=per_message * batch_size + float(conf.get("INTEROP_LEASE_MARGIN_SECONDS"))
    )


class Worker:
    """Holds one MLLP connection per destination between batches."""

    def __init__(self, *, batch_size: int | None = None):
        self.batch_size = batch_size or int(conf.get("INTEROP_BATCH_SIZE"))
        self._clients: dict[tuple[str, int], MllpClient] = {}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def deliver_batch(self, *, now: datetime | None = None) -> BatchResult:
        result = BatchResult()
        token = uuid.uuid4()
        claimed = self.claim(token=token, now=now or timezone.now())
        result.claimed = len(claimed)
        unreachable: dict[int, str] = {}
        for message in claimed:
            destination = message.destination
            if destination.pk in unreachable:
                outcome = _Failure(unreachable[destination.pk])
            else:
                outcome = self._send(message)
                if isinstance(outcome, _Failure) and outcome.unreachable:
                    # The rest of this batch for that destination would fail the same way; each
                    # still counts as an attempt.
                    unreachable[destination.pk] = outcome.error
            self._record(message, token, outcome, result)
        return result

    def claim(self, *, token: uuid.UUID, now: datetime) -> list[OutboundMessage]:
        with transaction.atomic():
            messages = list(
                OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("destination")
                .filter(state=OutboundState.PENDING, next_attempt_at__lte=now)
                .filter(destination__enabled=True)
                .filter(Q(depends_on__isnull=True) | ~Q(depends_on__state=OutboundState.PENDING))
                .order_by("next_attempt_at", "pk")[: self.batch_size]
            )
            for message in messages:
                message.lease_token = token
                message.next_attempt_at = now + lease_length(message.destination, len(messages))
            OutboundMessage.objects.bulk_update(messages, ["lease_token", "next_attempt_at"])
        return messages

    def _send(self, message: OutboundMessage) -> _Outcome:
        destination = message.destination
        try:
            payload = message.payload or _render(message)
        except (Hl7MappingError, ValueError, KeyError) as error:
            logger.exception("cannot render outbound message %s", message.pk)
            return _Failure(f"RENDER_FAILED: {error}", payload="")
        client = self._client(destination)
        try:
            reply = client.exchange(payload, timeout=destination.ack_timeout_seconds)
        except MllpError as error:
            return _Failure(
                f"{error.reason}: {error}",
                payload=payload,
                unreachable=isinstance(error, ConnectFailed),
            )
        try:
            ack = ack_parse(reply)
        except AckParseError as error:
            client.close()
            return _Failure(f"BAD_ACK: {error}", payload=payload)
        if ack.control_id != message.message_id:
            # Not the answer to this message: the connection is out of step, start afresh.
            client.close()
            return _Failure(
                f"ACK_MISMATCH: acknowledged {ack.control_id!r}, sent {message.message_id!r}",
                payload=payload,
                ack_code=ack.code,
            )
        if ack.accepted:
            return _Delivered(payload=payload, ack_code=ack.code)
        explanation = f" – {ack.text}" if ack.text else ""
        return _Failure(f"{ack.code}: rejected by the receiver{explanation}", payload, ack.code)

    def _client(self, destination: Destination) -> MllpClient:
        key = (destination.host, destination.port)
        client = self._clients.get(key)
        if client is None:
            client = MllpClient(
                destination.host,
                destination.port,
                connect_timeout=float(conf.get("INTEROP_CONNECT_TIMEOUT_SECONDS")),
            )
            self._clients[key] = client
        return client

    def _record(
        self, message: OutboundMessage, token: uuid.UUID, outcome: _Outcome, result: BatchResult
    ) -> None:
        now = timezone.now()
        attempts = message.attempts + 1
        fields: dict = {
            "attempts": attempts,
            "last_attempt_at": now,
            "lease_token": None,
        }
        if outcome.payload and not message.payload:
            fields["payload"] = outcome.payload
        if isinstance(outcome, _Delivered):
            fields.update(
                state=OutboundState.DELIVERED,
                delivered_at=now,
                ack_code=outcome.ack_code,
                last_error="",
            )
        else:
            fields.update(last_error=outcome.error[:2000], ack_code=outcome.ack_code)
            if attempts >= message.destination.max_attempts:
                fields.update(state=OutboundState.DEAD, next_attempt_at=now)
            else:
                fields.update(next_attempt_at=now + retry_delay(attempts))
        updated = OutboundMessage.objects.filter(
            pk=message.pk, lease_token=token, state=OutboundState.PENDING
        ).update(**fields)
        if not updated:
            result.lost_lease += 1
            logger.warning("lease lost on outbound message %s; its result is dropped", message.pk)
        elif isinstance(outcome, _Delivered):
            result.delivered += 1
        elif fields.get("state") == OutboundState.DEAD:
            result.dead += 1
            result.errors.append(outcome.error)
            logger.error(
                "outbound message %s to %s dead after %s attempts: %s",
                message.message_id,
                message.destination.name,
                attempts,
                outcome.error,
            )
        else:
            result.retried += 1
            result.errors.append(outcome.error)
            logger.info(
                "outbound message %s to %s failed (attempt %s): %s",
                message.message_id,
                message.destination.name,
                attempts,
                outcome.error,
            )


def _render(message: OutboundMessage) -> str:
    destination = message.destination
    return ras_o17(
        snapshot_from_json(message.snapshot),
        conf.hl7_config(
            receiving_application=destination.receiving_application,
            receiving_facility=destination.receiving_facility,
        ),
    )


@dataclass
class _Delivered:
    payload: str
    ack_code: str


@dataclass
class _Failure:
    error: str
    payload: str = ""
    ack_code: str = ""
    unreachable: bool = False


_Outcome = _Delivered | _Failure


def deliver_batch(*, now: datetime | None = None, batch_size: int | None = None) -> BatchResult:
    """One batch with fresh connections (for tests and `outbox_worker --once`)."""
    worker = Worker(batch_size=batch_size)
    try:
        return worker.deliver_batch(now=now)
    finally:
        worker.close()
