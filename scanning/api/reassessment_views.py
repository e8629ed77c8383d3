"""PRN effectiveness reassessments through the API: `POST administrations/{id}/reassessment/`
documents how a PRN dose worked (Idempotency-Key like every bedside write). The cart reads the
ones due with the MAR (`reassessments_due`) and the ward worklist (`reassessment` rows). The rules
are in scanning/reassessments.py."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from scanning.access import patient_read_check
from scanning.api.idempotency import idempotent
from scanning.api.permissions import MayAdminister
from scanning.api.serializers import ClientTimeSerializer
from scanning.models import Administration, ReassessmentEffect
from scanning.reassessments import reassessment_body, reassessment_record


class ReassessmentInputSerializer(ClientTimeSerializer):
    effect = serializers.ChoiceField(choices=ReassessmentEffect.choices)
    pain_score = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=10,
        help_text="0-10; required after an analgesic",
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    cart = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


class ReassessmentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    administration = serializers.UUIDField()
    documented_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    late = serializers.BooleanField(help_text="documented after its due time plus the grace")
    minutes_late = serializers.IntegerField(help_text="minutes after due; 0 when on time")
    effect = serializers.ChoiceField(choices=ReassessmentEffect.choices)
    effect_label = serializers.CharField()
    pain_score = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField()
    performer = serializers.CharField()


class AdministrationReassessmentApi(APIView):
    """201 with the reassessment; 409 ALREADY_REASSESSED with the one kept when the dose's effect
    was documented already, 409 NOT_REASSESSABLE for a record that is no PRN dose given."""

    permission_classes = [MayAdminister]

    @extend_schema(
        request=ReassessmentInputSerializer, responses={201: ReassessmentOutputSerializer}
    )
    @idempotent(endpoint="administrations/{external_id}/reassessment")
    def post(self, request, external_id) -> tuple[int, dict]:
        data = ReassessmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        record = get_object_or_404(
            Administration.objects.select_related("admission", "order__medication"),
            external_id=external_id,
        )
        patient_read_check(
            user=request.user,
            patient_id=record.patient_id,
            record_ward_id=record.admission.ward_id,
        )
        reassessment = reassessment_record(
            performer=request.user,
            administration=record,
            effect=valid["effect"],
            pain_score=valid["pain_score"],
            comment=valid["comment"],
            cart=valid["cart"] or getattr(request, "session", {}).get("cart", ""),
        )
        return 201, reassessment_body(reassessment)
