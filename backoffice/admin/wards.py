from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from backoffice.admin.tenancy import (
    HospitalChoices,
    HospitalRows,
    hospitals_of,
    patients_of_my_hospitals,
)
from backoffice.admin_site import ReadOnlyAdmin, pharmacy_site
from backoffice.printing.services import MAX_WRISTBANDS_PER_PRINT
from backoffice.printing.views import WRISTBAND_PERMISSION, wristbands_response
from hospital.exceptions import ApplicationError
from wards.models import Admission, Allergy, Bed, Patient, PatientNumber, Ward, Wristband
from wards.services import admission_mrn, patient_save_by_hand


class BedInline(admin.TabularInline):
    model = Bed
    extra = 0
    fields = ["code"]


@admin.register(Ward, site=pharmacy_site)
class WardAdmin(HospitalRows, admin.ModelAdmin):
    ward_path = ""
    list_display = ["code", "name", "hospital", "window_minutes", "time_critical_window_minutes"]
    search_fields = ["code", "name"]
    inlines = [BedInline]
    filter_horizontal = ["staff"]


class AllergyInline(admin.TabularInline):
    model = Allergy
    extra = 0
    fields = ["allergen_code", "allergen_name", "severity", "reaction"]


class AdmissionForm(forms.ModelForm):
    """The admission's hospital is its ward's, set when she is admitted and never changed: its
    HIS issued the visit number, and her MRN on the admission is that hospital's."""

    def clean(self):
        cleaned = super().clean()
        ward = cleaned.get("ward")
        if ward is None:
            return cleaned
        if self.instance.hospital_id is None:
            self.instance.hospital_id = ward.hospital_id
        elif ward.hospital_id != self.instance.hospital_id:
            self.add_error(
                "ward",
                _(
                    "This ward is in another hospital: a patient moves to another hospital by a "
                    "discharge here and an admission there."
                ),
            )
        return cleaned

    def validate_constraints(self):
        super().validate_constraints()
        # The hospital is no field of the form, so the visit number's constraint, unique in the
        # hospital, was left out above: checked here on its own.
        others = {field.name for field in Admission._meta.fields} - {"hospital", "visit_number"}
        try:
            self.instance.validate_constraints(exclude=others)
        except ValidationError as error:
            self._update_errors(error)


class AdmissionInline(HospitalChoices, admin.TabularInline):
    model = Admission
    form = AdmissionForm
    extra = 0
    fields = ["ward", "bed", "admitted_at", "discharged_at"]
    show_change_link = True


class PatientForm(forms.ModelForm):
    def clean(self):
        """An MRN is her hospital's number for one person: refused here if the hospital already
        numbers someone else so, including a person it knows through the national ID (linked),
        whom Patient's own constraint on (hospital, mrn) does not see."""
        cleaned = super().clean()
        hospital = cleaned.get("hospital") or (
            self.instance.hospital if self.instance.hospital_id else None
        )
        mrn = cleaned.get("mrn")
        if hospital is not None and mrn:
            taken = PatientNumber.objects.filter(hospital=hospital, mrn=mrn)
            if self.instance.pk is not None:
                taken = taken.exclude(patient_id=self.instance.pk)
            if taken.exists():
                self.add_error(
                    "mrn",
                    _("%(hospital)s already uses this MRN for another patient.")
                    % {"hospital": hospital.name},
                )
        return cleaned


@admin.register(Patient, site=pharmacy_site)
class PatientAdmin(HospitalChoices, admin.ModelAdmin):
    form = PatientForm
    list_display = ["mrn", "full_name", "date_of_birth", "sex", "gsrn", "hospital", "deceased_at"]
    search_fields = ["mrn", "full_name", "gsrn", "national_id", "health_insurance_number"]
    list_filter = ["sex"]
    list_select_related = ["hospital"]
    inlines = [AllergyInline, AdmissionInline]

    def get_queryset(self, request):
        return patients_of_my_hospitals(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        # Who registered her (and issued her MRN) is history, not a setting.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "hospital"] if obj is not None else readonly

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        mine = list(hospitals_of(request.user).values_list("pk", flat=True)[:2])
        if len(mine) == 1:
            initial.setdefault("hospital", mine[0])
        return initial

    def save_model(self, request, obj, form, change):
        patient_save_by_hand(patient=obj)

    def save_formset(self, request, form, formset, change):
        for admission in formset.save(commit=False):
            if isinstance(admission, Admission) and not admission.mrn:
                admission.mrn = admission_mrn(
                    patient=admission.patient, hospital_id=admission.ward.hospital_id
                )
            admission.save()
        for deleted in formset.deleted_objects:
            deleted.delete()
        formset.save_m2m()


@admin.register(Admission, site=pharmacy_site)
class AdmissionAdmin(HospitalRows, admin.ModelAdmin):
    ward_path = "ward"
    list_display = ["patient", "ward", "bed", "admitted_at", "discharged_at"]
    list_filter = [
        ("ward", admin.RelatedOnlyFieldListFilter),
        ("discharged_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["patient__mrn", "patient__full_name"]
    list_select_related = ["patient", "ward", "bed__ward"]
    autocomplete_fields = ["patient"]
    form = AdmissionForm
    # Copied from the ward's hospital (and her number there) when she is admitted, never typed.
    readonly_fields = ["mrn", "hospital"]
    actions = ["print_new_wristband"]
    change_form_template = "pharmacy/print/admission_change_form.html"

    def save_model(self, request, obj, form, change):
        if not obj.mrn:
            obj.mrn = admission_mrn(patient=obj.patient, hospital_id=obj.ward.hospital_id)
        super().save_model(request, obj, form, change)

    def has_print_wristband_permission(self, request):
        return request.user.has_perm(WRISTBAND_PERMISSION)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            "can_print_wristband": self.has_print_wristband_permission(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(
        description=_("Print a new wristband (voids the current one)"),
        permissions=["print_wristband"],
    )
    def print_new_wristband(self, request, queryset):
        """One PDF with a page per open admission (a band printer prints a band per page);
        closed admissions are skipped and named."""
        closed = [str(admission) for admission in queryset if not admission.is_open]
        if closed:
            self.message_user(
                request,
                _("No wristband for closed admissions: %(admissions)s")
                % {"admissions": "; ".join(closed)},
                messages.WARNING,
            )
        admissions = [admission for admission in queryset if admission.is_open]
        if not admissions:
            return None
        if len(admissions) > MAX_WRISTBANDS_PER_PRINT:
            self.message_user(
                request,
                _("Select at most %(count)d admissions at a time.")
                % {"count": MAX_WRISTBANDS_PER_PRINT},
                messages.ERROR,
            )
            return None
        try:
            return wristbands_response(request, admissions)
        except ApplicationError as error:
            # e.g. discharged meanwhile: nothing was issued, the transaction rolled back
            self.message_user(request, str(error), messages.ERROR)
            return None


@admin.register(Wristband, site=pharmacy_site)
class WristbandAdmin(HospitalRows, ReadOnlyAdmin):
    ward_path = "admission__ward"
    list_display = [
        "patient",
        "instance",
        "admission",
        "printed_at",
        "printed_by",
        "voided_at",
        "void_reason",
    ]
    list_filter = [("voided_at", admin.EmptyFieldListFilter)]
    search_fields = ["patient__mrn", "patient__full_name", "patient__gsrn"]
    list_select_related = ["patient", "admission__ward", "printed_by"]
