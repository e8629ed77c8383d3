from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from hospital.admin_site import pharmacy_site
from pharmacy.models import (
    LotRecall,
    Medication,
    MedicationOrder,
    Package,
    ScheduledDose,
    Substance,
)


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
class MedicationAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "substance",
        "strength_value",
        "strength_unit",
        "dose_form",
        "high_alert",
        "time_critical",
    ]
    list_filter = ["dose_form", "high_alert", "time_critical", "controlled"]
    search_fields = ["code", "name", "substance__name", "packages__gtin"]
    list_select_related = ["substance"]
    inlines = [PackageInline]


@admin.register(Package, site=pharmacy_site)
class PackageAdmin(SimpleHistoryAdmin):
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


@admin.register(LotRecall, site=pharmacy_site)
class LotRecallAdmin(SimpleHistoryAdmin):
    list_display = ["package", "lot", "recalled_at", "reason", "recorded_by"]
    search_fields = ["package__gtin", "lot"]
    list_select_related = ["package__medication", "recorded_by"]


class ScheduledDoseInline(admin.TabularInline):
    model = ScheduledDose
    extra = 0
    fields = ["due_at", "state"]
    readonly_fields = ["due_at", "state"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MedicationOrder, site=pharmacy_site)
class MedicationOrderAdmin(SimpleHistoryAdmin):
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
    list_filter = ["status", "schedule_kind", "route", "admission__ward"]
    search_fields = ["admission__patient__mrn", "admission__patient__full_name", "medication__name"]
    list_select_related = ["admission__patient", "admission__ward", "medication"]
    readonly_fields = ["verified_by", "verified_at", "status_changed_at"]
    inlines = [ScheduledDoseInline]
