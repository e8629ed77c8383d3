"""The bedside API of infusion bags: hang a bag, act on it (rate change, pause, resume, stop,
complete), and list a patient's bags infusing now. Nurses only for the writes, clinical staff for
the list; every write runs under an Idempotency-Key (a cart on flaky Wi-Fi re-sends)."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from hospital.api import error_body
from scanning import refusals
from scanning.access import patient_by_mrn_for, patient_read_check
from scanning.api import outputs as o
from scanning.api import serializers as s
from scanning.api.idempotency import idempotent
from scanning.api.permissions import IsClinicalStaff, MayAdminister
from scanning.api.views import _check_request, _clock, check_body
from scanning.infusions import infusion_event_record, infusion_hang
from scanning.selectors import bag_summary, bags_infusing, bags_read
from scanning.services import CheckRequest, OverrideInput


def _bag_body(bag) -> dict:
    return o.BagOutputSerializer(bag_summary(bag, now=timezone.now())).data


class InfusionHangApi(APIView):
    permission_classes = [MayAdminister]

    @extend_schema(
        request=s.InfusionHangInputSerializer, responses={201: o.InfusionHangOutputSerializer}
    )
    @idempotent(endpoint="infusions/hang")
    def post(self, request) -> tuple[int, dict]:
        data = s.InfusionHangInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        warnings = _clock(request, valid, "infusions/hang")
        outcome = infusion_hang(
            performer=request.user,
            request=_check_request(request, valid),
            rate_ml_h=valid["rate_ml_h"],
            line=valid["line"],
            overrides=[
                OverrideInput(override["code"], override["reason"], override.get("comment", ""))
                for override in valid["overrides"]
            ],
        )
        if outcome.refusal_status is not None:  # a break-the-glass refused: nothing shown
            return outcome.refusal_status, error_body(
                outcome.refusal_code, outcome.refusal_message, outcome.details
            )
        if outcome.administration is None:
            check = check_body(outcome.result, outcome.context)
            return refusals.status_of(outcome.refusal_code, otherwise=422), error_body(
                outcome.refusal_code,
                outcome.refusal_message,
                {
                    **outcome.details,
                    "findings": check.get("findings", []),
                    "verdict": check.get("verdict"),
                },
            )
        (bag,) = bags_read([outcome.administration])
        return 201, {
            "administration": s.AdministrationOutputSerializer(outcome.administration).data,
            "bag": _bag_body(bag),
            "warnings": warnings,
        }


class InfusionEventApi(APIView):
    permission_classes = [MayAdminister]

    @extend_schema(
        request=s.InfusionEventInputSerializer,
        responses={201: o.InfusionEventRecordOutputSerializer},
    )
    @idempotent(endpoint="infusions/events")
    def post(self, request) -> tuple[int, dict]:
        data = s.InfusionEventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        warnings = _clock(request, valid, "infusions/events")
        base = _check_request(request, {**valid, "medications": [valid["bag"]]})
        override = valid.get("override")
        outcome = infusion_event_record(
            performer=request.user,
            request=CheckRequest(
                patient=base.patient,
                medications=base.medications,
                order_id=base.order_id,
                cart=base.cart,
                ward_code=base.ward_code,
            ),
            action=valid["action"],
            rate_ml_h=valid.get("rate_ml_h"),
            volume_infused_ml=valid.get("volume_infused_ml"),
            override=OverrideInput(override["code"], override["reason"], override["comment"])
            if override
            else None,
        )
        if outcome.refusal is not None:  # committed with its security event; shows nobody
            refused = outcome.refusal
            return refused.status, error_body(refused.code, refused.message, refused.details)
        return 201, {
            "event": o.InfusionEventOutputSerializer(outcome.event).data,
            "bag": _bag_body(outcome.bag),
            "warnings": warnings,
        }


class PatientInfusionsApi(APIView):
    permission_classes = [IsClinicalStaff]

    @extend_schema(responses={200: o.PatientInfusionsOutputSerializer})
    def get(self, request, mrn):
        patient = patient_by_mrn_for(user=request.user, mrn=mrn)
        patient_read_check(user=request.user, patient_id=patient.pk if patient else None)
        if patient is None:
            raise Http404
        return Response({"bags": [_bag_body(bag) for bag in bags_infusing(patient_id=patient.pk)]})
