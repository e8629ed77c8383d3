"""The pharmacist's verification queue: review one order beside the patient's allergies and other
orders, then verify, hold, resume or discontinue it through the order services."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from hospital.admin_site import pharmacy_site
from hospital.exceptions import ApplicationError
from pharmacy import services
from pharmacy.models import MedicationOrder
from pharmacy.selectors import order_list_awaiting_verification, order_review_get
from pharmacy.services import order_version
from wards.models import Ward

QUEUE_PAGE_SIZE = 100


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Reason (required)")}),
    )


def _ward_code(request) -> str:
    code = request.GET.get("ward", "")
    return code if Ward.objects.filter(code=code).exists() else ""


@permission_required("pharmacy.view_medicationorder", raise_exception=True)
def queue(request):
    ward_code = _ward_code(request)
    orders = order_list_awaiting_verification(ward_code=ward_code or None)
    page = Paginator(orders, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **pharmacy_site.each_context(request),
        "title": _("Orders awaiting verification"),
        "page": page,
        "total": page.paginator.count,
        "wards": Ward.objects.order_by("code"),
        "ward_code": ward_code,
    }
    return TemplateResponse(request, "pharmacy/verification/queue.html", context)


@permission_required("pharmacy.view_medicationorder", raise_exception=True)
def review(request, order_id):
    ward_code = _ward_code(request)
    try:
        found = order_review_get(order_id=order_id, ward_code=ward_code or None)
    except MedicationOrder.DoesNotExist:
        raise Http404 from None
    context = {
        **pharmacy_site.each_context(request),
        "title": _("Review order"),
        "review": found,
        "order": found.order,
        "patient": found.order.admission.patient,
        "reason_form": ReasonForm(),
        "ward_code": ward_code,
        "can_change": request.user.has_perm("pharmacy.change_medicationorder"),
        "version": order_version(found.order),
    }
    return TemplateResponse(request, "pharmacy/verification/review.html", context)


def _after(request, order: MedicationOrder, next_in_queue: bool):
    ward = request.POST.get("ward", "")
    suffix = f"?ward={ward}" if ward else ""
    if next_in_queue:
        following = (
            order_list_awaiting_verification(ward_code=ward or None)
            .values_list("external_id", flat=True)
            .first()
        )
        if following is not None:
            return redirect(reverse("pharmacy:verification-review", args=[following]) + suffix)
        return redirect(reverse("pharmacy:verification-queue") + suffix)
    return redirect(reverse("pharmacy:verification-review", args=[order.external_id]) + suffix)


@permission_required("pharmacy.change_medicationorder", raise_exception=True)
@require_POST
def transition(request, order_id, action: str):
    order = MedicationOrder.objects.filter(external_id=order_id).first()
    if order is None:
        raise Http404
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if action == "verify":
            services.order_verify(
                order=order, pharmacist=request.user, reviewed_version=_version(request)
            )
            messages.success(request, _("Order verified: %(order)s") % {"order": order})
        elif action == "hold":
            services.order_hold(order=order, reason=reason, by=request.user)
            messages.success(request, _("Order put on hold: %(order)s") % {"order": order})
        elif action == "resume":
            services.order_resume(order=order, reason=reason, by=request.user)
            messages.success(request, _("Order resumed: %(order)s") % {"order": order})
        elif action == "discontinue":
            services.order_discontinue(order=order, reason=reason, by=request.user)
            messages.success(request, _("Order discontinued: %(order)s") % {"order": order})
        else:
            raise Http404
    except ApplicationError as error:
        messages.error(request, _message_for(error))
        return _after(request, order, next_in_queue=False)
    return _after(request, order, next_in_queue=action == "verify")


def _version(request) -> int:
    # Required: a verify without the version the pharmacist read would verify unseen content.
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


def _message_for(error: ApplicationError) -> str:
    known = {
        "ORDER_CHANGED": _("The order was changed after you opened it: review it again."),
        "NOT_A_PHARMACIST": _("Only a pharmacist can verify orders."),
        "REASON_REQUIRED": _("Give a reason."),
        "ORDER_STATE": _("The order has changed state meanwhile; nothing was done."),
    }
    return known.get(error.code, str(error))
