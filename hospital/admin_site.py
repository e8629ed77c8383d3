from django.contrib.admin import AdminSite, ModelAdmin
from django.utils.translation import gettext_lazy as _

from hospital.models import Role


class PharmacyAdminSite(AdminSite):
    """The pharmacy's own site at /pharmacy/: pharmacists and administrators only, never nurses."""

    site_header = _("Hospital pharmacy")
    site_title = _("Pharmacy")
    index_title = _("Formulary, orders and wristbands")
    index_template = "pharmacy/site_index.html"

    def has_permission(self, request):
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and (user.is_superuser or user.has_role(Role.PHARMACIST, Role.ADMIN))
        )

    def index(self, request, extra_context=None):
        from pharmacy.selectors import order_list_awaiting_verification

        extra_context = {
            "awaiting_verification": order_list_awaiting_verification().count(),
            **(extra_context or {}),
        }
        return super().index(request, extra_context)

    def get_urls(self):
        # The pharmacy's own pages live inside the site, behind its login and permission check.
        from django.urls import include, path

        return [
            path("verify/", include("pharmacy.verification.urls")),
            path("print/", include("pharmacy.printing.urls")),
            path("reports/", include("pharmacy.reports.urls")),
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
