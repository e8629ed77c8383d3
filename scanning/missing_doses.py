"""Missing-dose requests: a nurse asks the pharmacy for a scheduled dose she cannot give from the
cart (not on it, damaged, the wrong strength), the pharmacy's queue lists the open ones, oldest
due first, and a pharmacist marks each sent.

The database keeps the two promises, whatever calls these functions: one open request per dose
(a partial unique constraint on the dose's order and due time), and a request moves once, from
requested to sent, naming who sent it and when (a conditional UPDATE here, a trigger on
PostgreSQL). Two nurses asking at once make one request, and the second gets it back; two
pharmacists sending at once send once, and the second is refused with
MISSING_DOSE_ALREADY_SENT (409).

Who may see the patient is the caller's to check (scanning.access, in the API views), as for
every bedside write.

Tests: tests/scanning/test_missing_doses.py (services and API), test_missing_dose_races.py
(PostgreSQL), tests/backoffice/test_missing_doses.py (queue page and report).
"""

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from hospital.exceptions import ApplicationError
from hospital.models import Role, User
from pharmacy.models import DoseState, MedicationOrder, OrderStatus, ScheduledDose
from scanning.models import MissingDoseReason, MissingDoseRequest, MissingDoseState
from scanning.refusals import AlreadyGivenError, DoseCancelledError, MissingDoseAlreadySentError


class MissingDoseNotAllowedError(ApplicationError):
    code = "MISSING_DOSE_NOT_ALLOWED"
    status = 403


def missing_dose_reason_check(reason: str, comment: str) -> None:
    if reason not in MissingDoseReason.values:
        raise ApplicationError(
            gettext("Unknown reason."),
            code="INVALID_REASON",
            details={"allowed": MissingDoseReason.values},
        )
    if reason == MissingDoseReason.OTHER and not comment.strip():
        raise ApplicationError(
            gettext("A comment is required for 'other'."), code="COMMENT_REQUIRED"
        )


def _open_request(order_id: int, due_at) -> MissingDoseRequest | None:
    return (
        MissingDoseRequest.objects.filter(
            order_id=order_id, due_at=due_at, state=MissingDoseState.REQUESTED
        )
        .select_related("requested_by")
        .first()
    )


def missing_dose_request(
    *, nurse: User, scheduled_dose: ScheduledDose, reason: str, comment: str = "", cart: str = ""
) -> tuple[MissingDoseRequest, bool]:
    """Ask the pharmacy for this dose. Returns the request and whether this call made it: a dose
    already asked for and not yet sent gets that request back, whoever asked."""
    if not nurse.may_administer:
        raise MissingDoseNotAllowedError(gettext("Only nurses may ask the pharmacy for a dose."))
    missing_dose_reason_check(reason, comment)
    if scheduled_dose.state == DoseState.GIVEN:
        raise AlreadyGivenError(gettext("This dose has already been given."))
    if scheduled_dose.state == DoseState.CANCELLED:
        raise DoseCancelledError(gettext("This dose was cancelled: there is nothing to ask for."))
    order: MedicationOrder = scheduled_dose.order
    if order.status != OrderStatus.ACTIVE:
        raise ApplicationError(
            gettext("The order is %(status)s: the pharmacy cannot send this dose.")
            % {"status": order.get_status_display()},
            code="ORDER_NOT_ACTIVE",
            status=409,
        )
    existing = _open_request(order.pk, scheduled_dose.due_at)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            created = MissingDoseRequest.objects.create(
                order=order,
                due_at=scheduled_dose.due_at,
                ward_id=order.admission.ward_id,
                reason=reason,
                comment=comment.strip()[:500],
                cart=cart[:60],
                requested_by=nurse,
            )
    except IntegrityError:
        # Another nurse's request for this dose committed first: hers is the one.
        existing = _open_request(order.pk, scheduled_dose.due_at)
        if existing is None:
            raise
        return existing, False
    return created, True


def missing_dose_mark_sent(*, pharmacist: User, request: MissingDoseRequest) -> MissingDoseRequest:
    """The pharmacy sent the dose. Once: a request already sent is refused, naming who sent it
    and when."""
    if not (pharmacist.is_superuser or pharmacist.has_role(Role.PHARMACIST, Role.ADMIN)):
        raise MissingDoseNotAllowedError(gettext("Only the pharmacy can mark a dose sent."))
    # One statement decides: a second pharmacist's UPDATE waits for the first's row and then
    # finds it no longer requested.
    sent = MissingDoseRequest.objects.filter(
        pk=request.pk, state=MissingDoseState.REQUESTED
    ).update(state=MissingDoseState.SENT, sent_by=pharmacist, sent_at=timezone.now())
    current = MissingDoseRequest.objects.select_related("sent_by").get(pk=request.pk)
    if not sent:
        raise MissingDoseAlreadySentError(
            gettext("This dose was already sent by %(name)s at %(time)s.")
            % {
                "name": staff_name(current.sent_by),
                "time": date_format(timezone.localtime(current.sent_at), "H:i d/m/Y"),
            },
            details={
                "sent_by": current.sent_by.username if current.sent_by else "",
                "sent_at": current.sent_at.isoformat() if current.sent_at else None,
            },
        )
    return current


def staff_name(user: User | None) -> str:
    """A staff member as the ward says it: family name first (Võ Minh Tuấn)."""
    if user is None:
        return ""
    return " ".join(part for part in (user.last_name, user.first_name) if part) or user.username


# --- reads ----------------------------------------------------------------------------------


def missing_dose_queue(*, ward_code: str | None = None) -> QuerySet[MissingDoseRequest]:
    """The pharmacy's queue: requests not yet sent, oldest due first."""
    queue = MissingDoseRequest.objects.filter(state=MissingDoseState.REQUESTED)
    if ward_code:
        queue = queue.filter(order__admission__ward__code=ward_code)
    return queue.select_related(
        "order__medication",
        "order__admission__patient",
        "order__admission__ward",
        "order__admission__bed",
        "requested_by",
    ).order_by("due_at", "requested_at", "pk")


def missing_dose_requests_by_dose(
    *, orders: list[MedicationOrder], due_ats: list
) -> dict[tuple[int, object], MissingDoseRequest]:
    """For the cart's dose list, in one query: each dose's latest request, keyed by (order id,
    due time)."""
    if not orders or not due_ats:
        return {}
    requests = (
        MissingDoseRequest.objects.filter(order__in=orders, due_at__in=due_ats)
        .select_related("requested_by", "sent_by")
        .order_by("requested_at", "pk")
    )
    return {(request.order_id, request.due_at): request for request in requests}
