"""Pharmacy-site pages that read what happened at the bedside: lot recalls with the patients who
already received the lot, and the (read-only) administration and scan-event records."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from backoffice.admin.tenancy import HospitalRows
from backoffice.admin_site import ReadOnlyAdmin, pharmacy_site
from pharmacy.models import LotRecall
from pharmacy.selectors import package_get_by_gtin, scanned_gtin_and_lot
from pharmacy.services import lot_recall_record
from scanning.models import AccessLog, AdministeredUnit, Administration, Override, ScanEvent, Waste
from scanning.selectors import lot_recipients_list


class LotRecallForm(forms.ModelForm):
    scan = forms.CharField(
        label=_("Scan a pack of the lot"),
        required=False,
        max_length=500,
        help_text=_("Scan the pack's barcode: the GTIN and lot are filled in from it."),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    gtin = forms.CharField(label=_("GTIN"), required=False, max_length=14)

    class Meta:
        model = LotRecall
        fields = ["lot", "recalled_at", "reason"]

    class Media:
        js = ["recall/scan.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What the page's script needs to read a scan in place (recall/scan.js).
        self.fields["scan"].widget.attrs.update(
            {
                "data-decode-url": reverse("scan-decode"),
                "data-filled": _("GTIN and lot filled in from the scan. Now give the reason."),
                "data-no-lot": _("GTIN filled in; this code carries no lot: type the lot."),
                "data-not-medication": _("This is not a medication barcode."),
                "data-failed": _("The scan could not be read here: type the GTIN and lot."),
            }
        )
        self.fields["lot"].required = False
        self.fields["recalled_at"].initial = timezone.now
        self.fields["recalled_at"].required = False

    def clean(self):
        cleaned = super().clean()
        typed_gtin, lot = cleaned.get("gtin", "").strip(), (cleaned.get("lot") or "").strip()
        gtin = ""
        if typed_gtin:
            typed = scanned_gtin_and_lot(typed_gtin)
            if typed is None:
                raise forms.ValidationError({"gtin": _("This is not a valid GTIN.")})
            gtin = typed[0]
        if cleaned.get("scan"):
            found = scanned_gtin_and_lot(cleaned["scan"])
            if found is None:
                raise forms.ValidationError(
                    {"scan": _("This is not a medication barcode.")}, code="not_medication"
                )
            gtin, scanned_lot = found
            if lot and scanned_lot and lot != scanned_lot:
                # The recall must stop the lot in hand; a leftover typed lot must not win.
                raise forms.ValidationError(
                    {
                        "lot": _("The scanned pack is lot %(scanned)s, not %(typed)s.")
                        % {"scanned": scanned_lot, "typed": lot}
                    }
                )
            lot = lot or scanned_lot
        if not gtin:
            raise forms.ValidationError({"gtin": _("Scan a pack or type its GTIN.")})
        package = package_get_by_gtin(gtin)
        if package is None:
            raise forms.ValidationError(
                {"gtin": _("No product in the formulary has GTIN %(gtin)s.") % {"gtin": gtin}}
            )
        if not lot:
            raise forms.ValidationError({"lot": _("Give the recalled lot.")})
        if LotRecall.objects.filter(package=package, lot=lot).exists():
            raise forms.ValidationError(_("This lot is already recalled."))
        cleaned["package"], cleaned["lot"] = package, lot
        self.instance.package = package
        return cleaned


@admin.register(LotRecall, site=pharmacy_site)
class LotRecallAdmin(SimpleHistoryAdmin):
    list_display = ["package", "lot", "recalled_at", "reason", "recorded_by", "recipient_count"]
    search_fields = ["package__gtin", "lot", "package__medication__name"]
    list_select_related = ["package__medication", "recorded_by"]
    readonly_fields = ["package", "lot", "recalled_at", "recorded_by", "recipients"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = LotRecallForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["scan", "gtin", "lot", "recalled_at", "reason"]
        return ["package", "lot", "recalled_at", "reason", "recorded_by", "recipients"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["reason"])
        else:
            lot_recall_record(recall=obj, by=request.user)

    # Withdrawing a recall would silently re-allow a lot at every bedside.
    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("given to"))
    def recipient_count(self, recall):
        return lot_recipients_list(gtin=recall.package.gtin, lot=recall.lot).count()

    @admin.display(description=_("Patients who already received this lot"))
    def recipients(self, recall):
        rows = [
            (
                timezone.localtime(adm.administered_at).strftime("%d/%m/%Y %H:%M"),
                adm.patient.full_name,
                adm.patient.mrn,
                f"{adm.admission.ward.code}/{adm.admission.bed.code if adm.admission.bed else '–'}",
                adm.get_status_display()
                + (f" ({_('entered in error')})" if hasattr(adm, "correction") else ""),
                adm.performer.get_full_name() or adm.performer.username,
                reverse("pharmacy:scanning_administration_change", args=[adm.pk]),
            )
            for adm in lot_recipients_list(gtin=recall.package.gtin, lot=recall.lot)
        ]
        if not rows:
            return _("No patient has received this lot.")
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("When"),
            _("Patient"),
            _("MRN"),
            _("Ward/bed"),
            _("Status"),
            _("Nurse"),
        )
        body = format_html_join(
            "",
            '<tr><td><a href="{6}">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td>'
            "<td>{4}</td><td>{5}</td></tr>",
            rows,
        )
        return format_html('<table id="lot-recipients">{}{}</table>', head, body)


class UnitInline(admin.TabularInline):
    model = AdministeredUnit
    fields = ["gtin", "lot", "expiry", "serial", "scanned"]
    readonly_fields = fields
    extra = 0

    has_add_permission = ReadOnlyAdmin.has_add_permission
    has_change_permission = ReadOnlyAdmin.has_change_permission
    has_delete_permission = ReadOnlyAdmin.has_delete_permission


class OverrideInline(UnitInline):
    model = Override
    fields = ["finding_code", "reason", "comment"]
    readonly_fields = fields


@admin.register(Administration, site=pharmacy_site)
class AdministrationAdmin(HospitalRows, ReadOnlyAdmin):
    ward_path = "admission__ward"
    list_display = ["administered_at", "patient", "order", "status", "reason", "performer", "cart"]
    list_filter = ["status", ("admission__ward", admin.RelatedOnlyFieldListFilter), "reason"]
    search_fields = ["patient__mrn", "patient__full_name", "units__gtin", "units__lot"]
    list_select_related = ["patient", "order__medication", "performer"]
    date_hierarchy = "administered_at"
    inlines = [UnitInline, OverrideInline]


@admin.register(Waste, site=pharmacy_site)
class WasteAdmin(HospitalRows, ReadOnlyAdmin):
    """The controlled-drug waste ledger, read-only like the records (the report groups it)."""

    list_display = ["wasted_at", "patient", "administration", "amount", "unit", "reason"]
    list_display += ["performer", "witness"]
    ward_path = "administration__admission__ward"
    list_filter = ["reason", ("administration__admission__ward", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["patient__mrn", "performer__username", "witness__username"]
    list_select_related = ["patient", "administration__order__medication", "performer", "witness"]
    date_hierarchy = "wasted_at"


@admin.register(ScanEvent, site=pharmacy_site)
class ScanEventAdmin(HospitalRows, ReadOnlyAdmin):
    ward_path = "ward"
    list_display = ["created_at", "purpose", "verdict", "performer", "ward", "patient", "cart"]
    list_filter = ["purpose", "verdict", ("ward", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["patient__mrn", "performer__username", "cart"]
    list_select_related = ["performer", "ward", "patient"]
    date_hierarchy = "created_at"


@admin.register(AccessLog, site=pharmacy_site)
class AccessLogAdmin(HospitalRows, ReadOnlyAdmin):
    """Who opened which patient outside their wards, and why: read-only, like the bedside record."""

    ward_path = "ward"
    list_display = ["created_at", "user", "patient", "ward", "reason", "cart"]
    list_filter = ["reason", ("ward", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["patient__mrn", "patient__full_name", "user__username", "cart"]
    list_select_related = ["user", "patient", "ward"]
    date_hierarchy = "created_at"
    fields = ["created_at", "user", "patient", "ward", "reason", "cart"]
    readonly_fields = fields
