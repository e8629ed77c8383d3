from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hospital.admin_site import ReadOnlyAdmin, pharmacy_site
from interop.models import Destination, OutboundMessage
from interop.selectors import destinations_with_queue
from interop.services import outbound_retry_now


@admin.register(Destination, site=pharmacy_site)
class DestinationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "host",
        "port",
        "enabled",
        "message_types",
        "max_attempts",
        "ack_timeout_seconds",
        "pending",
        "dead",
    ]
    list_filter = ["enabled"]
    search_fields = ["name", "host"]
    fields = [
        "name",
        "host",
        "port",
        "enabled",
        "message_types",
        "receiving_application",
        "receiving_facility",
        "max_attempts",
        "ack_timeout_seconds",
    ]

    def get_queryset(self, request):
        return destinations_with_queue()

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending(self, obj):
        return obj.pending_count

    @admin.display(description=_("dead-lettered"), ordering="dead_count")
    def dead(self, obj):
        return obj.dead_count

    def has_delete_permission(self, request, obj=None):
        # Messages point at their destination: disable a destination instead of deleting it.
        return False


@admin.register(OutboundMessage, site=pharmacy_site)
class OutboundMessageAdmin(ReadOnlyAdmin):
    """The outbox, read-only: what was sent where, and why a message is stuck or dead."""

    list_display = [
        "message_id",
        "destination",
        "patient",
        "state",
        "attempts",
        "next_attempt_at",
        "ack_code",
        "short_error",
        "delivered_at",
        "created_at",
    ]
    list_filter = ["state", "destination", "message_type"]
    search_fields = ["message_id", "administration__patient__mrn", "last_error"]
    list_select_related = ["destination", "administration__patient"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    fields = [
        "message_type",
        "message_id",
        "destination",
        "administration_link",
        "state",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "ack_code",
        "last_error",
        "delivered_at",
        "depends_on",
        "created_at",
        "payload_text",
    ]
    readonly_fields = fields

    @admin.display(description=_("patient"), ordering="administration__patient__mrn")
    def patient(self, obj):
        return obj.administration.patient.mrn

    @admin.display(description=_("administration"))
    def administration_link(self, obj):
        return str(obj.administration.external_id)

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return obj.last_error[:120]

    @admin.display(description=_("payload (segments on separate lines)"))
    def payload_text(self, obj):
        return obj.payload.replace("\r", "\n") if obj.payload else "—"

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        count = outbound_retry_now(messages=queryset)
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_retry_permission(self, request):
        return request.user.has_perm("interop.change_outboundmessage")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("snapshot")
