from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from hospital.models import Role


# A missing field is explained by the server in the page's language; the browser's own
# "required" bubble would speak the browser's (English on most carts and pharmacy PCs).
class PharmacyLoginForm(AdminAuthenticationForm):
    use_required_attribute = False


class PharmacyPasswordChangeForm(AdminPasswordChangeForm):
    use_required_attribute = False


class PharmacyAdminSite(AdminSite):
    """The pharmacy's own site at /pharmacy/: pharmacists and administrators only, never nurses."""

    site_header = _("Hospital pharmacy")
    site_title = _("Pharmacy")
    index_title = _("Formulary, orders and wristbands")
    index_template = "pharmacy/site_index.html"
    login_form = PharmacyLoginForm
    password_change_form = PharmacyPasswordChangeForm

    def has_permission(self, request):
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and (user.is_superuser or user.has_role(Role.PHARMACIST, Role.ADMIN))
        )

    def login(self, request, extra_context=None):
        """Username and password, throttled like every login (hospital/throttle.py)."""
        from hospital.throttle import (
            PASSWORD,
            LoginBusyError,
            LoginThrottledError,
            hashing_slot,
            login_attempt_begin,
            login_attempt_succeeded,
            request_source,
        )

        if request.method != "POST":
            return super().login(request, extra_context)
        try:
            attempt = login_attempt_begin(
                kind=PASSWORD,
                credential=request.POST.get("username", "")[:150],
                source=request_source(request),
            )
            with hashing_slot():
                response = super().login(request, extra_context)
        except (LoginThrottledError, LoginBusyError) as refused:
            response = HttpResponse(
                _("Too many failed attempts: wait %(seconds)d seconds.")
                % {"seconds": refused.retry_after},
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(refused.retry_after)
            return response
        if request.user.is_authenticated and response.status_code == 302:
            login_attempt_succeeded(attempt)
        return response

    def index(self, request, extra_context=None):
        from backoffice.tenancy import hospitals_of, rows_of_my_hospitals
        from interop.models import WORK_QUEUE_STATES, InboundMessage
        from pharmacy.selectors import order_list_awaiting_verification, verbal_orders_unsigned
        from scanning.missing_doses import missing_dose_queue

        user = request.user
        his_work = InboundMessage.objects.filter(state__in=WORK_QUEUE_STATES)
        if not user.is_superuser:
            his_work = his_work.filter(hospital__in=hospitals_of(user).values("pk"))
        extra_context = {
            "awaiting_verification": rows_of_my_hospitals(
                user, order_list_awaiting_verification(), "admission__ward"
            ).count(),
            "his_work_queue": his_work.count(),
            "missing_doses": rows_of_my_hospitals(
                user, missing_dose_queue(), "order__admission__ward"
            ).count(),
            "verbal_orders_unsigned": rows_of_my_hospitals(
                user, verbal_orders_unsigned(), "admission__ward"
            ).count(),
            **(extra_context or {}),
        }
        return super().index(request, extra_context)

    def get_urls(self):
        # The pharmacy's own pages live inside the site, behind its login and permission check.
        from django.urls import include, path

        return [
            path("verify/", include("backoffice.verification.urls")),
            path("print/", include("backoffice.printing.urls")),
            path("reports/", include("backoffice.reports.urls")),
            path("missing-doses/", include("backoffice.missing_doses.urls")),
            path("verbal-orders/", include("backoffice.verbal_orders.urls")),
            *super().get_urls(),
        ]


pharmacy_site = PharmacyAdminSite(name="pharmacy")


class ReadOnlyAdmin(ModelAdmin):
    """Rows written only through services (clinical records, audit logs, bands, the outbox):
    the site shows them and never adds, changes or deletes them, whoever asks."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
