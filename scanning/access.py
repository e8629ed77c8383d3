"""Who may read which patient: hospitals as tenants, ward scoping and break-the-glass.

Every read is first scoped to the hospitals the user works in (`User.hospitals`): nobody but a
superuser reads another hospital's patients, wards or records, and a patient of another hospital
is answered exactly as one that does not exist (`PATIENT_NOT_IN_YOUR_HOSPITALS`, 404), so that
typing identifiers tells nothing. Break-the-glass never crosses a hospital.

Within her hospitals: pharmacists and administrators read every ward. Nurses and charge nurses
read the patients of the wards they are assigned to (`Ward.staff`) and the due lists of those
wards. A nurse who scans the
wristband of a patient on another ward (covering a colleague, a transfer, an emergency) is not
stopped: the scan itself is her justification (she stands at the bed). It is logged as
break-the-glass (`scanning.models.AccessLog`) and opens that patient's record to her for
`BREAK_GLASS_ACCESS_HOURS`. Reading without a scan is refused with `PATIENT_NOT_IN_YOUR_WARDS`.

Only a scan breaks the glass: a band typed in (`keyed`), or sent from a session that is no cart's,
is refused (`BREAK_GLASS_NEEDS_SCAN`) before anything about the patient is shown, since typing is
how a loop over computed GSRNs finds patients. A nurse opens at most `BREAK_GLASS_MAX_PER_HOUR`
patients an hour this way (`BREAK_GLASS_LIMIT`); the `BREAK_GLASS_ALERT_AFTER`-th in an hour, and
every refusal, is a security event, and the first of them in an hour mails the administrators.

The scope follows the person. Staff read through a cart session (or the pharmacy site); systems
(an interface engine) read every ward of their hospitals through a service account, whose OAuth2
scopes limit what it reads (hospital/oauth.py).

A patient's ward is the ward of the open admission, or of the latest one after discharge. A patient
never admitted anywhere is her registering hospital's (`Patient.hospital`) and no other's."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import mail_admins
from django.db.models import F, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hospital.exceptions import ApplicationError
from hospital.models import Hospital, Role, SecurityEvent, SecurityEventKind
from scanning.models import AccessLog
from wards.models import Admission, Patient, Ward
from wards.selectors import patients_by_mrn

logger = logging.getLogger("bcma.security")

EVERY_WARD_ROLES = (Role.PHARMACIST, Role.ADMIN)

_Assignment = Ward.staff.through


class PatientNotInYourWardsError(ApplicationError):
    code = "PATIENT_NOT_IN_YOUR_WARDS"
    status = 403


class WardNotAssignedError(ApplicationError):
    code = "WARD_NOT_ASSIGNED"
    status = 403


class BreakGlassNeedsScanError(ApplicationError):
    code = "BREAK_GLASS_NEEDS_SCAN"
    status = 403


class BreakGlassLimitError(ApplicationError):
    code = "BREAK_GLASS_LIMIT"
    status = 429


class PatientNotInYourHospitalsError(ApplicationError):
    code = "PATIENT_NOT_IN_YOUR_HOSPITALS"
    status = 404


_NOT_IN_YOUR_HOSPITALS = gettext_lazy(
    "There is no patient with this identifier in the hospitals you work in."
)


def reads_province(user) -> bool:
    return user.is_superuser


def sees_every_ward(user) -> bool:
    """Every ward of her hospitals (a service account too: its token's scopes limit what)."""
    return user.is_superuser or user.is_service_account or user.has_role(*EVERY_WARD_ROLES)


def hospitals_worked_in(user) -> QuerySet:
    """The hospitals this user works in: those of `User.hospitals`, and those of the wards she
    is assigned to (an assignment is work in that hospital); every one for a superuser."""
    if reads_province(user):
        return Hospital.objects.all()
    return Hospital.objects.filter(Q(staff=user.pk) | Q(wards__staff=user.pk)).distinct()


def hospital_wards(user) -> QuerySet:
    """The wards of the hospitals this user works in."""
    return Ward.objects.filter(hospital__in=hospitals_worked_in(user).values("pk"))


def readable_wards(user) -> QuerySet | None:
    """The wards whose patients and records this user reads; None for the whole province."""
    if reads_province(user):
        return None
    if sees_every_ward(user):
        return hospital_wards(user)
    return Ward.objects.filter(staff=user.pk)


def _assignments(user) -> QuerySet:
    return _Assignment.objects.filter(user_id=user.pk)


def _in_my_hospitals(user, *, patient_id: int, record_ward_id: int | None) -> bool:
    """On (or, `record_ward_id`, recorded on) a ward of her hospitals; or never admitted anywhere
    and registered by one of her hospitals (backoffice.tenancy.patients_of_my_hospitals alike)."""
    here = Q(pk=_current_ward(patient_id))
    if record_ward_id is not None:
        here |= Q(pk=record_ward_id)
    if hospital_wards(user).filter(here).exists():
        return True
    return Patient.objects.filter(
        pk=patient_id,
        hospital__in=hospitals_worked_in(user).values("pk"),
        admissions__isnull=True,
    ).exists()


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
    if reads_province(user):
        return
    if sees_every_ward(user):
        if patient_id is None or _in_my_hospitals(
            user, patient_id=patient_id, record_ward_id=record_ward_id
        ):
            return  # an unknown identifier is the caller's 404, as for another hospital's
        raise PatientNotInYourHospitalsError(_NOT_IN_YOUR_HOSPITALS)
    if patient_id is None:
        raise PatientNotInYourWardsError(_NOT_IN_YOUR_WARDS)
    on_my_ward = Q(ward_id=_current_ward(patient_id))
    if record_ward_id is not None:
        on_my_ward |= Q(ward_id=record_ward_id)
    if _assignments(user).filter(on_my_ward).exists():
        return
    # A break-the-glass opened in her hospital reads the patient there, not after a transfer.
    if break_glass_open(user=user, patient_id=patient_id) and _in_my_hospitals(
        user, patient_id=patient_id, record_ward_id=None
    ):
        return
    raise PatientNotInYourWardsError(_NOT_IN_YOUR_WARDS)


def patient_by_mrn_for(*, user, mrn: str) -> Patient | None:
    """The patient a cart names by an MRN: the one a hospital she works in numbers so (each
    hospital numbers its own patients: another hospital's same number is someone else). With the
    same number at two of her hospitals, the one she may read; else the first admitted."""
    found = patients_by_mrn(hospital_ids=hospitals_worked_in(user).values("pk"), mrn=mrn)
    if len(found) < 2:
        return found[0] if found else None
    for patient in found:
        try:
            patient_read_check(user=user, patient_id=patient.pk)
        except (PatientNotInYourWardsError, PatientNotInYourHospitalsError):
            continue
        return patient
    return found[0]


def ward_read_check(*, user, ward: Ward) -> None:
    wards = readable_wards(user)
    if wards is None or wards.filter(pk=ward.pk).exists():
        return
    raise WardNotAssignedError(_("You are not assigned to this ward."))


def administrations_visible(*, user, queryset: QuerySet) -> QuerySet:
    """The feed as this user may read it: the records made on the wards she reads. (The back
    office cuts its lists the same way: backoffice.tenancy.rows_of_my_hospitals.)"""
    wards = readable_wards(user)
    if wards is None:
        return queryset
    return queryset.filter(admission__ward__in=wards.values("pk"))


def _opened_recently(user) -> set[int]:
    """The patients outside her wards this user opened by break-the-glass in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    return set(
        AccessLog.objects.filter(user_id=user.pk, created_at__gte=since).values_list(
            "patient_id", flat=True
        )
    )


def _security_event(*, user, kind: str, cart: str, count: int, mail: bool) -> None:
    SecurityEvent.objects.create(
        kind=kind, credential=user.username, cart=cart[:60], failures=count, subject=user
    )
    message = (
        f"Break-the-glass by {user.username} at cart {cart or '?'}: {kind} "
        f"({count} patients outside her wards in the last hour). Security events in /pharmacy/."
    )
    logger.warning("break-the-glass: %s", message)
    if mail and settings.ADMINS:
        mail_admins("Break-the-glass: " + user.username, message, fail_silently=True)


def _first_event_this_hour(user, kind: str) -> bool:
    since = timezone.now() - timedelta(hours=1)
    return not SecurityEvent.objects.filter(
        subject_id=user.pk, kind=kind, created_at__gte=since
    ).exists()


def _refusal_event(user, kind: str, *, cart: str, count: int) -> None:
    """A refused break-the-glass on record; the administrators are mailed once an hour a kind."""
    _security_event(
        user=user, kind=kind, cart=cart, count=count, mail=_first_event_this_hour(user, kind)
    )


def break_glass_record(
    *,
    user,
    admission: Admission | None,
    reason: str,
    cart: str = "",
    on_assigned_ward: bool | None = None,
    band_keyed: bool = False,
    cart_session: bool = True,
):
    """Log a bedside scan of a patient outside the user's wards; nothing when the patient is on one
    of them (or the user reads every ward). `admission` is the open admission the scanned, active
    wristband identified; `on_assigned_ward` whether the user is assigned to its ward, when the
    caller has read it already (the bedside check reads it with the admission). Returns the new
    `AccessLog` row or None.

    Raises `BreakGlassNeedsScanError` for a typed band (`band_keyed`) or outside a cart session,
    `BreakGlassLimitError` past `BREAK_GLASS_MAX_PER_HOUR` new patients an hour; both after writing
    their security event, so a caller must commit (not roll back) before answering."""
    if admission is None or reads_province(user):
        return None
    if on_assigned_ward is None:
        on_assigned_ward = _assignments(user).filter(ward_id=admission.ward_id).exists()
    if on_assigned_ward:
        return None
    if not hospital_wards(user).filter(pk=admission.ward_id).exists():
        # Another hospital's patient: refused before anything about them is shown, whoever asks.
        raise PatientNotInYourHospitalsError(_NOT_IN_YOUR_HOSPITALS)
    if sees_every_ward(user):
        return None
    opened = _opened_recently(user)
    if band_keyed or not cart_session:
        _refusal_event(user, SecurityEventKind.BREAK_GLASS_REFUSED, cart=cart, count=len(opened))
        raise BreakGlassNeedsScanError(
            _(
                "This patient is not on a ward you are assigned to. Opening another ward's "
                "patient needs the wristband scanned at the bedside, at a cart: a typed band "
                "is not enough."
            )
        )
    is_new = admission.patient_id not in opened
    if is_new and len(opened) >= settings.BREAK_GLASS_MAX_PER_HOUR:
        _refusal_event(user, SecurityEventKind.BREAK_GLASS_LIMITED, cart=cart, count=len(opened))
        raise BreakGlassLimitError(
            _(
                "You have opened %(count)s patients outside your wards in the last hour: "
                "ask the charge nurse."
            )
            % {"count": len(opened)},
            details={"limit": settings.BREAK_GLASS_MAX_PER_HOUR},
        )
    log = AccessLog.objects.create(
        user=user,
        patient_id=admission.patient_id,
        ward_id=admission.ward_id,
        reason=reason,
        cart=cart[:60],
    )
    if is_new and len(opened) + 1 == settings.BREAK_GLASS_ALERT_AFTER:
        _security_event(
            user=user,
            kind=SecurityEventKind.BREAK_GLASS_REPEATED,
            cart=cart,
            count=len(opened) + 1,
            mail=True,
        )
    return log
