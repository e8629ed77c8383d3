"""Print pages of the pharmacy site (/pharmacy/print/): PDF for wristband, badge and unit-dose
label stock, and the downtime MAR of a ward. Every page needs the site's login (pharmacists and
administrators) and the model permission of what it prints."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.csp import CSP
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from backoffice.admin_site import pharmacy_site
from backoffice.printing import services
from backoffice.printing.forms import UnitDoseRunForm
from backoffice.printing.mar import downtime_mar_pdf
from backoffice.printing.selectors import downtime_mar_get
from backoffice.tenancy import rows_of_my_hospitals, staff_of_my_hospitals, wards_of_my_hospitals
from hospital.exceptions import ApplicationError
from hospital.models import User
from pharmacy.models import Package
from wards.models import Admission

WRISTBAND_PERMISSION = "wards.add_wristband"
# A badge logs its holder in at every cart (with the PIN): only who manages staff prints one.
BADGE_PERMISSION = "hospital.change_user"
LABEL_PERMISSION = "pharmacy.change_package"
DOWNTIME_PERMISSIONS = (
    "wards.view_patient",
    "pharmacy.view_scheduleddose",
    "scanning.view_administration",
)


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, filename)
    # Patient data: no browser or proxy keeps a copy.
    add_never_cache_headers(response)
    # Chrome shows a PDF through an internal <embed>, which the site's "object-src 'none'" blocks
    # (crbug.com/271452). A PDF runs no script of ours: only framing stays forbidden.
    response._csp_config = {"frame-ancestors": [CSP.NONE]}
    return response


def _context(request, title: str, **extra) -> dict:
    return {**pharmacy_site.each_context(request), "title": title, **extra}


def index(request):
    user = request.user
    return TemplateResponse(
        request,
        "pharmacy/print/index.html",
        _context(
            request,
            _("Printing"),
            can_print_labels=user.has_perm(LABEL_PERMISSION),
            can_print_wristbands=user.has_perm(WRISTBAND_PERMISSION),
            can_print_badges=user.has_perm(BADGE_PERMISSION),
            can_print_downtime=user.has_perms(DOWNTIME_PERMISSIONS),
        ),
    )


# --------------------------------------------------------------------------- wristbands


def wristbands_response(request, admissions) -> HttpResponse:
    """Issue and draw new bands for ``admissions`` (open ones); shared with the admin action."""
    printed = services.wristbands_print(admissions=admissions, printed_by=request.user)
    if len(printed.bands) == 1:
        band = printed.bands[0]
        filename = f"wristband-{band.patient.mrn}-{band.instance}.pdf"
    else:
        filename = f"wristbands-{timezone.localtime():%Y%m%d-%H%M}.pdf"
    return pdf_response(printed.pdf, filename)


@permission_required(WRISTBAND_PERMISSION, raise_exception=True)
def wristband(request, admission_id):
    """GET: what a new band replaces; POST: issue it and return the PDF."""
    admissions = Admission.objects.select_related("patient", "ward", "bed")
    admission = get_object_or_404(
        rows_of_my_hospitals(request.user, admissions, "ward"), external_id=admission_id
    )
    if request.method == "POST" and admission.is_open:
        try:
            return wristbands_response(request, [admission])
        except ApplicationError as error:
            messages.error(request, str(error))
    active = admission.wristbands.filter(voided_at__isnull=True).first()
    return TemplateResponse(
        request,
        "pharmacy/print/wristband.html",
        _context(
            request,
            _("Print a new wristband"),
            admission=admission,
            patient=admission.patient,
            active_band=active,
        ),
    )


# --------------------------------------------------------------------------- badges


def badges_response(request, users) -> HttpResponse:
    users = list(users)
    filename = f"badge-{users[0].username}.pdf" if len(users) == 1 else "badges.pdf"
    return pdf_response(services.badges_print(users=users), filename)


@permission_required(BADGE_PERMISSION, raise_exception=True)
def badge(request, user_id: int):
    staff = staff_of_my_hospitals(request.user, User.objects.prefetch_related("groups"))
    user = get_object_or_404(staff, pk=user_id)
    try:
        return badges_response(request, [user])
    except ValueError:
        messages.error(
            request,
            _("%(user)s has no valid badge GSRN: enter one before printing a badge.")
            % {"user": user.username},
        )
        return redirect(reverse("pharmacy:hospital_user_change", args=[user.pk]))


# --------------------------------------------------------------------------- unit-dose labels


@permission_required(LABEL_PERMISSION, raise_exception=True)
def unit_dose_labels(request):
    """A repackaging run: GTIN, lot, expiry and count in, one 50 × 25 mm label per page out."""
    form = UnitDoseRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        package = form.cleaned_data["gtin"]
        content = services.unit_dose_run_print(
            package=package,
            lot=form.cleaned_data["lot"],
            expiry=form.cleaned_data["expiry"],
            count=form.cleaned_data["count"],
        )
        return pdf_response(content, f"unit-dose-{package.gtin}-{form.cleaned_data['lot']}.pdf")
    packages = Package.objects.filter(hospital_repackaged=True).select_related("medication")
    return TemplateResponse(
        request,
        "pharmacy/print/unit_dose.html",
        _context(request, _("Unit-dose labels"), form=form, packages=packages),
    )


# --------------------------------------------------------------------------- downtime MAR


@permission_required(DOWNTIME_PERMISSIONS, raise_exception=True)
def downtime_wards(request):
    return TemplateResponse(
        request,
        "pharmacy/print/downtime_wards.html",
        _context(
            request, _("Downtime MAR"), wards=wards_of_my_hospitals(request.user).order_by("code")
        ),
    )


@permission_required(DOWNTIME_PERMISSIONS, raise_exception=True)
def downtime_mar(request, ward_code: str):
    ward = wards_of_my_hospitals(request.user).filter(code=ward_code).first()
    if ward is None:
        raise Http404
    sheet = downtime_mar_get(ward=ward)
    return pdf_response(
        downtime_mar_pdf(sheet), f"downtime-mar-{ward.code}-{sheet.printed_at:%Y%m%d-%H%M}.pdf"
    )
