"""Verbal and telephone orders documented at the cart (`POST patients/{mrn}/verbal-orders/`,
under an Idempotency-Key: a retry returns the first order, never a second one), and the
formulary the cart's form picks from (`GET medications/`). The rules are in
pharmacy.services.order_create_verbal; the order is given through the same check and record as
every other dose."""

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from hospital.exceptions import ApplicationError
from pharmacy.models import Medication, MedicationOrder
from pharmacy.services import VerbalOrderInput, order_create_verbal
from scanning.access import patient_by_mrn_for, patient_read_check
from scanning.api import outputs as o
from scanning.api import serializers as s
from scanning.api.idempotency import idempotent
from scanning.api.permissions import IsClinicalStaff, MayAdminister
from scanning.api.views import verbal_order_body
from wards.models import Admission, Ward


def _verbal_order_created_body(order: MedicationOrder) -> dict:
    return {
        "id": str(order.external_id),
        "medication": order.medication.name,
        "dose": f"{order.dose_value.normalize():f} {order.dose_unit}",
        "route": order.route,
        "schedule": order.schedule_kind,
        "start_at": timezone.localtime(order.start_at).isoformat(),
        "status": order.status,
        "verbal": verbal_order_body(order),
    }


class VerbalOrderCreateApi(APIView):
    """201 with the new order. 400 READ_BACK_REQUIRED without the read-back, 400 with a code for
    any other bad input (nothing written), 403 for anyone who does not give medication."""

    permission_classes = [MayAdminister]

    @extend_schema(request=s.VerbalOrderInputSerializer, responses={201: o.VerbalOrderSerializer})
    @idempotent(endpoint="patients/{mrn}/verbal-orders")
    def post(self, request, mrn) -> tuple[int, dict]:
        patient = patient_by_mrn_for(user=request.user, mrn=mrn)
        patient_read_check(user=request.user, patient_id=patient.pk if patient else None)
        if patient is None:
            raise Http404
        data = s.VerbalOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        admission = Admission.objects.filter(patient=patient, discharged_at__isnull=True).first()
        if admission is None:
            raise ApplicationError(
                gettext("The patient is not admitted."), code="PATIENT_NOT_ADMITTED"
            )
        order = order_create_verbal(
            nurse=request.user,
            values=VerbalOrderInput(
                admission=admission,
                medication=valid["medication"],
                dose_value=valid["dose"],
                dose_unit=valid["dose_unit"],
                route=valid["route"],
                schedule_kind=valid["schedule"],
                prescriber_name=valid["prescriber"],
                verbal_kind=valid["kind"],
                read_back_confirmed=valid["read_back_confirmed"],
                start_at=valid.get("start_at"),
                interval_hours=valid.get("interval_hours"),
                instructions=valid["instructions"],
            ),
        )
        return 201, _verbal_order_created_body(order)


def _stocked_here(request):
    """The formulary as the cart's hospital stocks it (the whole of it away from a cart)."""
    ward = Ward.objects.filter(code=request.session.get("ward", "")).first()
    medications = Medication.objects.all()
    if ward is not None:
        medications = medications.exclude(not_stocked_at=ward.hospital_id)
    return medications


class MedicationListApi(APIView):
    """The formulary, for the cart's verbal-order form: code, name, strength and routes."""

    permission_classes = [IsClinicalStaff]

    @extend_schema(responses={200: o.MedicationBriefSerializer(many=True)})
    def get(self, request):
        return Response(
            [
                {
                    "code": m.code,
                    "name": m.name,
                    "strength_unit": m.strength_unit,
                    "routes": list(m.routes or []),
                }
                for m in _stocked_here(request).order_by("name", "pk")
            ]
        )
