from datetime import date, datetime, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from backoffice.reports.selectors import ReportFilter, local_today
from backoffice.tenancy import staff_of_my_hospitals, wards_of_my_hospitals
from hospital.models import ADMINISTERING_ROLES
from scanning.access import readable_wards
from wards.models import Ward

DEFAULT_DAYS = 7
IN_RANGE = [MinValueValidator(date(2000, 1, 1)), MaxValueValidator(date(2100, 12, 31))]
MAX_DAYS = 366


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


class ReportFilterForm(forms.Form):
    """Local dates (both included; the last 7 days by default), optionally a ward by code and a
    nurse by username."""

    # Bounded: the local-day arithmetic (a day after the last, midnight in UTC) must stay in range.
    date_from = forms.DateField(label=_("From"), widget=DateInput(), validators=IN_RANGE)
    date_to = forms.DateField(label=_("To"), widget=DateInput(), validators=IN_RANGE)
    ward = forms.ModelChoiceField(
        label=_("Ward"),
        queryset=Ward.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("All wards"),
    )
    nurse = forms.ModelChoiceField(
        label=_("Nurse"),
        queryset=get_user_model()
        .objects.filter(groups__name__in=ADMINISTERING_ROLES)
        .distinct()
        .order_by("last_name", "first_name", "username"),
        to_field_name="username",
        required=False,
        empty_label=_("All nurses"),
    )

    def __init__(self, data: QueryDict, *, now: datetime, user):
        # Missing dates become the default period, shown in the form as chosen ones.
        today = local_today(now)
        data = data.copy()
        if not data.get("date_to"):
            data["date_to"] = today.isoformat()
        if not data.get("date_from"):
            try:
                last = date.fromisoformat(data["date_to"])
                data["date_from"] = (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
            except (ValueError, OverflowError):
                data["date_from"] = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        super().__init__(data)
        # Her hospitals' wards and nurses only: another hospital's are not a choice.
        self.wards = None if readable_wards(user) is None else wards_of_my_hospitals(user)
        if self.wards is not None:
            self.fields["ward"].queryset = self.wards.order_by("code")
            self.fields["nurse"].queryset = staff_of_my_hospitals(
                user, self.fields["nurse"].queryset
            ).order_by("last_name", "first_name", "username")
        self.fields["nurse"].label_from_instance = lambda user: (
            f"{user.last_name} {user.first_name}".strip() or user.username
        )

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from is None or date_to is None:
            return cleaned
        if date_from > date_to:
            raise forms.ValidationError(_("The first day must not be after the last day."))
        if (date_to - date_from).days >= MAX_DAYS:
            raise forms.ValidationError(
                _("Choose at most %(days)d days."), params={"days": MAX_DAYS}
            )
        return cleaned

    def report_filter(self) -> ReportFilter:
        data = self.cleaned_data
        return ReportFilter(
            date_from=data["date_from"],
            date_to=data["date_to"],
            ward=data.get("ward"),
            nurse=data.get("nurse"),
            wards=self.wards,
        )
