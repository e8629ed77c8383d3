from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin.tenancy import HospitalOrProvinceRows, HospitalRows, hospitals_of
from backoffice.admin_site import ReadOnlyAdmin, pharmacy_site
from interop.inbound.inbox import inbox_dismiss, inbox_reprocess
from interop.models import (
    WORK_QUEUE_STATES,
    DeliveryAttempt,
    Destination,
    InboundCodeMap,
    InboundMessage,
    InboundState,
    OutboundMessage,
)
from interop.selectors import destinations_with_queue
from interop.services import outbound_retry_now


@admin.register(Destination, site=pharmacy_site)
class DestinationAdmin(HospitalOrProvinceRows, admin.ModelAdmin):
    list_display = [
        "name",
        "host",
        "port",
        "enabled",
        "hospital",
        "message_types",
        "max_attempts",
        "ack_timeout_seconds",
        "pending",
        "dead",
    ]
    list_filter = ["enabled", ("hospital", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "host"]
    fields = [
        "name",
        "host",
        "port",
        "enabled",
        "hospital",
        "message_types",
        "receiving_application",
        "receiving_facility",
        "max_attempts",
        "ack_timeout_seconds",
        "ack_mode",
        "on_reject",
    ]

    def get_queryset(self, request):
        """Her hospitals' destinations, and the province's (a health department's system)."""
        return self.mine_or_province(request, destinations_with_queue())

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending(self, obj):
        return obj.pending_count

    @admin.display(description=_("dead-lettered"), ordering="dead_count")
    def dead(self, obj):
        return obj.dead_count

    def has_delete_permission(self, request, obj=None):
        # Messages point at their destination: disable a destination instead of deleting it.
        return False


class DeliveryAttemptInline(admin.TabularInline):
    """Every try at delivering the message: what went out on which connection, what came back."""

    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = [
        "started_at",
        "finished_at",
        "outcome",
        "ack_code",
        "local_address",
        "remote_address",
        "new_connection",
        "bytes_sent",
        "frame_bytes",
        "error",
        "reply",
    ]
    readonly_fields = fields
    ordering = ["started_at", "pk"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboundMessage, site=pharmacy_site)
class OutboundMessageAdmin(HospitalRows, ReadOnlyAdmin):
    """The outbox, read-only: what was sent where, and why a message is stuck or dead."""

    ward_path = "administration__admission__ward"
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
    list_filter = ["state", ("destination", admin.RelatedOnlyFieldListFilter), "message_type"]
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
    inlines = [DeliveryAttemptInline]

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


class WorkQueueFilter(admin.SimpleListFilter):
    """Opens on what needs a person: messages that failed or wait for an earlier one."""

    title = _("work queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("open", _("Needs attention")), ("all", _("All messages"))]

    def choices(self, changelist):
        value = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if (self.value() or "open") == "open":
            return queryset.filter(state__in=WORK_QUEUE_STATES)
        return queryset


class DismissForm(forms.Form):
    reason = forms.CharField(label=_("Why it need not be applied"), max_length=300)


@admin.register(InboundMessage, site=pharmacy_site)
class InboundMessageAdmin(ReadOnlyAdmin):
    """HL7 from the HIS, and the work queue: what could not be applied and why. Fix the cause (a
    code mapping, a ward, a bed) and reprocess; or dismiss with a reason. Nothing is deleted."""

    list_display = [
        "received_at",
        "message_type",
        "control_id",
        "sending_facility",
        "patient_key",
        "state",
        "short_problem",
        "problem_location",
        "ack_code",
        "times_received",
    ]
    list_filter = [WorkQueueFilter, "state", "message_type", "sending_facility"]

    def get_queryset(self, request):
        """The messages the HIS of her hospitals sent (MSH-4 named it); one naming no known
        hospital is for a superuser to sort out."""
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(hospital__in=hospitals_of(request.user).values("pk"))

    search_fields = ["control_id", "patient_key", "problem", "raw"]
    date_hierarchy = "received_at"
    actions = ["reprocess", "dismiss"]
    fields = [
        "message_type",
        "control_id",
        "sending_application",
        "sending_facility",
        "patient_key",
        "state",
        "problem_code",
        "problem",
        "problem_location",
        "outcome",
        "received_at",
        "sent_at",
        "applied_at",
        "attempts",
        "times_received",
        "resolved_by",
        "resolved_at",
        "resolution",
        "message_text",
        "ack_text",
    ]
    readonly_fields = fields

    @admin.display(description=_("what is wrong"))
    def short_problem(self, obj):
        return obj.problem[:160] or obj.outcome[:160]

    @admin.display(description=_("message (segments on separate lines)"))
    def message_text(self, obj):
        return obj.raw.replace("\r", "\n")

    @admin.display(description=_("acknowledgement sent"))
    def ack_text(self, obj):
        return obj.ack.replace("\r", "\n") if obj.ack else "—"

    def has_resolve_permission(self, request):
        return request.user.has_perm("interop.change_inboundmessage")

    @admin.action(description=_("Reprocess (after fixing the cause)"), permissions=["resolve"])
    def reprocess(self, request, queryset):
        counts = inbox_reprocess(messages=queryset, by=request.user)
        applied = counts.get(InboundState.APPLIED, 0)
        still = sum(counts.values()) - applied
        self.message_user(
            request,
            _("%(applied)d applied, %(still)d still in the work queue.")
            % {"applied": applied, "still": still},
            messages.SUCCESS if not still else messages.WARNING,
        )

    @admin.action(description=_("Dismiss (with a reason)"), permissions=["resolve"])
    def dismiss(self, request, queryset):
        form = DismissForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            count = inbox_dismiss(
                messages=queryset, by=request.user, reason=form.cleaned_data["reason"]
            )
            self.message_user(
                request,
                ngettext("%(count)d message dismissed.", "%(count)d messages dismissed.", count)
                % {"count": count},
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "interop/dismiss.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Dismiss messages"),
                "form": form,
                "messages_to_dismiss": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


@admin.register(InboundCodeMap, site=pharmacy_site)
class InboundCodeMapAdmin(HospitalOrProvinceRows, admin.ModelAdmin):
    """The HIS's codes and what they mean here. A drug code maps to one formulary item; an
    unmapped code sends its message to the work queue, never to a guess. A pharmacist maps her
    hospitals' HIS codes and reads the province's defaults; a superuser sets the defaults."""

    list_display = [
        "kind",
        "his_code",
        "hospital",
        "his_name",
        "medication",
        "allergen_code",
        "ward",
    ]
    list_filter = ["kind", ("hospital", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["his_code", "his_name", "medication__name", "allergen_code"]
    list_select_related = ["hospital", "medication", "ward"]
    autocomplete_fields = ["medication", "ward"]
    fields = ["hospital", "kind", "his_code", "his_name", "medication", "allergen_code", "ward"]

    def has_delete_permission(self, request, obj=None):
        return False
