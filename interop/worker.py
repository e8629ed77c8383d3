"""The outbox worker: claims due messages, sends them over MLLP, records what the receiver said.

Delivery is at least once, and exactly once in the normal case:

1. Claim. In a short transaction, lock due rows with `SELECT … FOR UPDATE SKIP LOCKED` (other
   workers skip them instead of waiting), stamp them with this batch's lease token and push
   `next_attempt_at` past the longest this batch can take. Commit: the rows are now invisible to
   other workers until that lease ends.
2. Send each message and wait for its ACK, outside any transaction. Each send is a
   `DeliveryAttempt` row, written (committed) before the first byte goes out and completed with
   the connection, the bytes sent and what came back: every copy a receiver may have seen is on
   record, and nothing is ever re-sent behind the record's back (not even on a new connection
   after a connection dropped mid-frame).
3. Read acknowledgements until the one for this message (MSA-2 = our MSH-10): an answer to an
   earlier message (late, after a timeout) is noted and skipped, never taken for this one's. A
   commit ACK (CA, enhanced mode) is not a delivery: the application's AA is. AA → delivered;
   AE, CE, timeouts, refused or lost connections → retry after base × 2^(attempts − 1) seconds,
   or dead after the destination's maximum attempts; AR, CR (the receiver rejects the message
   itself) → dead at once with the reason, unless the destination says to retry.
4. Record the result only if the row still carries our lease token (a worker that overran its
   lease must not overwrite a newer attempt).

A worker killed between 1 and 4 leaves its rows claimed (and its attempt "sending"); when the
lease ends another worker sends them again, as a new attempt. The receiver may then see a message
twice, with the same MSH-10; both copies are on record.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from interop import conf
from interop.hl7v2 import (
    AckParseError,
    Hl7MappingError,
    ack_build,
    ack_parse,
    message_header,
    ras_o17,
)
from interop.ids import short_id
from interop.mllp import AckTimeout, ConnectFailed, MllpClient, MllpError, Sent, frame
from interop.models import (
    AckMode,
    AttemptOutcome,
    DeliveryAttempt,
    Destination,
    OutboundMessage,
    OutboundState,
    RejectPolicy,
)
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
    # Connecting, sending (bounded by the ACK timeout) and waiting for the ACK.
    per_message = (
        float(conf.get("INTEROP_CONNECT_TIMEOUT_SECONDS")) + 2 * destination.ack_timeout_seconds
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
        # On record before anything goes out: a worker killed mid-send leaves this row behind.
        attempt = DeliveryAttempt.objects.create(
            message=message, started_at=timezone.now(), frame_bytes=len(frame(payload))
        )
        client = self._client(destination)
        sent = Sent(frame_bytes=attempt.frame_bytes)
        replies: list[str] = []
        try:
            sent = client.send(payload, timeout=destination.ack_timeout_seconds)
            outcome = self._await_ack(client, message, payload, replies)
        except MllpError as error:
            sent = error.sent or sent
            outcome = _Failure(
                f"{error.reason}: {error}",
                payload=payload,
                ack_code="CA" if any(_code(reply) == "CA" for reply in replies) else "",
                unreachable=isinstance(error, ConnectFailed),
            )
        _attempt_finish(attempt, sent, outcome, replies)
        return outcome

    def _await_ack(
        self, client: MllpClient, message: OutboundMessage, payload: str, replies: list[str]
    ) -> _Outcome:
        """Read frames until the acknowledgement of this message (see the module docstring)."""
        destination = message.destination
        deadline = time.monotonic() + destination.ack_timeout_seconds
        committed = False
        while True:
            try:
                text = client.receive(deadline=deadline)
            except AckTimeout as error:
                if committed:
                    raise AckTimeout(
                        "the receiver committed the message (CA) but sent no application "
                        "acknowledgement in time"
                    ) from error
                raise
            replies.append(text)
            try:
                ack = ack_parse(text)
            except AckParseError as error:
                client.close()
                return _Failure(f"BAD_ACK: {error}", payload=payload)
            if ack.control_id != message.message_id:
                # A late answer to an earlier message: never this one's.
                logger.warning(
                    "skipping an acknowledgement of %r while waiting for %r",
                    ack.control_id,
                    message.message_id,
                )
                continue
            explanation = f" – {ack.text}" if ack.text else ""
            if ack.code == "CA":
                committed = True
                continue
            if ack.code == "AA":
                if destination.ack_mode == AckMode.ENHANCED:
                    _commit_application_ack(client, text)
                return _Delivered(payload=payload, ack_code=ack.code)
            if ack.code in ("AR", "CR"):
                return _Rejected(
                    f"{ack.code}: rejected by the receiver{explanation}", payload, ack.code
                )
            if ack.code in ("AE", "CE"):
                return _Failure(
                    f"{ack.code}: error at the receiver{explanation}", payload, ack.code
                )
            client.close()
            return _Failure(f"BAD_ACK: unknown acknowledgement code {ack.code!r}", payload)

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
            reject = (
                isinstance(outcome, _Rejected)
                and message.destination.on_reject == RejectPolicy.DEAD
            )
            if reject or attempts >= message.destination.max_attempts:
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
            enhanced_acks=destination.ack_mode == AckMode.ENHANCED,
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


@dataclass
class _Rejected(_Failure):
    """AR or CR: the receiver refuses the message itself; retrying will not change its mind."""


_Outcome = _Delivered | _Failure


def _code(text: str) -> str:
    try:
        return ack_parse(text).code
    except AckParseError:
        return ""


def _attempt_finish(attempt: DeliveryAttempt, sent: Sent, outcome: _Outcome, replies) -> None:
    if isinstance(outcome, _Delivered):
        result, error = AttemptOutcome.DELIVERED, ""
    elif isinstance(outcome, _Rejected):
        result, error = AttemptOutcome.REJECTED, outcome.error
    else:
        result, error = AttemptOutcome.FAILED, outcome.error
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        finished_at=timezone.now(),
        local_address=sent.local,
        remote_address=sent.remote,
        new_connection=sent.new_connection,
        bytes_sent=sent.bytes_sent,
        frame_bytes=sent.frame_bytes or attempt.frame_bytes,
        outcome=result,
        ack_code=outcome.ack_code,
        reply="\n\n".join(reply.replace("\r", "\n").strip() for reply in replies)[:4000],
        error=error[:2000],
    )


def _commit_application_ack(client: MllpClient, text: str) -> None:
    """Enhanced mode: the receiver's application ACK is itself a message, and when its MSH-15
    asks for one it gets our commit ACK (CA)."""
    try:
        received = message_header(text)
    except ValueError:
        return
    if received.accept_ack_type != "AL":
        return
    client.reply(
        ack_build(
            received,
            code="CA",
            control_id=short_id(uuid.uuid4()),
            at=timezone.localtime(),
            application=conf.get("INTEROP_HL7_SENDING_APPLICATION"),
            facility=conf.get("INTEROP_HL7_SENDING_FACILITY"),
        )
    )


def deliver_batch(*, now: datetime | None = None, batch_size: int | None = None) -> BatchResult:
    """One batch with fresh connections (for tests and `outbox_worker --once`)."""
    worker = Worker(batch_size=batch_size)
    try:
        return worker.deliver_batch(now=now)
    finally:
        worker.close()
