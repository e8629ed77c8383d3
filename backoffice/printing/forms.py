from datetime import timedelta

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.printing.services import MAX_LABELS_PER_RUN
from pharmacy.models import LotRecall, Package
from pharmacy.selectors import package_get_by_gtin, scanned_gtin_and_lot

# GS1 AI 10 (lot): 1 to 20 characters of the GS1 "AI encodable character set 82".
lot_validator = RegexValidator(
    r"^[!\"%-?A-Z_a-z]{1,20}$",
    _("Use at most 20 letters, digits or - . / ( ) characters (no spaces or Vietnamese letters)."),
)
MAX_EXPIRY_AHEAD = timedelta(days=5 * 366)


class UnitDoseRunForm(forms.Form):
    gtin = forms.CharField(
        label=_("Package GTIN"),
        max_length=100,
        help_text=_("The internal GTIN of a package repackaged by the pharmacy: type or scan it."),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    lot = forms.CharField(
        label=_("Lot"),
        max_length=20,
        validators=[lot_validator],
        help_text=_(
            "The manufacturer's lot of the packs you repackaged: a recall of that lot then "
            "stops these unit doses at the bedside too."
        ),
    )
    expiry = forms.DateField(
        label=_("Expiry date"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    count = forms.IntegerField(
        label=_("Number of labels"), min_value=1, max_value=MAX_LABELS_PER_RUN, initial=10
    )

    def clean_gtin(self) -> Package:
        found = scanned_gtin_and_lot(self.cleaned_data["gtin"])
        if found is None:
            raise forms.ValidationError(_("This is not a valid GTIN."), code="invalid")
        gtin = found[0]
        package = package_get_by_gtin(gtin)
        if package is None:
            raise forms.ValidationError(
                _("No package in the formulary has the GTIN %(gtin)s."),
                code="unknown",
                params={"gtin": gtin},
            )
        if not package.hospital_repackaged:
            raise forms.ValidationError(
                _(
                    "%(gtin)s is the manufacturer's GTIN: unit-dose labels are printed only "
                    "for packages repackaged by the hospital pharmacy."
                ),
                code="not_repackaged",
                params={"gtin": gtin},
            )
        return package

    def clean_lot(self) -> str:
        return self.cleaned_data["lot"].strip()

    def clean_expiry(self):
        expiry = self.cleaned_data["expiry"]
        today = timezone.localdate()
        if expiry < today:
            raise forms.ValidationError(_("This date has passed."), code="expired")
        if expiry > today + MAX_EXPIRY_AHEAD:
            raise forms.ValidationError(
                _("More than five years ahead: check the year."), code="too_far"
            )
        return expiry

    def clean(self):
        cleaned = super().clean()
        package, lot = cleaned.get("gtin"), cleaned.get("lot")
        if (
            package is not None
            and lot
            # a recall of this lot of any package of the medication (the labels carry the
            # source's lot, and the bedside stops them alike)
            and LotRecall.objects.filter(package__medication=package.medication, lot=lot).exists()
        ):
            self.add_error("lot", _("This lot is recalled."))
        return cleaned
