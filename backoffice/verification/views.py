"""The pharmacist's verification queue: review one order beside the patient's allergies and other
orders, then verify, hold, resume or discontinue it through the order services."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from backoffice.admin_site import pharmacy_site
from backoffice.tenancy import rows_of_my_hospitals, wards_of_my_hospitals
from hospital.exceptions import ApplicationError
from pharmacy import services
from pharmacy.assessments import before_giving_words, order_assessments
from pharmacy.models import AllergyAcknowledgementReason, MedicationOrder, Route, route_allowed
from pharmacy.selectors import order_list_awaiting_verification, order_review_get
from pharmacy.services import AllergyAcknowledgementInput, order_version
from scanning.dosemath import Quantity, Strength, format_decimal, to_decimal, units_for_dose

QUEUE_PAGE_SIZE = 100


class AllergyAcknowledgementForm(forms.Form):
    # Not required in the page: a missing reason is refused by order_verify, in words (the
    # browser's own bubble would speak the browser's language).
    allergy_reason = forms.ChoiceField(
        label=gettext_lazy("Why verify despite the allergy"),
        choices=[("", "—"), *AllergyAcknowledgementReason.choices],
        required=False,
    )
    allergy_comment = forms.CharField(
        label=gettext_lazy("Comment"),
        max_length=300,
        required=False,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "placeholder": gettext_lazy("Who confirmed, what is known (required for other)"),
                "size": 48,
            }
        ),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Reason (required)")}),
    )


def _ward_code(request) -> str:
    code = request.GET.get("ward", "")
    return code if wards_of_my_hospitals(request.user).filter(code=code).exists() else ""


@permission_required("pharmacy.view_medicationorder", raise_exception=True)
def queue(request):
    ward_code = _ward_code(request)
    orders = rows_of_my_hospitals(
        request.user,
        order_list_awaiting_verification(ward_code=ward_code or None),
        "admission__ward",
    )
    page = Paginator(orders, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **pharmacy_site.each_context(request),
        "title": _("Orders awaiting verification"),
        "page": page,
        "total": page.paginator.count,
        "wards": wards_of_my_hospitals(request.user).order_by("code"),
        "ward_code": ward_code,
    }
    return TemplateResponse(request, "pharmacy/verification/queue.html", context)


@permission_required("pharmacy.view_medicationorder", raise_exception=True)
def review(request, order_id):
    ward_code = _ward_code(request)
    mine = rows_of_my_hospitals(request.user, MedicationOrder.objects.all(), "admission__ward")
    if not mine.filter(external_id=order_id).exists():
        raise Http404
    try:
        found = order_review_get(order_id=order_id, ward_code=ward_code or None)
    except MedicationOrder.DoesNotExist:
        raise Http404 from None
    order = found.order
    context = {
        **pharmacy_site.each_context(request),
        "title": _("Review order"),
        "review": found,
        "order": order,
        "patient": order.admission.patient,
        "age": order.admission.patient.age_text(timezone.localdate()),
        "dose_warning": dose_units_warning(order),
        "not_stocked": not order.medication.stocked_at(order.admission.ward.hospital_id),
        "route_allowed": route_allowed(order.medication, order.route),
        "allowed_routes": [Route(r).label for r in order.medication.routes if r in Route.values],
        "reason_form": ReasonForm(),
        "acknowledgement_form": AllergyAcknowledgementForm(),
        "ward_code": ward_code,
        "can_change": request.user.has_perm("pharmacy.change_medicationorder"),
        "version": order_version(found.order),
        "before_giving": before_giving_words(
            order_assessments(
                order.assessments_required,
                order.hold_parameters,
                analgesic=order.pain_score_asked,
            ),
            english=(translation.get_language() or "vi").startswith("en"),
        ),
    }
    return TemplateResponse(request, "pharmacy/verification/review.html", context)


def dose_units_warning(order: MedicationOrder) -> str:
    """Why the ordered dose cannot be given from the ordered product as it stands (250 mg from
    500 mg capsules), or "" when it can: whole units, half a scored tablet, part of a vial, a
    measured volume."""
    medication = order.medication
    strength = Strength(
        Quantity(medication.strength_value, medication.strength_unit),
        Quantity(medication.per_value, medication.per_unit),
    )
    dose = Quantity(order.dose_value, order.dose_unit)
    found = units_for_dose(
        dose, strength, dose_form=medication.dose_form, divisible=medication.divisible
    )
    values = {
        "dose": f"{number_format(dose.value.normalize())} {order.get_dose_unit_display()}",
        "strength": f"{number_format(medication.strength_value.normalize())} "
        f"{medication.get_strength_unit_display()}",
        "form": medication.get_dose_form_display(),
    }
    if found.units is None:
        return (
            _(
                "The %(dose)s dose cannot be worked out from the strength %(strength)s (different "
                "kinds of unit). Check the order."
            )
            % values
        )
    if found.whole:
        return ""
    units = to_decimal(found.units)
    values["units"] = number_format(Decimal(format_decimal(round(units, 2))))
    return (
        _(
            "The %(dose)s dose is %(units)s × %(form)s of %(strength)s, which cannot be divided "
            "like that. Ask the prescriber, or choose another strength or form."
        )
        % values
    )


def _after(request, order: MedicationOrder, next_in_queue: bool):
    ward = request.POST.get("ward", "")
    suffix = f"?ward={ward}" if ward else ""
    if next_in_queue:
        queue = order_list_awaiting_verification(ward_code=ward or None)
        following = (
            rows_of_my_hospitals(request.user, queue, "admission__ward")
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
    mine = rows_of_my_hospitals(request.user, MedicationOrder.objects.all(), "admission__ward")
    order = mine.filter(external_id=order_id).first()
    if order is None:
        raise Http404
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if action == "verify":
            services.order_verify(
                order=order,
                pharmacist=request.user,
                reviewed_version=_version(request),
                allergy_acknowledgement=_acknowledgement(request),
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


def _acknowledgement(request) -> AllergyAcknowledgementInput | None:
    form = AllergyAcknowledgementForm(request.POST)
    if not form.is_valid():
        return None
    return AllergyAcknowledgementInput(
        reason=form.cleaned_data["allergy_reason"], comment=form.cleaned_data["allergy_comment"]
    )


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
        "ALLERGY_ACKNOWLEDGEMENT_REQUIRED": _(
            "The patient is allergic to this medication: choose why you verify it anyway."
        ),
        "COMMENT_REQUIRED": _("Explain the reason in a comment."),
        "ROUTE_NOT_ALLOWED": _(
            "This medication cannot be given by the ordered route: the order cannot be verified."
        ),
    }
    return known.get(error.code, str(error))
