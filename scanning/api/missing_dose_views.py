"""Missing-dose requests through the API: a nurse asks the pharmacy for a scheduled dose
(`POST missing-doses/`), the pharmacy marks it sent (`POST missing-doses/{id}/sent/`). The cart
reads each dose's request with the MAR (`missing_request` on each dose). The rules and the
database's guarantees are in scanning/missing_doses.py."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from pharmacy.models import ScheduledDose
from scanning.access import patient_read_check
from scanning.api import outputs as o
from scanning.api import serializers as s
from scanning.api.permissions import IsPharmacy, MayAdminister
from scanning.missing_doses import missing_dose_mark_sent, missing_dose_request, staff_name
from scanning.models import MissingDoseRequest


def missing_request_body(request: MissingDoseRequest | None) -> dict | None:
    """Where a dose's request to the pharmacy stands, as the cart shows it on the dose."""
    if request is None:
        return None
    return {
        "id": str(request.external_id),
        "state": request.state,
        "state_label": request.get_state_display(),
        "reason": request.reason,
        "reason_label": request.get_reason_display(),
        "comment": request.comment,
        "requested_at": timezone.localtime(request.requested_at).isoformat(),
        "requested_by": staff_name(request.requested_by),
        "sent_at": timezone.localtime(request.sent_at).isoformat() if request.sent_at else None,
        "sent_by": staff_name(request.sent_by) if request.sent_by else None,
    }


def _full_body(request: MissingDoseRequest, *, created: bool) -> dict:
    admission = request.order.admission
    return {
        **missing_request_body(request),  # type: ignore[dict-item]
        "created": created,
        "medication": request.order.medication.name,
        "due_at": timezone.localtime(request.due_at).isoformat(),
        "patient": {"mrn": admission.mrn, "full_name": admission.patient.full_name},
        "ward": admission.ward.code,
        "bed": admission.bed.code if admission.bed else None,
    }


class MissingDoseRequestApi(APIView):
    """201 with the new request; 200 with the open one when the dose was already asked for."""

    permission_classes = [MayAdminister]

    @extend_schema(
        request=s.MissingDoseRequestInputSerializer,
        responses={
            201: o.MissingDoseRequestOutputSerializer,
            200: o.MissingDoseRequestOutputSerializer,
        },
    )
    def post(self, request):
        data = s.MissingDoseRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        dose = get_object_or_404(
            ScheduledDose.objects.select_related("order__admission"),
            external_id=valid["scheduled_dose"],
        )
        patient_read_check(user=request.user, patient_id=dose.order.admission.patient_id)
        with transaction.atomic(durable=True):
            found, created = missing_dose_request(
                nurse=request.user,
                scheduled_dose=dose,
                reason=valid["reason"],
                comment=valid["comment"],
                cart=valid["cart"] or getattr(request, "session", {}).get("cart", ""),
            )
        return Response(_full_body(found, created=created), status=201 if created else 200)


class MissingDoseSentApi(APIView):
    """The pharmacy sent the dose: 200, or 409 MISSING_DOSE_ALREADY_SENT naming who sent it."""

    permission_classes = [IsPharmacy]

    @extend_schema(request=None, responses={200: o.MissingDoseRequestOutputSerializer})
    def post(self, request, external_id):
        found = get_object_or_404(MissingDoseRequest, external_id=external_id)
        with transaction.atomic(durable=True):
            sent = missing_dose_mark_sent(pharmacist=request.user, request=found)
        return Response(_full_body(sent, created=False))
