"""The pharmacy's queue of doses the wards asked for (scanning/missing_doses.py): patient, ward,
bed, drug, dose and due time, oldest due first, each with a button to mark it sent. The site
itself admits only pharmacists and administrators (backoffice.admin_site)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backoffice.admin_site import pharmacy_site
from backoffice.tenancy import rows_of_my_hospitals, wards_of_my_hospitals
from scanning.missing_doses import missing_dose_mark_sent, missing_dose_queue
from scanning.models import MissingDoseRequest
from scanning.refusals import MissingDoseAlreadySentError


def _ward_code(request, value: str) -> str:
    return value if wards_of_my_hospitals(request.user).filter(code=value).exists() else ""


def _queue_page(request, ward_code: str, *, status: int = 200) -> TemplateResponse:
    context = {
        **pharmacy_site.each_context(request),
        "title": _("Missing doses requested by the wards"),
        "requests": rows_of_my_hospitals(
            request.user, missing_dose_queue(ward_code=ward_code or None), "order__admission__ward"
        ),
        "wards": wards_of_my_hospitals(request.user).order_by("code"),
        "ward_code": ward_code,
        "now": timezone.now(),
    }
    return TemplateResponse(request, "pharmacy/missing_doses/queue.html", context, status=status)


def queue(request):
    return _queue_page(request, _ward_code(request, request.GET.get("ward", "")))


@require_POST
def mark_sent(request, request_id):
    requests = MissingDoseRequest.objects.select_related(
        "order__medication", "order__admission__patient"
    )
    found = (
        rows_of_my_hospitals(request.user, requests, "order__admission__ward")
        .filter(external_id=request_id)
        .first()
    )
    if found is None:
        raise Http404
    ward_code = _ward_code(request, request.POST.get("ward", ""))
    try:
        missing_dose_mark_sent(pharmacist=request.user, request=found)
    except MissingDoseAlreadySentError as refused:
        # Another pharmacist was first: say so on the queue itself, as a conflict.
        messages.error(request, refused.message)
        return _queue_page(request, ward_code, status=409)
    messages.success(
        request,
        _("Marked sent: %(drug)s for %(patient)s.")
        % {
            "drug": found.order.medication.name,
            "patient": found.order.admission.patient.full_name,
        },
    )
    suffix = f"?ward={ward_code}" if ward_code else ""
    return redirect(reverse("pharmacy:missing-doses") + suffix)
