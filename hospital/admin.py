from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from hospital import gs1
from hospital.admin_site import ReadOnlyAdmin, pharmacy_site
from hospital.models import AccessLog, User
from pharmacy.printing.views import BADGE_PERMISSION, badges_response


@admin.register(User, site=pharmacy_site)
class StaffAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "badge_gsrn", "is_active"]
    list_filter = ["groups", "is_active"]
    search_fields = ["username", "first_name", "last_name", "badge_gsrn"]
    fieldsets = [*UserAdmin.fieldsets, ("Badge", {"fields": ["badge_gsrn"]})]
    actions = ["print_badges"]
    change_form_template = "pharmacy/print/user_change_form.html"

    def has_print_badge_permission(self, request):
        return request.user.has_perm(BADGE_PERMISSION)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            "can_print_badge": self.has_print_badge_permission(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Print badges (PDF)"), permissions=["print_badge"])
    def print_badges(self, request, queryset):
        """One ID-1 page per selected user with a valid badge GSRN; the others are named."""
        users = list(queryset.exclude(badge_gsrn=None).prefetch_related("groups"))
        printable = [user for user in users if gs1.is_valid_gsrn(user.badge_gsrn)]
        missing = sorted(
            set(queryset.values_list("username", flat=True)) - {u.username for u in printable}
        )
        if missing:
            self.message_user(
                request,
                _("No valid badge GSRN, no badge: %(users)s") % {"users": ", ".join(missing)},
                messages.WARNING,
            )
        return badges_response(request, printable) if printable else None


@admin.register(AccessLog, site=pharmacy_site)
class AccessLogAdmin(ReadOnlyAdmin):
    """Who opened which patient outside their wards, and why: read-only, like the bedside record."""

    list_display = ["created_at", "user", "patient", "ward", "reason", "cart"]
    list_filter = ["reason", "ward"]
    search_fields = ["patient__mrn", "patient__full_name", "user__username", "cart"]
    list_select_related = ["user", "patient", "ward"]
    date_hierarchy = "created_at"
    fields = ["created_at", "user", "patient", "ward", "reason", "cart"]
    readonly_fields = fields
