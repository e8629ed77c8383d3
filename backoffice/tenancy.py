"""The back office of one hospital: every page, queue, report and form of the pharmacy site and
the dashboard reads the rows of the hospitals its user works in (scanning/access.py decides
which wards those are); a superuser reads the province."""

from django.db.models import Q, QuerySet
from oauth2_provider.models import Application

from hospital.models import User
from scanning.access import hospitals_worked_in, readable_wards
from wards.models import Admission, Ward


def hospitals_of(user) -> QuerySet:
    """The hospitals this user works in (every one for a superuser)."""
    return hospitals_worked_in(user)


def rows_of_my_hospitals(user, queryset: QuerySet, ward_path: str) -> QuerySet:
    """`queryset` cut to the rows whose ward (reached by `ward_path`; "" for a ward itself) is
    one this user reads: a semi-join, so a path through a to-many relation repeats no row."""
    wards = readable_wards(user)
    if wards is None:
        return queryset
    lookup = f"{ward_path}__in" if ward_path else "pk__in"
    mine = queryset.model._base_manager.filter(**{lookup: wards.values("pk")})
    return queryset.filter(pk__in=mine.values("pk"))


def patients_of_my_hospitals(user, queryset: QuerySet) -> QuerySet:
    """Patients admitted (now or before) to the wards she reads, and those her hospitals
    registered but never admitted anywhere yet (the HIS registers before it admits): another
    hospital's registered patient is not hers to see until admitted here."""
    wards = readable_wards(user)
    if wards is None:
        return queryset
    admitted_here = Admission.objects.filter(ward__in=wards.values("pk")).values("patient_id")
    registered_here = Q(hospital__in=hospitals_of(user).values("pk"), admissions__isnull=True)
    return queryset.filter(Q(pk__in=admitted_here) | registered_here).distinct()


def staff_of_my_hospitals(user, queryset: QuerySet) -> QuerySet:
    if user.is_superuser:
        return queryset
    hospitals = hospitals_of(user).values("pk")
    return queryset.filter(Q(hospitals__in=hospitals) | Q(wards__hospital__in=hospitals)).distinct()


def wards_of_my_hospitals(user) -> QuerySet:
    """The wards a page offers to pick from (a queue's filter, a print's ward)."""
    return rows_of_my_hospitals(user, Ward.objects.all(), "")


# Security rows (events, login delays, service tokens) belong to the hospitals of the person or
# system they concern. A row that concerns no known account (a source address, the site-wide
# burst, a username nobody has) belongs to no hospital: an address is not a hospital's here (the
# province's network is shared, and carts move), and an unknown username is whatever a stranger
# typed, at times a password typed into the wrong field. Those are the province's IT's, a
# superuser's; one hospital's administrator sees her own staff's rows, enough to let them in.


def _concerns_my_staff(user, field: str) -> Q:
    """`field` (a badge, username or OAuth client id) names an account of her hospitals."""
    staff = staff_of_my_hospitals(user, User.objects.all()).values("pk")
    return (
        Q(**{f"{field}__in": User.objects.filter(pk__in=staff).values("username")})
        | Q(**{f"{field}__in": User.objects.filter(pk__in=staff).values("badge_gsrn")})
        | Q(**{f"{field}__in": Application.objects.filter(user__in=staff).values("client_id")})
    )


def security_events_of_my_hospitals(user, queryset: QuerySet) -> QuerySet:
    """Events about her hospitals' staff and systems: by the staff member concerned, else (a
    delay lifted from the list) by the credential."""
    if user.is_superuser:
        return queryset
    staff = staff_of_my_hospitals(user, User.objects.all()).values("pk")
    return queryset.filter(
        Q(subject__in=staff) | (Q(subject__isnull=True) & _concerns_my_staff(user, "credential"))
    )


def login_delays_of_my_hospitals(user, queryset: QuerySet) -> QuerySet:
    """The failed-login counters of her hospitals' staff and systems' credentials; a source's
    and the site's counters are a superuser's."""
    if user.is_superuser:
        return queryset
    return queryset.filter(_concerns_my_staff(user, "credential"))


def tokens_of_my_hospitals(user, queryset: QuerySet) -> QuerySet:
    """OAuth2 tokens of the service accounts that work in her hospitals."""
    if user.is_superuser:
        return queryset
    staff = staff_of_my_hospitals(user, User.objects.all()).values("pk")
    return queryset.filter(application__user__in=staff)
