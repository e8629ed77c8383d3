"""Who may read which patient: ward scoping and break-the-glass.

Pharmacists and administrators read every ward. Nurses and charge nurses read the patients of the
wards they are assigned to (`Ward.staff`) and the due lists of those wards. A nurse who scans the
wristband of a patient on another ward (covering a colleague, a transfer, an emergency) is not
stopped: the scan itself is her justification (she stands at the bed). It is logged as
break-the-glass (`hospital.AccessLog`) and opens that patient's record to her for
`BREAK_GLASS_ACCESS_HOURS`. Reading without a scan is refused with `PATIENT_NOT_IN_YOUR_WARDS`.

The scope follows the person, not the cart: a token client (which has no cart ward) is scoped by
the same ward assignments as a cart session, and an interface engine that must read every ward
needs a pharmacist or administrator account.

A patient's ward is the ward of the open admission, or of the latest one after discharge."""

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hospital.exceptions import ApplicationError
from hospital.models import AccessLog, Role
from wards.models import Admission, Ward

EVERY_WARD_ROLES = (Role.PHARMACIST, Role.ADMIN)

_Assignment = Ward.staff.through


class PatientNotInYourWardsError(ApplicationError):
    code = "PATIENT_NOT_IN_YOUR_WARDS"
    status = 403


class WardNotAssignedError(ApplicationError):
    code = "WARD_NOT_ASSIGNED"
    status = 403


def sees_every_ward(user) -> bool:
    return user.is_superuser or user.has_role(*EVERY_WARD_ROLES)


def _assignments(user) -> QuerySet:
    return _Assignment.objects.filter(user_id=user.pk)


def _current_ward(patient_id: int) -> Subquery:
    return Subquery(
        Admission.objects.filter(patient_id=patient_id)
        .order_by(F("discharged_at").desc(nulls_first=True), "-admitted_at")
        .values("ward_id")[:1]
    )


def break_glass_open(*, user, patient_id: int) -> bool:
    since = timezone.now() - timedelta(hours=settings.BREAK_GLASS_ACCESS_HOURS)
    return AccessLog.objects.filter(
        user_id=user.pk, patient_id=patient_id, created_at__gte=since
    ).exists()


_NOT_IN_YOUR_WARDS = gettext_lazy(
    "This patient is not on a ward you are assigned to. Scan the patient's wristband "
    "at the bedside to open the record."
)


def patient_read_check(*, user, patient_id: int | None, record_ward_id: int | None = None) -> None:
    """Refuse reading a patient's records unless the patient is on one of the user's wards, a
    break-the-glass scan of theirs is still open, or (`record_ward_id`) the record being read was
    made on one of the user's wards. `patient_id` None (no such patient) is refused alike to
    ward-scoped staff, so that trying identifiers tells them nothing."""
    if sees_every_ward(user):
        return
    if patient_id is None:
        raise PatientNotInYourWardsError(_NOT_IN_YOUR_WARDS)
    on_my_ward = Q(ward_id=_current_ward(patient_id))
    if record_ward_id is not None:
        on_my_ward |= Q(ward_id=record_ward_id)
    if _assignments(user).filter(on_my_ward).exists():
        return
    if break_glass_open(user=user, patient_id=patient_id):
        return
    raise PatientNotInYourWardsError(_NOT_IN_YOUR_WARDS)


def ward_read_check(*, user, ward: Ward) -> None:
    if sees_every_ward(user) or _assignments(user).filter(ward_id=ward.pk).exists():
        return
    raise WardNotAssignedError(_("You are not assigned to this ward."))


def administrations_visible(*, user, queryset: QuerySet) -> QuerySet:
    """The feed as this user may read it: nurses see the records made on their wards."""
    if sees_every_ward(user):
        return queryset
    return queryset.filter(admission__ward_id__in=_assignments(user).values("ward_id"))


def break_glass_record(
    *,
    user,
    admission: Admission | None,
    reason: str,
    cart: str = "",
    on_assigned_ward: bool | None = None,
):
    """Log a bedside scan of a patient outside the user's wards; nothing when the patient is on one
    of them (or the user reads every ward). `admission` is the open admission the scanned, active
    wristband identified; `on_assigned_ward` whether the user is assigned to its ward, when the
    caller has read it already (the bedside check reads it with the admission). Returns the new
    `AccessLog` row or None."""
    if admission is None or sees_every_ward(user):
        return None
    if on_assigned_ward is None:
        on_assigned_ward = _assignments(user).filter(ward_id=admission.ward_id).exists()
    if on_assigned_ward:
        return None
    return AccessLog.objects.create(
        user=user,
        patient_id=admission.patient_id,
        ward_id=admission.ward_id,
        reason=reason,
        cart=cart[:60],
    )
