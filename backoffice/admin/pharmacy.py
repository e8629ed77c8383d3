from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from backoffice.admin.tenancy import HospitalChoices, HospitalRows
from backoffice.admin_site import pharmacy_site
from pharmacy.models import (
    Medication,
    MedicationOrder,
    OrderStatus,
    Package,
    ScheduledDose,
    Substance,
)
from pharmacy.selectors import package_q_for_search


class ScanSearchMixin:
    """The search box takes a scanner's keyboard-wedge input: a scanned medication code (GS1
    DataMatrix/128 with its GS or `]d2` prefix, or an EAN-13) finds the product by its GTIN."""

    scan_gtin_path = "gtin"

    def get_search_results(self, request, queryset, search_term):
        scanned = package_q_for_search(search_term, prefix=self.scan_gtin_path.removesuffix("gtin"))
        if scanned is not None:
            return queryset.filter(scanned).distinct(), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Substance, site=pharmacy_site)
class SubstanceAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "allergy_class_name"]
    search_fields = ["code", "name", "allergy_class_code", "allergy_class_name"]


class PackageInline(admin.TabularInline):
    model = Package
    extra = 0
    fields = [
        "gtin",
        "quantity",
        "quantity_unit",
        "manufacturer",
        "registration_number",
        "hospital_repackaged",
    ]


@admin.register(Medication, site=pharmacy_site)
class MedicationAdmin(HospitalChoices, ScanSearchMixin, SimpleHistoryAdmin):
    filter_horizontal = ["not_stocked_at"]
    scan_gtin_path = "packages__gtin"
    list_display = [
        "name",
        "substance",
        "strength_value",
        "strength_unit",
        "dose_form",
        "high_alert",
        "time_critical",
    ]
    list_filter = [
        "dose_form",
        "high_alert",
        "time_critical",
        "controlled",
        "analgesic",
        "requires_removal",
    ]
    search_fields = ["code", "name", "substance__name", "packages__gtin"]
    list_select_related = ["substance"]
    inlines = [PackageInline]


@admin.register(Package, site=pharmacy_site)
class PackageAdmin(ScanSearchMixin, SimpleHistoryAdmin):
    list_display = [
        "gtin",
        "medication",
        "quantity",
        "quantity_unit",
        "manufacturer",
        "registration_number",
    ]
    search_fields = ["gtin", "medication__name", "registration_number"]
    list_select_related = ["medication"]
    list_filter = ["hospital_repackaged"]


class ScheduledDoseInline(admin.TabularInline):
    model = ScheduledDose
    extra = 0
    fields = ["due_at", "state"]
    readonly_fields = ["due_at", "state"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class MedicationOrderForm(forms.ModelForm):
    """An order's hospital is its admission's, set when it is written and never changed: that
    hospital's HIS issued its order numbers (MedicationOrder.clean refuses an admission of another
    hospital)."""

    def clean(self):
        cleaned = super().clean()
        admission = cleaned.get("admission")
        if admission is not None and self.instance.hospital_id is None:
            self.instance.hospital_id = admission.hospital_id
        return cleaned

    def validate_constraints(self):
        super().validate_constraints()
        # The hospital is no field of the form, so the placer number's constraint, unique in the
        # hospital, was left out above: checked here on its own.
        others = {field.name for field in MedicationOrder._meta.fields} - {
            "hospital",
            "placer_order_number",
        }
        try:
            self.instance.validate_constraints(exclude=others)
        except ValidationError as error:
            self._update_errors(error)


@admin.register(MedicationOrder, site=pharmacy_site)
class MedicationOrderAdmin(HospitalRows, SimpleHistoryAdmin):
    form = MedicationOrderForm
    ward_path = "admission__ward"
    list_display = [
        "admission",
        "medication",
        "dose_value",
        "dose_unit",
        "route",
        "schedule_kind",
        "status",
        "start_at",
    ]
    list_filter = [
        "status",
        "schedule_kind",
        "route",
        ("admission__ward", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["admission__patient__mrn", "admission__patient__full_name", "medication__name"]
    list_select_related = ["admission__patient", "admission__ward", "medication"]
    # Status changes go through the order services (verification queue), which record who and
    # when and generate or cancel the scheduled doses; the form never edits them directly.
    readonly_fields = [
        "hospital",
        "status",
        "status_reason",
        "verified_by",
        "verified_at",
        "status_changed_at",
        "status_changed_by",
        "review_link",
    ]
    inlines = [ScheduledDoseInline]

    @admin.display(description=_("Verify, hold or discontinue"))
    def review_link(self, order):
        if order.pk is None:
            return "–"
        url = reverse("pharmacy:verification-review", args=[order.external_id])
        return format_html('<a href="{}">{}</a>', url, _("Open in the verification queue"))

    def save_model(self, request, obj, form, change):
        # Only what the form changed: a full save would write back the status read when the
        # page loaded, undoing a discontinuation made meanwhile through the services.
        if change:
            if form.changed_data:
                obj.save(update_fields=form.changed_data)
        else:
            obj.save()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # A verified order's clinical content is fixed: a change is a new order (and a new
        # verification), or the pharmacist could alter what was checked without a trace.
        if obj is not None and obj.status != OrderStatus.PENDING_VERIFICATION:
            fields += [
                "admission",
                "medication",
                "dose_value",
                "dose_unit",
                "dose_per_kg",
                "max_dose_per_kg",
                "route",
                "schedule_kind",
                "times_of_day",
                "interval_hours",
                "prn_indication",
                "prn_indications",
                "prn_min_interval_minutes",
                "prn_max_per_24h",
                "start_at",
                "volume_ml",
                "rate_ml_h",
                "duration_minutes",
                "additives",
                "max_concurrent_bags",
                "assessments_required",
                "hold_parameters",
            ]
        return fields
