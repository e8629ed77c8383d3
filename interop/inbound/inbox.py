"""The durable inbox: store, deduplicate, apply in order, acknowledge.

    receive ─▶ store (commit) ─▶ apply this patient's stored messages in order (one transaction
    each, under the patient's lock) ─▶ the ACK recorded with the outcome is sent

- Stored before acknowledged: the row commits before anything is applied; a listener killed
  after that leaves it RECEIVED, and the next listener (its sweep) or the sender's resend applies
  it. Killed while applying, the transaction rolls back and the same happens.
- Deduplicated by (sending facility, MSH-10): a repeat is answered with the ACK recorded for the
  first copy and never applied again.
- In order per patient (MRN): `pg_advisory_xact_lock` serialises the patients' messages across
  listeners; they are applied in arrival order. One that needs an earlier message (a discharge
  before its admission, an order before the patient) WAITs and is retried, in the HIS's order
  (MSH-7), after every message of the patient that applies.
- What cannot be applied goes to the work queue (FAILED, answered AE with ERR) until a person
  fixes the cause (e.g. maps the drug code) and reprocesses it, or dismisses it with a reason.
- For one hospital: MSH-4 names the hospital (`Hospital.hl7_facility`) whose wards and patients
  the message may change. A facility that is no hospital here is a FAILED message (AE) that
  applies once the hospital is set up and the message reprocessed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from hospital.exceptions import ApplicationError
from hospital.models import Hospital
from interop import conf
from interop.inbound import hl7in, services
from interop.inbound import types as t
from interop.inbound.ack import ack_build
from interop.models import InboundMessage, InboundState

logger = logging.getLogger(__name__)

ACK_CODES = {
    InboundState.APPLIED: "AA",
    InboundState.WAITING: "AA",
    InboundState.FAILED: "AE",
    InboundState.REJECTED: "AR",
}


def _lock(keys) -> None:
    """Serialise the work on these patients' messages across listeners (PostgreSQL; SQLite
    serialises every write anyway). Sorted, so that two merges cannot deadlock each other."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted(set(keys)):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"inbound:{key}"]
            )


def _hospital_of(facility: str) -> Hospital | None:
    return Hospital.objects.filter(hl7_facility=facility).first() if facility else None


def _ack(row: InboundMessage, *, at: datetime | None = None) -> str:
    code = ACK_CODES[row.state]
    return ack_build(
        code=code,
        acknowledged_id=row.control_id,
        trigger=row.message_type.partition("^")[2],
        control_id=f"ACK{row.pk}",
        at=timezone.localtime(at or timezone.now()),
        application=conf.get("INTEROP_HL7_SENDING_APPLICATION"),
        # We answer as the hospital the message was for, as we send about its records.
        facility=row.hospital.hl7_facility
        if row.hospital
        else conf.get("INTEROP_HL7_SENDING_FACILITY"),
        to_application=row.sending_application,
        to_facility=row.sending_facility,
        error_code=_hl7_error(row),
        error_location=row.problem_location,
        error_text=row.problem,
    )


def _hl7_error(row: InboundMessage) -> str:
    return row.problem_code.partition(":")[2] if ":" in row.problem_code else "207"


def _problem_fields(problem: t.InboundProblem | t.Rejected, code: str) -> dict:
    return {
        # "CODE:hl7" keeps the HL7 error code for the ACK beside ours.
        "problem_code": f"{code}:{problem.hl7_error}"[:40],
        "problem": problem.message[:2000],
        "problem_location": problem.location[:40],
    }


