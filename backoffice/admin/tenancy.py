"""The pharmacy site of one hospital: a pharmacist or administrator reads and edits the rows of
the hospitals she works in (backoffice/tenancy.py), and picks wards, beds, admissions and staff
of those hospitals only. The formulary, recalls and code maps are the province's and stay
shared. A superuser reads the province."""

from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from backoffice.tenancy import (
    hospitals_of,
    patients_of_my_hospitals,
    rows_of_my_hospitals,
    staff_of_my_hospitals,
)
from hospital.models import Hospital, User
from wards.models import Admission, Bed, Patient, Ward


# The choices a form offers, cut the same way: a ward, bed or admission of another hospital
# cannot be picked, nor a patient or a colleague of another hospital.
def _choices(user, model, queryset: QuerySet) -> QuerySet | None:
    if model is Ward:
        return rows_of_my_hospitals(user, queryset, "")
    if model in (Bed, Admission):
        return rows_of_my_hospitals(user, queryset, "ward")
    if model is Patient:
        return patients_of_my_hospitals(user, queryset)
    if model is User:
        return staff_of_my_hospitals(user, queryset)
    if model is Hospital:
        return queryset.filter(pk__in=hospitals_of(user).values("pk"))
    return None


class HospitalChoices:
    """Form choices of one's own hospitals (for every ModelAdmin with a ward, bed, admission,
    patient, staff or hospital field)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model = db_field.related_model
        choices = _choices(request.user, model, model._default_manager.all())
        if choices is not None and "queryset" not in kwargs:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        model = db_field.related_model
        choices = _choices(request.user, model, model._default_manager.all())
        if choices is not None and "queryset" not in kwargs:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        # A list of hospitals (where a colleague works, where an item is not stocked) offers the
        # editor's own only: the others are not hers to take away, and saving the form as shown
        # must not drop them.
        kept = {}
        if change and not request.user.is_superuser:
            mine = hospitals_of(request.user).values("pk")
            for field in form.instance._meta.many_to_many:
                if field.related_model is Hospital and field.name in form.fields:
                    kept[field.name] = list(getattr(form.instance, field.name).exclude(pk__in=mine))
        super().save_related(request, form, formsets, change)
        for name, others in kept.items():
            getattr(form.instance, name).add(*others)


class HospitalRows(HospitalChoices):
    """A page of one hospital's rows: lists, searches, autocompletes, change and history pages
    read only the rows of the user's hospitals (another's is "not found"). `ward_path` leads
    from a row to its ward."""

    ward_path: str

    def get_queryset(self, request):
        return rows_of_my_hospitals(request.user, super().get_queryset(request), self.ward_path)

    # django-simple-history shows the history of a row missing from get_queryset (it takes it
    # for deleted): another hospital's row is not found here either.
    def history_view(self, request, object_id, extra_context=None):
        self._mine_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._mine_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _mine_or_404(self, request, object_id) -> None:
        try:
            mine = self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        except (ValueError, ValidationError):
            mine = False
        if not mine:
            raise Http404


class HospitalOrProvinceRows(HospitalChoices):
    """Rows that serve one hospital or, with no hospital, the whole province: a code map (a
    default), a destination (a health department's system). She reads her hospitals' rows and
    the province's; she adds and changes her hospitals' only, so the hospital is required of her
    (left empty, a row of hers would reach or serve every hospital); the province's are a
    superuser's."""

    def mine_or_province(self, request, queryset: QuerySet) -> QuerySet:
        if request.user.is_superuser:
            return queryset
        mine = hospitals_of(request.user).values("pk")
        return queryset.filter(Q(hospital__isnull=True) | Q(hospital__in=mine))

    def get_queryset(self, request):
        return self.mine_or_province(request, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "hospital" and not request.user.is_superuser:
            field.required = True
        return field

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        mine = list(hospitals_of(request.user)[:2])
        if len(mine) == 1 and not request.user.is_superuser:
            initial.setdefault("hospital", mine[0].pk)
        return initial

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.hospital_id is None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)
