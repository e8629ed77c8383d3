"""PRN effectiveness reassessments (issue 18): after a PRN dose the nurse comes back and documents
how well it worked (effective, partly, not effective; a pain score after an analgesic).

- When it is due: the record's time plus its route's PRN_REASSESS_MINUTES (settings: 30 min for
  IV, IM, SC and SL, 60 for PO by default), PRN_REASSESS_DEFAULT_MINUTES for any other route.
- Late: documented more than PRN_REASSESS_GRACE_MINUTES after it was due. `minutes_late` counts
  from the due time (a reassessment 20 min after due, with a 15 min grace, is 20 min late), and is
  fixed when it is written; 0 is on time.
- Which records: a given PRN dose that still stands (not withdrawn as entered in error). A record
  withdrawn after its reassessment keeps it, and leaves the reports' counts with the record.
- At most one per record, written once: the patient's row lock serialises two nurses documenting
  the same dose, and the second is refused with ALREADY_REASSESSED (409) naming the first; the
  one-to-one is the guard behind the lock. The table is append-only on PostgreSQL.
- Shown until documented: on the cart (the patient's list, the ward worklist's `reassessment`
  rows) and the ward dashboard, from due until PRN_REASSESS_SHOWN_HOURS after; missing beyond
  that (the PRN effectiveness report counts it).

Who may see the patient is the caller's to check (scanning.access, in the API view), as for every
bedside write. Tests: tests/scanning/test_reassessments.py, test_reassessment_races.py
(PostgreSQL), tests/backoffice/test_prn_report.py.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from hospital.exceptions import ApplicationError
from hospital.models import User
from pharmacy.models import ScheduleKind
from scanning import locks
from scanning.models import (
    Administration,
    PrnReassessment,
    ReassessmentEffect,
)
from scanning.refusals import AlreadyReassessedError, NotReassessableError


class ReassessmentNotAllowedError(ApplicationError):
    code = "PERFORMER_NOT_ALLOWED"
    status = 403


def reassess_minutes(route: str) -> int:
    """Minutes after a PRN dose by `route` that its effect is due to be reassessed."""
    return settings.PRN_REASSESS_MINUTES.get(route, settings.PRN_REASSESS_DEFAULT_MINUTES)


def reassessment_due_at(record: Administration) -> datetime:
    return record.administered_at + timedelta(minutes=reassess_minutes(record.route))


def minutes_late(*, due_at: datetime, documented_at: datetime) -> int:
    """0 within the grace after due (exactly at its end is on time), else whole minutes after due,
    at least one."""
    grace = timedelta(minutes=settings.PRN_REASSESS_GRACE_MINUTES)
    if documented_at <= due_at + grace:
        return 0
    return max(1, int((documented_at - due_at) // timedelta(minutes=1)))


def prn_records():
    """Given PRN doses that still stand: the records a reassessment follows up."""
    return Administration.objects.counting_given().filter(
        order__schedule_kind=ScheduleKind.PRN, corrects__isnull=True
    )


@dataclass(frozen=True)
class DueReassessment:
    record: Administration  # with patient, admission's bed and order's medication
    due_at: datetime

    def overdue(self, now: datetime) -> bool:
        return self.due_at <= now


def reassessments_due(
    *,
    now: datetime,
    until: datetime | None = None,
    ward_ids=None,
    patient_id: int | None = None,
) -> list[DueReassessment]:
    """PRN doses on open admissions not yet reassessed and due by `until` (default now), from
    PRN_REASSESS_SHOWN_HOURS before now; soonest due first. Two queries."""
    until = until or now
    longest = max([settings.PRN_REASSESS_DEFAULT_MINUTES, *settings.PRN_REASSESS_MINUTES.values()])
    shown = timedelta(hours=settings.PRN_REASSESS_SHOWN_HOURS)
    records = (
        prn_records()
        .filter(
            reassessment__isnull=True,
            admission__discharged_at__isnull=True,
            administered_at__gt=now - shown - timedelta(minutes=longest),
            administered_at__lte=until,
        )
        .select_related("patient", "admission__bed", "admission__ward", "order__medication")
        .order_by("administered_at", "pk")
    )
    if ward_ids is not None:
        records = records.filter(admission__ward_id__in=ward_ids)
    if patient_id is not None:
        records = records.filter(patient_id=patient_id)
    found = []
    for record in records:
        due = reassessment_due_at(record)
        # due exactly PRN_REASSESS_SHOWN_HOURS ago has left the lists
        if now - shown < due <= until:
            found.append(DueReassessment(record, due))
    found.sort(key=lambda item: (item.due_at, item.record.pk))
    return found


def _effect_check(effect: str, pain_score: int | None, *, analgesic: bool) -> None:
    if effect not in ReassessmentEffect.values:
        raise ApplicationError(
            gettext("Choose the effect: effective, partly effective or not effective."),
            code="INVALID_EFFECT",
            details={"allowed": ReassessmentEffect.values},
        )
    if pain_score is not None and not 0 <= pain_score <= 10:
        raise ApplicationError(
            gettext("The pain score is a whole number from 0 to 10."), code="INVALID_PAIN_SCORE"
        )
    if analgesic and pain_score is None:
        raise ApplicationError(
            gettext("After an analgesic, enter the pain score (0–10)."),
            code="PAIN_SCORE_REQUIRED",
            details={"field": "pain_score"},
        )


def reassessment_record(
    *,
    performer: User,
    administration: Administration,
    effect: str,
    pain_score: int | None = None,
    comment: str = "",
    cart: str = "",
) -> PrnReassessment:
    """Document how a PRN dose worked. Call inside `transaction.atomic(durable=True)` (the
    idempotent view does): the patient's lock is held to the commit."""
    if not performer.may_administer:
        raise ReassessmentNotAllowedError(gettext("Only nurses may document reassessments."))
    order = administration.order
    if not order.is_prn:
        raise NotReassessableError(
            gettext("This record is not a PRN dose: it has no reassessment."),
            details={"reason": "not_prn"},
        )
    _effect_check(effect, pain_score, analgesic=order.pain_score_asked)
    locks.patient(administration.patient_id)
    existing = (
        PrnReassessment.objects.filter(administration=administration)
        .select_related("performer", "administration")
        .first()
    )
    if existing is not None:
        raise already_reassessed(existing)
    if not prn_records().filter(pk=administration.pk).exists():
        raise NotReassessableError(
            gettext("This record was not given or was entered in error: it has no reassessment."),
            details={"reason": "not_given"},
        )
    now = timezone.now()
    due = reassessment_due_at(administration)
    try:
        with transaction.atomic():
            return PrnReassessment.objects.create(
                administration=administration,
                patient_id=administration.patient_id,
                performer=performer,
                documented_at=now,
                due_at=due,
                minutes_late=minutes_late(due_at=due, documented_at=now),
                effect=effect,
                pain_score=pain_score,
                comment=comment.strip()[:500],
                cart=cart[:60],
            )
    except IntegrityError as error:
        # The patient's lock makes this unreachable; the one-to-one is the guard behind it.
        existing = PrnReassessment.objects.select_related("performer", "administration").get(
            administration=administration
        )
        raise already_reassessed(existing) from error


def reassessment_body(reassessment: PrnReassessment) -> dict:
    return {
        "id": str(reassessment.external_id),
        "administration": str(reassessment.administration.external_id),
        "documented_at": timezone.localtime(reassessment.documented_at).isoformat(),
        "due_at": timezone.localtime(reassessment.due_at).isoformat(),
        "late": reassessment.late,
        "minutes_late": reassessment.minutes_late,
        "effect": reassessment.effect,
        "effect_label": str(ReassessmentEffect(reassessment.effect).label),
        "pain_score": reassessment.pain_score,
        "comment": reassessment.comment,
        "performer": reassessment.performer.username,
    }


def already_reassessed(existing: PrnReassessment) -> AlreadyReassessedError:
    return AlreadyReassessedError(
        gettext("This dose's effect was already documented by %(nurse)s at %(time)s.")
        % {
            "nurse": existing.performer.get_full_name() or existing.performer.username,
            "time": timezone.localtime(existing.documented_at).strftime("%H:%M"),
        },
        details={"reassessment": reassessment_body(existing)},
    )