def inbox_receive(text: str) -> str | None:
    """Store one received message and answer it: the ACK to send, or None when nothing could be
    stored (the database is unreachable): no ACK, so that the sender sends it again."""
    now = timezone.now()
    config = conf.inbound_parse_config()
    try:
        header = hl7in.header_read(text, config.time_zone)
    except t.Rejected as rejected:
        return _unreadable(text, rejected, now)
    parsed = rejected = None
    try:
        parsed = hl7in.parse(text, config)
    except t.Rejected as error:
        rejected = error
    defaults = {
        "hospital": _hospital_of(header.sending_facility),
        "sending_application": header.sending_application[:180],
        "message_type": header.message_type[:40],
        "raw": text,
        "received_at": now,
        "sent_at": header.sent_at,
        "state": InboundState.RECEIVED,
    }
    if rejected is not None:
        defaults.update(state=InboundState.REJECTED, **_problem_fields(rejected, "REJECTED"))
    else:
        defaults["patient_key"] = parsed.patient_keys[0] if parsed.patient_keys else ""
        if parsed.problem is not None:
            defaults.update(
                state=InboundState.FAILED,
                **_problem_fields(parsed.problem, parsed.problem.code),
            )
    with transaction.atomic():
        row, created = InboundMessage.objects.get_or_create(
            sending_facility=header.sending_facility[:180],
            control_id=header.control_id[:199],
            defaults=defaults,
        )
        if created and row.state != InboundState.RECEIVED:
            row.ack = _ack(row, at=now)
            row.ack_code = ACK_CODES[row.state]
            row.save(update_fields=["ack", "ack_code"])
        elif not created:
            InboundMessage.objects.filter(pk=row.pk).update(times_received=F("times_received") + 1)
    if not created and row.ack:
        if row.raw != text:
            logger.warning(
                "message %s from %s repeated with different content: answered as the first",
                row.control_id,
                row.sending_facility,
            )
        return row.ack
    if row.state == InboundState.RECEIVED:
        inbox_drain(row.patient_key)
    row.refresh_from_db(fields=["ack", "state"])
    return row.ack or None


def _unreadable(text: str, rejected: t.Rejected, now) -> str:
    """Not even an MSH-10: kept for the record (a fresh row each time) and answered AR."""
    row = InboundMessage.objects.create(
        sending_facility="?",
        sending_application="?",
        control_id=f"?{timezone.now().timestamp():.6f}-{id(text)}",
        raw=text[:1_000_000],
        received_at=now,
        state=InboundState.REJECTED,
        **_problem_fields(rejected, "REJECTED"),
    )
    row.ack = ack_build(
        code="AR",
        acknowledged_id="",
        trigger="",
        control_id=f"ACK{row.pk}",
        at=timezone.localtime(now),
        application=conf.get("INTEROP_HL7_SENDING_APPLICATION"),
        facility=conf.get("INTEROP_HL7_SENDING_FACILITY"),
        error_code=rejected.hl7_error,
        error_location=rejected.location,
        error_text=rejected.message,
    )
    row.ack_code = "AR"
    row.save(update_fields=["ack", "ack_code"])
    return row.ack


def _apply_one(row: InboundMessage) -> str:
    """Apply one locked row inside the caller's transaction; record the outcome (and, the first
    time there is one, the ACK). Returns the new state."""
    row.attempts += 1
    fields = ["state", "attempts", "problem_code", "problem", "problem_location", "applied_at"]
    try:
        parsed = hl7in.parse(row.raw, conf.inbound_parse_config())
        if parsed.problem is not None:
            raise parsed.problem
        if row.hospital is None:
            row.hospital = _hospital_of(row.sending_facility)
            fields.append("hospital")
        if row.hospital is None:
            raise t.InboundProblem(
                "FACILITY_UNKNOWN",
                f"The sending facility {row.sending_facility!r} (MSH-4) is not the HL7 facility "
                "of any hospital here: set it on the hospital in /pharmacy/, then reprocess.",
                location="MSH^1^4",
                hl7_error="103",
            )
        sender = services.sender_of_hospital(row.hospital)
        with transaction.atomic():
            if isinstance(parsed.body, t.AdtEvent):
                summary = services.adt_apply(parsed.body, sender=sender)
            else:
                summary = services.orders_apply(parsed.body, sender=sender)
    except (OperationalError, InterfaceError):
        raise
    except t.InboundProblem as problem:
        row.state = InboundState.WAITING if problem.waiting else InboundState.FAILED
        for name, value in _problem_fields(problem, problem.code).items():
            setattr(row, name, value)
    except t.Rejected as rejected:
        row.state = InboundState.FAILED
        for name, value in _problem_fields(rejected, "REJECTED").items():
            setattr(row, name, value)
    except Exception as error:  # a defect must not lose the message: it waits for a person
        logger.exception("inbound message %s could not be applied", row.pk)
        row.state = InboundState.FAILED
        row.problem_code = "INTERNAL_ERROR:207"
        row.problem = f"Internal error while applying: {type(error).__name__}: {error}"[:2000]
        row.problem_location = ""
    else:
        row.state = InboundState.APPLIED
        row.applied_at = timezone.now()
        row.problem_code = ""
        row.problem = ""
        row.problem_location = ""
        row.outcome = summary[:300]
        fields.append("outcome")
    if not row.ack:
        row.ack = _ack(row)
        row.ack_code = ACK_CODES[row.state]
        fields += ["ack", "ack_code"]
    row.save(update_fields=fields)
    return row.state


