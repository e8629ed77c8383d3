"""Verbal and telephone orders a nurse documented at the bedside, until the prescriber co-signs.

Who co-signs: prescribers do not log in to this system (they sign on the paper chart or in the
HIS), so a pharmacist records the prescriber's signature here, with the time the prescriber
signed; the record keeps who entered it and when (pharmacy.services.order_cosign). The site
itself admits only pharmacists and administrators (backoffice.admin_site)."""

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.admin_site import pharmacy_site
from backoffice.tenancy import rows_of_my_hospitals, wards_of_my_hospitals
from hospital.exceptions import ApplicationError
from hospital.models import Role
from pharmacy.models import MedicationOrder
from pharmacy.selectors import verbal_orders_unsigned
from pharmacy.services import order_cosign


def _ward_code(request, value: str) -> str:
    return value if wards_of_my_hospitals(request.user).filter(code=value).exists() else ""


def _queue_page(request, ward_code: str, *, status: int = 200) -> TemplateResponse:
    now = timezone.now()
    context = {
        **pharmacy_site.each_context(request),
        "title": _("Verbal orders awaiting the prescriber's co-signature"),
        "orders": rows_of_my_hospitals(
            request.user, verbal_orders_unsigned(ward_code=ward_code or None), "admission__ward"
        ),
        "wards": wards_of_my_hospitals(request.user).order_by("code"),
        "ward_code": ward_code,
        "now_local": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
    }
    return TemplateResponse(request, "pharmacy/verbal_orders/queue.html", context, status=status)


def queue(request):
    return _queue_page(request, _ward_code(request, request.GET.get("ward", "")))


def _signed_at(value: str) -> datetime | None:
    try:
        moment = datetime.strptime(value.strip(), "%Y-%m-%dT%H:%M")  # noqa: DTZ007
    except ValueError:
        return None
    return timezone.make_aware(moment, timezone.get_default_timezone())


def cosign(request, order_id):
    # Who may, before what: an administrator is refused whatever the method.
    if not request.user.has_role(Role.PHARMACIST):
        raise PermissionDenied(_("Only a pharmacist records a prescriber's co-signature."))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    orders = MedicationOrder.objects.select_related("medication", "admission__patient")
    order = (
        rows_of_my_hospitals(request.user, orders, "admission__ward")
        .filter(external_id=order_id)
        .first()
    )
    if order is None:
        raise Http404
    ward_code = _ward_code(request, request.POST.get("ward", ""))
    signed_at = _signed_at(request.POST.get("signed_at", ""))
    if signed_at is None:
        messages.error(request, _("Give the date and time the prescriber signed."))
        return _queue_page(request, ward_code, status=400)
    try:
        order_cosign(order=order, by=request.user, signed_at=signed_at)
    except ApplicationError as refused:
        messages.error(request, _cosign_refusal(refused))
        return _queue_page(request, ward_code, status=refused.status)
    messages.success(
        request,
        _("Co-signature recorded: %(drug)s for %(patient)s.")
        % {"drug": order.medication.name, "patient": order.admission.patient.full_name},
    )
    suffix = f"?ward={ward_code}" if ward_code else ""
    return redirect(reverse("pharmacy:verbal-orders") + suffix)


def _cosign_refusal(refused: ApplicationError) -> str:
    if refused.code == "ALREADY_COSIGNED":
        return _("This order's co-signature was already recorded (by %(who)s).") % {
            "who": (refused.details or {}).get("recorded_by", "")
        }
    if refused.code == "INVALID_COSIGN_TIME":
        return _("The prescriber signed after the order was documented and not in the future.")
    if refused.code == "NOT_A_VERBAL_ORDER":
        return _("This is not a verbal order.")
    if refused.code == "NOT_A_PHARMACIST":
        return _("Only a pharmacist records a prescriber's co-signature.")
    return refused.message