def inbox_drain(key: str) -> int:
    """Apply this patient's stored messages, oldest first; after each that applies, retry the
    ones waiting for it. Returns how many were applied."""
    applied = 0
    while True:
        with transaction.atomic():
            _lock([key])
            row = (
                InboundMessage.objects.select_for_update()
                .filter(patient_key=key, state=InboundState.RECEIVED)
                .order_by("id")
                .first()
            )
            if row is None:
                return applied
            _lock(_keys(row))
            state = _apply_one(row)
        if state == InboundState.APPLIED:
            applied += 1 + _retry_waiting(key)


def _keys(row: InboundMessage) -> list[str]:
    """Both records of a merge are locked, not only the surviving one."""
    if row.message_type == "ADT^A40":
        try:
            return list(hl7in.parse(row.raw, conf.inbound_parse_config()).patient_keys)
        except t.Rejected:
            pass
    return [row.patient_key]


def _retry_waiting(key: str) -> int:
    applied = 0
    with transaction.atomic():
        _lock([key])
        waiting = list(
            InboundMessage.objects.select_for_update()
            .filter(patient_key=key, state=InboundState.WAITING)
            .order_by(F("sent_at").asc(nulls_last=True), "id")
        )
        progress = True
        while progress and waiting:
            progress = False
            for row in waiting:
                _lock(_keys(row))
                if _apply_one(row) == InboundState.APPLIED:
                    waiting.remove(row)
                    applied += 1
                    progress = True
                    break  # start again from the oldest: it may have been waiting for this one
    return applied


def inbox_sweep() -> int:
    """Apply whatever was stored and never applied (a listener killed in between)."""
    keys = (
        InboundMessage.objects.filter(state=InboundState.RECEIVED)
        .order_by()
        .values_list("patient_key", flat=True)
        .distinct()
    )
    return sum(inbox_drain(key) for key in list(keys))


def inbox_reprocess(*, messages, by) -> dict[str, int]:
    """A person fixed the cause (a mapping, a ward, a bed): apply these again, in order."""
    ids = list(
        messages.filter(state__in=[InboundState.FAILED, InboundState.WAITING])
        .order_by("id")
        .values_list("pk", flat=True)
    )
    InboundMessage.objects.filter(pk__in=ids).update(state=InboundState.RECEIVED)
    for key in (
        InboundMessage.objects.filter(pk__in=ids)
        .order_by()
        .values_list("patient_key", flat=True)
        .distinct()
    ):
        inbox_drain(key)
    now = timezone.now()
    InboundMessage.objects.filter(pk__in=ids, state=InboundState.APPLIED).update(
        resolved_by=by, resolved_at=now, resolution="reprocessed"
    )
    counts = {}
    for state in InboundMessage.objects.filter(pk__in=ids).values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


@transaction.atomic
def inbox_dismiss(*, messages, by, reason: str) -> int:
    """Close work-queue items that need not be applied (a test message, a duplicate the HIS sent
    with a new MSH-10): kept, with who dismissed them and why."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError("A reason is required.", code="REASON_REQUIRED")
    return messages.filter(state__in=[InboundState.FAILED, InboundState.WAITING]).update(
        state=InboundState.DISMISSED,
        resolved_by=by,
        resolved_at=timezone.now(),
        resolution=reason[:300],
    )
