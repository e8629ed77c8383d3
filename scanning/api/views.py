import warnings
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.authentication import CSRFCheck
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

import gs1
from hospital.api import error_body
from hospital.exceptions import ApplicationError
from hospital.oauth import SystemScope
from hospital.replica import reads_from_replica
from hospital.sessions import cart_session_start
from hospital.throttle import request_source
from pharmacy.assessments import ASSESSMENT_KINDS, hold_text
from pharmacy.body_sites import site_label
from pharmacy.models import MedicationOrder, ScheduledDose
from pharmacy.routes import route_names
from scanning import refusals
from scanning.access import (
    BreakGlassLimitError,
    BreakGlassNeedsScanError,
    administrations_visible,
    break_glass_record,
    patient_by_mrn_for,
    patient_read_check,
    ward_read_check,
)
from scanning.api import outputs as o
from scanning.api import serializers as s
from scanning.api.clock import clock_warnings
from scanning.api.idempotency import idempotent, idempotent_outcome
from scanning.api.missing_dose_views import missing_request_body
from scanning.api.permissions import IsClinicalStaff, MayAdminister
from scanning.barcodes import ImageRejected, decode_image
from scanning.dosemath import Quantity
from scanning.missing_doses import missing_dose_requests_by_dose, staff_name
from scanning.models import (
    AccessReason,
    Administration,
    AdministrationStatus,
    CorrectionReason,
    NotGivenReason,
    ScanEvent,
    ScanPurpose,
)
from scanning.reassessments import reassessments_due
from scanning.scans import ResolvedScan, image_rejected_error, scan_resolve
from scanning.selectors import (
    WorklistKind,
    administration_list_recent,
    checks_unrecorded,
    dose_list_due_for_ward,
    dose_timing,
    mar_get,
    mar_order_flags,
    order_assessments_of,
    ward_worklist,
    worn_list,
)
from scanning.services import (
    CheckRequest,
    OverrideInput,
    WasteInput,
    administration_check,
    administration_correct,
    administration_not_given,
    administration_record,
    administration_waste_record,
    cart_ward_check,
    correction_deadline,
    cosigner_accepted,
    cosigner_authenticate,
    finding_as_dict,
    order_pk_for,
    removal_record,
    staff_authenticate_badge,
    staff_login_release,
    unrecorded_check_acknowledge,
    witness_accepted,
    witness_authenticate,
)
from wards.models import Ward


def language() -> str:
    return "en" if (translation.get_language() or "vi").startswith("en") else "vi"


def assessment_asks(order) -> dict[str, list]:
    """What the cart asks the nurse to measure before giving this order, and when it holds."""
    found = order_assessments_of(order)
    holds = found.holds
    kinds = [ASSESSMENT_KINDS[code] for code in found.needed]
    return {
        "assessments": o.AssessmentAskSerializer(
            [
                {
                    "kind": kind.code,
                    "label": s.kind_label(kind),
                    "unit": s.kind_unit(kind),
                    "minimum": kind.minimum,
                    "maximum": kind.maximum,
                    "decimals": kind.decimals,
                }
                for kind in kinds
            ],
            many=True,
        ).data,
        "hold_parameters": o.HoldParameterSerializer(
            [
                {
                    "kind": hold.kind,
                    "operator": hold.operator,
                    "value": hold.limit,
                    "text": hold_text(hold, english=language() == "en"),
                }
                for hold in holds
            ],
            many=True,
        ).data,
    }


def _check_request(request, data) -> CheckRequest:
    """The cart's ward comes from its login session (checked against the nurse's wards), never
    from the request body: a client must not be able to switch WRONG_WARD off."""
    session = getattr(request, "session", {})
    order_id = order_pk_for(data["order"]) if data.get("order") else None
    witness_verified_id = None
    if data.get("witness") and data.get("witness_pin"):
        witness_verified_id = witness_authenticate(
            witness=s.scan_input(data["witness"]),
            pin=data["witness_pin"],
            source=request_source(request, session.get("cart", "")),
        )
    cosigner_verified_id = None
    if data.get("cosigner") and data.get("cosigner_pin"):
        cosigner_verified_id = cosigner_authenticate(
            cosigner=s.scan_input(data["cosigner"]),
            pin=data["cosigner_pin"],
            source=request_source(request, session.get("cart", "")),
        )
    ward_code = session.get("ward") or None
    if ward_code is None:
        # Every check runs for a cart's ward: without one WRONG_WARD could never warn.
        raise ApplicationError(
            gettext("This session names no cart ward: log in at the cart."),
            code="WARD_REQUIRED",
            details={"field": "ward"},
        )
    return CheckRequest(
        patient=s.scan_input(data["patient"]),
        medications=tuple(s.scan_input(scan) for scan in data.get("medications", [])),
        witness=s.scan_input(data["witness"]) if data.get("witness") else None,
        witness_verified_id=witness_verified_id,
        cosigner=s.scan_input(data["cosigner"]) if data.get("cosigner") else None,
        cosigner_verified_id=cosigner_verified_id,
        order_id=order_id,
        cart=data.get("cart") or session.get("cart", ""),
        ward_code=ward_code,
        site=data.get("site", ""),
        waste=Quantity(data["waste"]["amount"], data["waste"]["unit"])
        if data.get("waste")
        else None,
        assessments=s.assessment_values(data),
        prn_reason=data.get("prn_reason", ""),
    )


def _clock(request, valid, endpoint: str) -> list[dict]:
    """Warnings about the cart's clock: logged and answered, never the time of the record."""
    cart = valid.get("cart") or getattr(request, "session", {}).get("cart", "")
    return clock_warnings(client_time=valid.get("client_time"), cart=cart, endpoint=endpoint)


def _quantity(value, unit) -> str | None:
    if value is None:
        return None
    return f"{Decimal(value).normalize():f} {unit}"


def _per_kg(value, unit) -> str | None:
    quantity = _quantity(value, unit)
    return None if quantity is None else f"{quantity}/kg"


def patient_body(patient, admission=None) -> dict:
    """Who the patient is (by her MRN at the hospital of `admission`, her open one), their age
    today and the weight (with its time) and height the cart shows on its banner: a dose by
    weight is computed from that weight."""
    return {
        "mrn": admission.mrn if admission is not None else patient.mrn,
        "full_name": patient.full_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "age": patient.age_text(timezone.localdate()),
        # Through its serializer, so that the decimals are written as the schema says.
        **o.PatientMeasuresSerializer(patient).data,
    }


def transfer_notice(admission) -> dict | None:
    """The admission's last transfer (from the HIS, A02), for the cart's "recently transferred"
    notice: `recent` while within TRANSFER_NOTICE_HOURS. Read only when there was one."""
    if admission is None or admission.transferred_at is None:
        return None
    previous_bed = admission.transferred_from_bed
    return {
        "at": timezone.localtime(admission.transferred_at).isoformat(),
        "from_ward": admission.transferred_from.code,
        "from_bed": previous_bed.code if previous_bed else None,
        "recent": timezone.now() - admission.transferred_at
        <= timedelta(hours=settings.TRANSFER_NOTICE_HOURS),
    }


def old_ward_of(admission, due_at) -> str | None:
    """The ward a dose fell due on, when that was before the admission's last transfer: the cart
    marks it, so that the new ward sees what was planned (and perhaps given or missed) there.
    Only the last transfer is kept (Admission.transferred_*): a dose due before an earlier one
    is marked with the last ward the patient came from."""
    if admission is None or admission.transferred_at is None or due_at >= admission.transferred_at:
        return None
    return admission.transferred_from.code


def check_body(result, context) -> dict:
    lang = language()
    # A void, superseded or unknown band identifies nobody: show no one's data.
    patient = context.patient if context.facts.band_active else None
    order = context.orders.get(result.order.id) if result.order is not None else None
    dose = context.doses.get(result.dose.id) if result.dose is not None else None
    summary = result.dose_summary
    return {
        "verdict": result.verdict,
        "patient": {
            **patient_body(patient, context.admission),
            "allergies": [
                {
                    "code": allergy.allergen_code,
                    "name": allergy.allergen_name,
                    "severity": allergy.severity,
                    "severity_label": allergy.get_severity_display(),
                    "reaction": allergy.reaction,
                }
                for allergy in context.allergies
            ],
            "transfer": transfer_notice(context.admission),
        }
        if patient is not None
        else None,
        "order": {
            "id": str(order.external_id),
            "medication": order.medication.name,
            # The dose the rules compared with: a per-kg order's, for the current weight.
            "dose": _quantity(result.order.dose_value, result.order.dose_unit)
            if not (order.dose_per_kg is not None and "WEIGHT_REQUIRED" in result.codes())
            else None,
            "dose_per_kg": _per_kg(order.dose_per_kg, order.dose_unit),
            "max_dose_per_kg": _per_kg(order.max_dose_per_kg, order.dose_unit),
            "route": order.route,
            "route_name": getattr(route_names(order.route), language()),
            "status": order.status,
            "prn": order.is_prn,
            "prn_indications": order.prn_indications_offered,
            # Through its serializer, so that the decimals are written as the schema says.
            "infusion": o.CheckedInfusionSerializer(
                {
                    "rate_ml_h": order.infusion_rate_ml_h(),
                    "volume_ml": order.volume_ml,
                    "additives": order.additives,
                }
            ).data
            if order.is_infusion
            else None,
            **assessment_asks(order),
        }
        if order is not None
        else None,
        "scheduled_dose": {
            "id": str(dose.external_id),
            "due_at": timezone.localtime(dose.due_at).isoformat(),
            "state": dose.state,
        }
        if dose is not None
        else None,
        "dose": {
            "ordered": _quantity(summary.ordered.value, summary.ordered.unit),
            "scanned": _quantity(summary.scanned.value, summary.scanned.unit)
            if summary.scanned
            else None,
            "comparison": summary.comparison,
        }
        if summary is not None
        else None,
        "findings": [finding_as_dict(finding, lang) for finding in result.findings],
        "witness": witness_body(result, context),
        "cosigner": cosigner_body(result, context),
        "site": site_body(context),
    }


# Routes whose doses go into a body site the nurse names (injections under the skin or into a
# muscle, patches): the cart offers its site picker for these.
SITE_ROUTES = frozenset({"SC", "IM", "ID", "TD"})


def site_body(context) -> dict:
    """Whether the cart asks for a body site (required for a product that requires removal,
    offered for injections and patches) and which one the check was run with."""
    medications = [
        context.packages[u.payload.gtin].medication
        for u in context.units
        if u.kind == "medication" and u.payload.gtin in context.packages
    ]
    required = any(m.requires_removal for m in medications)
    offered = required or any(
        m.substance.site_lookback_hours or set(m.routes or ()) & SITE_ROUTES for m in medications
    )
    return {"required": required, "offered": bool(offered), "chosen": context.facts.site}


def staff_display_name(user) -> str:
    """A staff member as the ward says it: family name first (Phạm Thị Lan)."""
    return " ".join(part for part in (user.last_name, user.first_name) if part) or user.username


def witness_body(result, context) -> dict | None:
    """The second nurse of a high-alert dose, once the rules accept her: the cart shows her name."""
    if "WITNESS_REQUIRED" in result.codes():
        return None
    witness = witness_accepted(context, performer_id=context.facts.performer.id)
    return {"name": staff_display_name(witness)} if witness is not None else None


def cosigner_body(result, context) -> dict | None:
    """A student's instructor, once the rules accept her co-sign: the cart shows her name."""
    if "STUDENT_COSIGN_REQUIRED" in result.codes():
        return None
    cosigner = cosigner_accepted(context, performer_id=context.facts.performer.id)
    return {"name": staff_display_name(cosigner)} if cosigner is not None else None


def csrf_check(request) -> None:
    """What SessionAuthentication demands of a logged-in POST, demanded of the login itself: a
    page of another site must not be able to log a cart in (login CSRF)."""
    check = CSRFCheck(lambda _request: None)
    # The DRF request, as SessionAuthentication passes it: a malformed body is DRF's 4xx.
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise ApplicationError(
            gettext("Send the CSRF token (GET this URL for it) in the X-CSRFToken header."),
            code="CSRF_FAILED",
            status=403,
        )


class BadgeLoginApi(APIView):
    """A cart logs in with a badge scan and PIN: a session for the cart's ward. JSON only, with
    the CSRF token (GET gives it). No tokens: systems use OAuth2 service accounts."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(responses={200: o.CsrfOutputSerializer})
    def get(self, request):
        return Response({"csrf_token": get_token(request)})

    @extend_schema(request=s.BadgeLoginSerializer, responses={200: o.LoginOutputSerializer})
    def post(self, request):
        csrf_check(request)
        data = s.BadgeLoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        if valid["token"]:
            raise ApplicationError(
                gettext(
                    "Staff log in with a session at a cart. API tokens are issued to service "
                    "accounts by an administrator (README, Service accounts)."
                ),
                code="TOKEN_NOT_FOR_STAFF",
            )
        user = staff_authenticate_badge(
            badge=s.scan_input(valid["badge"]),
            pin=valid["pin"],
            source=request_source(request, valid["cart"]),
        )
        cart_ward_check(user, valid["ward"])
        cart_session_start(request, user, cart=valid["cart"], ward=valid["ward"])
        return Response(
            {
                "username": user.username,
                "name": user.get_full_name(),
                "display_name": staff_display_name(user),  # as the ward says it, family name first
                "roles": sorted(user.roles),
            }
        )


class BadgeReleaseApi(APIView):
    """A charge nurse (or an administrator with a badge) lets a nurse whose logins are delayed
    in: the nurse's badge, then her own badge and PIN. The nurse then logs in with her own PIN."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(request=s.BadgeReleaseSerializer, responses={200: o.ReleaseOutputSerializer})
    def post(self, request):
        csrf_check(request)
        data = s.BadgeReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        nurse = staff_login_release(
            badge=s.scan_input(data.validated_data["badge"]),
            supervisor=s.scan_input(data.validated_data["by"]),
            pin=data.validated_data["pin"],
            source=request_source(request),
        )
        return Response({"released": {"username": nurse.username, "name": nurse.get_full_name()}})


class ScanDecodeApi(APIView):
    """Image (base64 JSON or multipart `image`) or text → the symbols in it. No side effects."""

    permission_classes = [IsClinicalStaff]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(request=s.ScanSerializer, responses={200: o.DecodeOutputSerializer})
    def post(self, request):
        upload = request.FILES.get("image") if hasattr(request, "FILES") else None
        if upload is not None:
            if upload.size > settings.BARCODE_MAX_IMAGE_BYTES:
                raise ApplicationError(
                    gettext("The image is too large."), code=ImageRejected.TOO_LARGE, status=413
                )
            scan = s.ScanInput(image=upload.read())
        else:
            data = s.ScanSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            scan = data.to_scan()
        if scan.image is not None:
            try:
                symbols = decode_image(
                    scan.image,
                    max_bytes=settings.BARCODE_MAX_IMAGE_BYTES,
                    max_pixels=settings.BARCODE_MAX_IMAGE_PIXELS,
                    deadline=settings.BARCODE_DECODE_DEADLINE_SECONDS,
                )
            except ImageRejected as rejected:
                raise image_rejected_error(rejected) from rejected
            result = [
                {
                    **symbol.as_dict(),
                    **gs1.parse_scan(
                        symbol.text, symbology_id=symbol.symbology_id, is_gs1=symbol.is_gs1
                    ).as_dict(),
                    "text": symbol.text,
                }
                for symbol in symbols
            ]
        else:
            resolved: ResolvedScan = scan_resolve(
                scan, max_bytes=0, max_pixels=0, gs_substitute=settings.BARCODE_GS_SUBSTITUTE
            )
            result = [parsed.as_dict() for parsed in resolved.parsed]
        return Response({"symbols": result})


class ScanCheckApi(APIView):
    permission_classes = [MayAdminister]

    @extend_schema(request=s.CheckInputSerializer, responses={200: o.CheckOutputSerializer})
    def post(self, request):
        data = s.CheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        warnings = _clock(request, data.validated_data, "check")
        check_request = _check_request(request, data.validated_data)
        with transaction.atomic(durable=True):
            outcome = administration_check(performer=request.user, request=check_request)
        if outcome.refusal is not None:  # committed with its scan and security events
            raise outcome.refusal
        return Response({**check_body(outcome.result, outcome.context), "warnings": warnings})


class AdministrationsApi(APIView):
    """POST records a dose given; GET is the feed of every record, in the order written."""

    system_scope = "administrations.read"  # the feed, for a service account's token

    def get_permissions(self):
        if self.request.method == "GET":
            return [(IsClinicalStaff | SystemScope)()]
        return [MayAdminister()]

    @extend_schema(request=s.RecordInputSerializer, responses={201: o.RecordOutputSerializer})
    @idempotent(endpoint="administrations")
    def post(self, request) -> tuple[int, dict]:
        data = s.RecordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        warnings = _clock(request, valid, "administrations")
        check_request = _check_request(request, valid)
        outcome = administration_record(
            performer=request.user,
            request=check_request,
            overrides=[
                OverrideInput(override["code"], override["reason"], override.get("comment", ""))
                for override in valid["overrides"]
            ],
            amount=Quantity(valid["amount"], valid["unit"]) if "amount" in valid else None,
            route=valid.get("route", ""),
            site=valid.get("site", ""),
            waste=_waste_input(valid["waste"]) if valid.get("waste") else None,
        )
        if outcome.refusal_status is not None:  # a break-the-glass refused: nothing shown
            return outcome.refusal_status, error_body(
                outcome.refusal_code, outcome.refusal_message, outcome.details
            )
        if outcome.administration is None:
            status = refusals.status_of(outcome.refusal_code, otherwise=422)
            check = check_body(outcome.result, outcome.context)
            return status, {
                "error": {
                    "code": outcome.refusal_code,
                    "message": outcome.refusal_message,
                    "details": {
                        **outcome.details,
                        "findings": check.get("findings", []),
                        "verdict": check.get("verdict"),
                    },
                }
            }
        return 201, {
            **s.AdministrationOutputSerializer(outcome.administration).data,
            "waste": s.WasteOutputSerializer(outcome.waste).data if outcome.waste else None,
            "warnings": warnings,
        }

    @extend_schema(
        responses={200: s.AdministrationFeedPageSerializer},
        parameters=[
            OpenApiParameter("since", str, description="ISO 8601: records written since then"),
            OpenApiParameter("ward", str, description="ward code"),
            OpenApiParameter("cursor", str, description="the `next` link's cursor"),
        ],
    )
    @reads_from_replica
    def get(self, request):
        queryset = Administration.objects.select_related(
            "patient",
            "order__medication",
            "scheduled_dose",
            "performer",
            "witness",
            "cosigner",
            "corrects",
            "replaces",
        ).prefetch_related("units", "overrides", "assessments")
        since = request.query_params.get("since")
        if since:
            try:
                moment = datetime.fromisoformat(since)
            except ValueError as error:
                raise ApplicationError(
                    gettext("since is an ISO 8601 date-time."), code="INVALID_INPUT"
                ) from error
            if not 1900 <= moment.year <= 2200:
                raise ApplicationError(gettext("since is out of range."), code="INVALID_INPUT")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            queryset = queryset.filter(created_at__gte=moment)
        if request.query_params.get("ward"):
            ward = Ward.objects.filter(code=request.query_params["ward"]).first()
            if ward is not None:
                ward_read_check(user=request.user, ward=ward)
            queryset = queryset.filter(admission__ward__code=request.query_params["ward"])
        queryset = administrations_visible(user=request.user, queryset=queryset)
        paginator = FeedPagination()
        try:
            with warnings.catch_warnings():
                # A cursor this API wrote carries its time zone: a naive one was made up.
                warnings.simplefilter("error", RuntimeWarning)
                page = paginator.paginate_queryset(queryset, request, view=self)
        except (OverflowError, DjangoValidationError, RuntimeWarning) as error:
            raise ApplicationError(
                gettext("The cursor is not valid."), code="INVALID_CURSOR"
            ) from error
        return paginator.get_paginated_response(
            s.AdministrationOutputSerializer(page, many=True).data
        )


class AdministrationNotGivenApi(APIView):
    permission_classes = [MayAdminister]

    @extend_schema(request=s.NotGivenInputSerializer, responses={201: o.NotGivenOutputSerializer})
    @idempotent(endpoint="administrations/not-given")
    def post(self, request) -> tuple[int, dict]:
        data = s.NotGivenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        warnings = _clock(request, valid, "administrations/not-given")
        order = get_object_or_404(
            MedicationOrder.objects.select_related("admission"), external_id=valid["order"]
        )
        dose = None
        if valid.get("scheduled_dose"):
            dose = get_object_or_404(ScheduledDose, external_id=valid["scheduled_dose"])

        # Before the service: a refusal commits its security event and shows nobody.
        try:
            break_glass_record(
                user=request.user,
                admission=order.admission,
                reason=AccessReason.NOT_GIVEN,
                cart=valid["cart"],
                band_keyed=s.scan_input(valid["patient"]).keyed,
                cart_session=bool(getattr(request, "session", {}).get("ward")),
            )
        except (BreakGlassNeedsScanError, BreakGlassLimitError) as refused:
            return refused.status, error_body(refused.code, refused.message, refused.details)
        administration = administration_not_given(
            performer=request.user,
            patient=s.scan_input(valid["patient"]),
            order=order,
            reason=valid["reason"],
            comment=valid["comment"],
            scheduled_dose=dose,
            cart=valid["cart"],
            assessments=s.assessment_values(valid),
        )
        return 201, {
            **s.AdministrationOutputSerializer(administration).data,
            "warnings": warnings,
        }


class AdministrationRemoveApi(APIView):
    """POST documents a patch, ring or implant taken off (scanned label or documented)."""

    permission_classes = [MayAdminister]

    @extend_schema(request=s.RemovalInputSerializer, responses={201: s.RemovalOutputSerializer})
    @idempotent(endpoint="administrations/{external_id}/remove")
    def post(self, request, external_id) -> tuple[int, dict]:
        data = s.RemovalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        warnings = _clock(request, valid, "administrations/remove")
        record = get_object_or_404(
            Administration.objects.select_related("admission", "patient"), external_id=external_id
        )
        patient_read_check(
            user=request.user,
            patient_id=record.patient_id,
            record_ward_id=record.admission.ward_id,
        )
        removal = removal_record(
            performer=request.user,
            administration=record,
            patient=s.scan_input(valid["patient"]),
            medication=s.scan_input(valid["medication"]) if valid.get("medication") else None,
            site=valid["site"],
            comment=valid["comment"],
            cart=valid["cart"] or getattr(request, "session", {}).get("cart", ""),
        )
        return 201, {**s.RemovalOutputSerializer(removal).data, "warnings": warnings}


def worn_body(patient) -> list[dict]:
    """The patient's patches, rings and implants on now, for the cart."""
    lang = language()
    return [
        {
            "administration": str(row["administration"].external_id),
            "medication": row["medication"],
            "site": row["site"],
            "site_name": site_label(row["site"], lang),
            "applied_at": timezone.localtime(row["applied_at"]).isoformat(),
            "due_at": timezone.localtime(row["due_at"]).isoformat() if row["due_at"] else None,
            "overdue": row["overdue"],
        }
        for row in worn_list(patient=patient)
    ]


class AdministrationOutcomeApi(APIView):
    """What became of the calling nurse's request sent with an Idempotency-Key, for a cart whose
    answer was lost: "recorded" or "refused" with the kept answer, or "not_recorded" (nothing was
    kept, and the key is now closed so nothing ever will be)."""

    permission_classes = [MayAdminister]

    @extend_schema(request=s.OutcomeInputSerializer, responses={200: o.OutcomeOutputSerializer})
    def post(self, request):
        data = s.OutcomeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = idempotent_outcome(user=request.user, key=data.validated_data["idempotency_key"])
        if row is None:
            return Response({"outcome": "not_recorded"})
        return Response(
            {
                "outcome": "recorded" if 200 <= row.response_status < 300 else "refused",
                "endpoint": row.endpoint,
                "status": row.response_status,
                "answer": row.response_body,
            }
        )


def _waste_input(data) -> WasteInput:
    return WasteInput(
        amount=Quantity(data["amount"], data["unit"]),
        reason=data["reason"],
        comment=data.get("comment", ""),
    )


class AdministrationWasteApi(APIView):
    """POST documents waste of a record's units after the record; one waste per record."""

    permission_classes = [MayAdminister]

    @extend_schema(
        request=s.WasteRecordInputSerializer, responses={201: o.WasteRecordOutputSerializer}
    )
    @idempotent(endpoint="administrations/{external_id}/waste")
    def post(self, request, external_id) -> tuple[int, dict]:
        data = s.WasteRecordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        warnings = _clock(request, valid, "administrations/waste")
        administration = get_object_or_404(
            Administration.objects.select_related("admission"), external_id=external_id
        )
        if administration.performer_id != request.user.pk:
            patient_read_check(
                user=request.user,
                patient_id=administration.patient_id,
                record_ward_id=administration.admission.ward_id,
            )
        witness_verified_id = None
        if valid.get("witness") and valid.get("witness_pin"):
            session = getattr(request, "session", {})
            witness_verified_id = witness_authenticate(
                witness=s.scan_input(valid["witness"]),
                pin=valid["witness_pin"],
                source=request_source(request, session.get("cart", "")),
            )
        waste = administration_waste_record(
            performer=request.user,
            administration=administration,
            waste=_waste_input(valid),
            witness=s.scan_input(valid["witness"]) if valid.get("witness") else None,
            witness_verified_id=witness_verified_id,
            cart=valid["cart"],
        )
        return 201, {**s.WasteOutputSerializer(waste).data, "warnings": warnings}


class AdministrationCorrectApi(APIView):
    permission_classes = [MayAdminister]

    @extend_schema(request=s.CorrectInputSerializer, responses={201: o.CorrectOutputSerializer})
    @idempotent(endpoint="administrations/{external_id}/correct")
    def post(self, request, external_id) -> tuple[int, dict]:
        data = s.CorrectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        warnings = _clock(request, valid, "administrations/correct")
        if ("replacement_amount" in valid) != ("replacement_unit" in valid):
            raise ApplicationError(
                gettext("Send replacement_amount and replacement_unit together."),
                code="INVALID_INPUT",
            )
        original = get_object_or_404(
            Administration.objects.select_related("admission"), external_id=external_id
        )
        if original.performer_id != request.user.pk:
            # A charge nurse corrects the records of her wards; the recording nurse her own.
            patient_read_check(
                user=request.user,
                patient_id=original.patient_id,
                record_ward_id=original.admission.ward_id,
            )

        withdrawal, replacement = administration_correct(
            performer=request.user,
            administration=original,
            reason=valid["reason"],
            comment=valid["comment"],
            replacement_amount=Quantity(valid["replacement_amount"], valid["replacement_unit"])
            if "replacement_amount" in valid
            else None,
            overrides=[
                OverrideInput(o["code"], o["reason"], o.get("comment", ""))
                for o in valid["overrides"]
            ],
        )
        return 201, {
            "entered_in_error": s.AdministrationOutputSerializer(withdrawal).data,
            "replacement": s.AdministrationOutputSerializer(replacement).data
            if replacement
            else None,
            "warnings": warnings,
        }


class PatientMarApi(APIView):
    permission_classes = [IsClinicalStaff]

    @extend_schema(responses={200: o.MarOutputSerializer})
    def get(self, request, mrn):
        patient = patient_by_mrn_for(user=request.user, mrn=mrn)
        # An unknown MRN is refused to ward-scoped staff like another ward's patient.
        patient_read_check(user=request.user, patient_id=patient.pk if patient else None)
        if patient is None:
            raise Http404
        day = _date_param(request.query_params.get("date"))
        mar = mar_get(patient=patient, day=day)
        now = timezone.now()
        flags = mar_order_flags(patient=patient, orders=mar["orders"], now=now)
        admission = mar["admission"]
        by_dose: dict[int, list] = {}
        for administration in mar["administrations"]:
            by_dose.setdefault(administration.scheduled_dose_id, []).append(administration)
        withdrawn = {a.corrects_id for a in mar["administrations"] if a.corrects_id}
        requested = missing_dose_requests_by_dose(
            orders=mar["orders"],
            due_ats=[dose.due_at for order in mar["orders"] for dose in order.day_doses],
        )
        return Response(
            {
                "patient": patient_body(patient, mar["admission"]),
                "date": day.isoformat(),
                "admission": {
                    "ward": admission.ward.code,
                    "bed": admission.bed.code if admission.bed else None,
                    "admitted_at": admission.admitted_at,
                    "transfer": transfer_notice(admission),
                }
                if admission
                else None,
                "orders": [
                    {
                        "id": str(order.external_id),
                        "medication": order.medication.name,
                        "dose": _quantity(order.dose_value, order.dose_unit),
                        "dose_per_kg": _per_kg(order.dose_per_kg, order.dose_unit),
                        "max_dose_per_kg": _per_kg(order.max_dose_per_kg, order.dose_unit),
                        "route": order.route,
                        "route_name": getattr(route_names(order.route), language()),
                        "allergies": [
                            {"name": a.name, "severity": a.severity}
                            for a in flags[order.pk]["allergies"]
                        ],
                        "prn": _prn_times(order, flags[order.pk]) if order.is_prn else None,
                        "schedule": order.schedule_kind,
                        "times_of_day": order.times_of_day,
                        "interval_hours": order.interval_hours,
                        "prn_indication": order.prn_indication,
                        "status": order.status,
                        "verbal": verbal_order_body(order),
                        "doses": [
                            {
                                "id": str(dose.external_id),
                                "due_at": timezone.localtime(dose.due_at).isoformat(),
                                "state": dose.state,
                                "timing": dose_timing(dose, ward=admission.ward, now=now),
                                "administrations": [
                                    str(a.external_id) for a in by_dose.get(dose.pk, [])
                                ],
                                "records": dose_records(
                                    by_dose.get(dose.pk, []), withdrawn, user=request.user, now=now
                                ),
                                "missing_request": missing_request_body(
                                    requested.get((order.pk, dose.due_at))
                                ),
                                "old_ward": old_ward_of(admission, dose.due_at),
                            }
                            for dose in order.day_doses
                        ],
                    }
                    for order in mar["orders"]
                ],
                "administrations": s.AdministrationOutputSerializer(
                    mar["administrations"], many=True
                ).data,
                "worn": worn_body(patient),
                "reassessments_due": reassessments_due_body(patient, now=now),
            }
        )


def reassessments_due_body(patient, *, now) -> list[dict]:
    """The patient's PRN doses to reassess: overdue, and due within the worklist's hours ahead."""
    return [
        {
            "administration": str(item.record.external_id),
            "medication": item.record.order.medication.name,
            "amount": _quantity(item.record.amount, item.record.unit),
            "prn_reason": item.record.prn_reason,
            "given_at": timezone.localtime(item.record.administered_at).isoformat(),
            "due_at": timezone.localtime(item.due_at).isoformat(),
            "overdue": item.overdue(now),
            "pain_score_required": item.record.order.pain_score_asked,
        }
        for item in reassessments_due(
            now=now,
            until=now + timedelta(hours=settings.CART_WORKLIST_HOURS_AHEAD),
            patient_id=patient.pk,
        )
    ]


def _prn_times(order, flags: dict) -> dict:
    last, allowed = flags["last_given_at"], flags["next_allowed_at"]
    return {
        "indications": order.prn_indications_offered,
        "last_doses": [
            {
                "given_at": timezone.localtime(prior.administered_at).isoformat(),
                "amount": _quantity(prior.amount, prior.unit),
            }
            for prior in flags["last_doses"]
        ],
        "last_given_at": timezone.localtime(last).isoformat() if last else None,
        "next_allowed_at": timezone.localtime(allowed).isoformat() if allowed else None,
        "allowed_now": flags["allowed_now"],
        "min_interval_minutes": order.prn_min_interval_minutes,
        "max_per_24h": _quantity(order.prn_max_per_24h, order.dose_unit),
    }


class PatientRecentRecordsApi(APIView):
    """The patient's records of the last 72 hours, newest first: one tap away at the cart."""

    permission_classes = [IsClinicalStaff]
    HOURS = 72

    @extend_schema(responses={200: o.RecentRecordsOutputSerializer})
    def get(self, request, mrn):
        patient = patient_by_mrn_for(user=request.user, mrn=mrn)
        patient_read_check(user=request.user, patient_id=patient.pk if patient else None)
        if patient is None:
            raise Http404
        records = administration_list_recent(
            patient=patient, since=timezone.now() - timedelta(hours=self.HOURS)
        )
        return Response(
            {
                "hours": self.HOURS,
                "records": [
                    {
                        "id": str(record.external_id),
                        "medication": record.order.medication.name,
                        "amount": _quantity(record.amount, record.unit),
                        "route_name": getattr(route_names(record.route), language())
                        if record.route
                        else "",
                        "status": record.status,
                        "status_label": record.get_status_display(),
                        "reason_label": _reason_label(record),
                        "at": timezone.localtime(record.administered_at).isoformat(),
                        "due_at": timezone.localtime(record.scheduled_dose.due_at).isoformat()
                        if record.scheduled_dose
                        else None,
                        "by": record.performer.get_full_name() or record.performer.username,
                    }
                    for record in records
                ],
            }
        )


def _reason_label(record) -> str:
    if record.status == AdministrationStatus.NOT_DONE and record.reason in NotGivenReason.values:
        return str(NotGivenReason(record.reason).label)
    if (
        record.status == AdministrationStatus.ENTERED_IN_ERROR
        and record.reason in CorrectionReason.values
    ):
        return str(CorrectionReason(record.reason).label)
    return ""


def dose_records(records, withdrawn: set[int], *, user, now) -> list[dict]:
    """What the cart's dose row says was recorded: given or not given (with the reason), when, by
    whom, and until when the nurse herself may still mark it entered in error."""
    shown = []
    for record in records:
        if record.status == AdministrationStatus.ENTERED_IN_ERROR or record.pk in withdrawn:
            continue
        mine = record.performer_id == user.pk
        deadline = correction_deadline(record)
        shown.append(
            {
                "id": str(record.external_id),
                "status": record.status,
                "status_label": record.get_status_display(),
                "reason": record.reason,
                "reason_label": _reason_label(record),
                "comment": record.comment,
                "at": timezone.localtime(record.administered_at).isoformat(),
                "by": record.performer.get_full_name() or record.performer.username,
                "mine": mine,
                "correctable_until": timezone.localtime(deadline).isoformat()
                if mine and now <= deadline
                else None,
            }
        )
    return shown


class WardDueApi(APIView):
    permission_classes = [IsClinicalStaff]

    @extend_schema(responses={200: o.WardDueOutputSerializer})
    def get(self, request, code):
        ward = get_object_or_404(Ward, code=code)
        ward_read_check(user=request.user, ward=ward)
        try:
            hours = int(request.query_params.get("window", "4"))
        except ValueError as error:
            raise ApplicationError(
                gettext("window is a number of hours."), code="INVALID_INPUT"
            ) from error
        if not 1 <= hours <= 48:
            raise ApplicationError(
                gettext("window must be between 1 and 48 hours."), code="INVALID_INPUT"
            )
        rows = dose_list_due_for_ward(ward=ward, now=timezone.now(), hours_ahead=hours)
        return Response(
            {
                "ward": ward.code,
                "doses": [
                    {
                        "id": str(row["dose"].external_id),
                        "status": row["status"],
                        "due_at": timezone.localtime(row["dose"].due_at).isoformat(),
                        "patient": {
                            "mrn": row["dose"].order.admission.mrn,
                            "full_name": row["dose"].order.admission.patient.full_name,
                        },
                        "bed": row["dose"].order.admission.bed.code
                        if row["dose"].order.admission.bed
                        else None,
                        "medication": row["dose"].order.medication.name,
                        "dose": _quantity(
                            row["dose"].order.dose_value, row["dose"].order.dose_unit
                        ),
                        "route": row["dose"].order.route,
                    }
                    for row in rows
                ],
            }
        )


class WardWorklistApi(APIView):
    """The cart's ward worklist, shown before a wristband is scanned so that the nurse plans her
    round (scanning.selectors.ward_worklist). Read only: the cart opens a patient on the wristband
    scan alone, never from a row."""

    permission_classes = [MayAdminister]

    @extend_schema(responses={200: o.WardWorklistOutputSerializer})
    def get(self, request, code):
        ward = get_object_or_404(Ward, code=code)
        ward_read_check(user=request.user, ward=ward)
        now = timezone.now()
        rows = ward_worklist(
            ward=ward,
            now=now,
            hours_before=settings.CART_WORKLIST_HOURS_BEFORE,
            hours_ahead=settings.CART_WORKLIST_HOURS_AHEAD,
        )
        lang = language()
        return Response(
            {
                "ward": ward.code,
                "generated_at": timezone.localtime(now).isoformat(),
                "hours_before": settings.CART_WORKLIST_HOURS_BEFORE,
                "hours_ahead": settings.CART_WORKLIST_HOURS_AHEAD,
                "rows": [worklist_row_body(row, lang) for row in rows],
            }
        )


def verbal_order_body(order) -> dict | None:
    """A verbal or telephone order's flag as the cart shows it: unsigned until cosigned_at."""
    if not order.is_verbal:
        return None
    return {
        "kind": order.verbal_kind,
        "prescriber": order.prescriber_name,
        "documented_at": timezone.localtime(order.created_at).isoformat(),
        "documented_by": staff_name(order.documented_by),
        "cosigned_at": timezone.localtime(order.cosigned_at).isoformat()
        if order.cosigned_at
        else None,
    }


def worklist_row_body(row, lang: str) -> dict:
    order = row.order
    return {
        "kind": row.kind,
        "due_at": timezone.localtime(row.due_at).isoformat(),
        "overdue": row.overdue,
        "status": row.status,
        "patient": {"mrn": row.mrn, "full_name": row.patient.full_name},
        "bed": row.bed.code if row.bed else None,
        "medication": order.medication.name,
        "dose": _quantity(order.dose_value, order.dose_unit),
        "route": order.route,
        "route_name": getattr(route_names(order.route), lang),
        "detail": site_label(row.detail, lang) if row.kind == WorklistKind.REMOVAL else row.detail,
        "pending": list(row.pending),
        "schedule": order.schedule_kind,
        "verbal_unsigned": order.verbal_unsigned,
    }


class FeedPagination(CursorPagination):
    ordering = ("created_at", "pk")
    page_size = 100


def _date_param(value):
    if not value:
        return timezone.localdate()
    try:
        # only the date is kept; fromisoformat would also take "20261124"
        day = datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007
    except ValueError as error:
        raise ApplicationError(gettext("date is YYYY-MM-DD."), code="INVALID_INPUT") from error
    if not 1900 <= day.year <= 2200:
        raise ApplicationError(gettext("date is out of range."), code="INVALID_INPUT")
    return day


def unrecorded_check_body(event) -> dict:
    """A check scanned but not recorded, as the cart lists it (scanning.selectors.checks_unrecorded)."""
    checked = event.checked_dose
    order = checked.order
    admission = order.admission
    dose = checked.scheduled_dose
    return {
        "id": str(event.external_id),
        "checked_at": timezone.localtime(event.created_at).isoformat(),
        "verdict": event.verdict,
        "nurse": staff_display_name(event.performer),
        "patient": {"mrn": admission.mrn, "full_name": event.patient.full_name},
        "bed": admission.bed.code if admission.bed else None,
        "medication": order.medication.name,
        "dose": _quantity(order.dose_value, order.dose_unit),
        "route": order.route,
        "route_name": getattr(route_names(order.route), language()),
        "due_at": timezone.localtime(dose.due_at).isoformat() if dose is not None else None,
    }


class UnrecordedChecksApi(APIView):
    """The nurse's own checks that said GO or WARN and that nothing followed ("scanned but not
    recorded"), however recent: the cart shows them when she logs in. The ward dashboard lists a
    ward's once UNRECORDED_CHECK_MINUTES old."""

    permission_classes = [MayAdminister]

    @extend_schema(responses={200: o.UnrecordedChecksOutputSerializer})
    def get(self, request):
        events = checks_unrecorded(
            now=timezone.now(),
            older_than=timedelta(0),
            lookback=timedelta(hours=settings.UNRECORDED_CHECK_LOOKBACK_HOURS),
            performer=request.user,
        )
        return Response({"checks": [unrecorded_check_body(event) for event in events]})


class UnrecordedCheckAcknowledgeApi(APIView):
    """The nurse answers for a check scanned but not recorded: it leaves the lists (audited)."""

    permission_classes = [MayAdminister]

    @extend_schema(
        request=s.UnrecordedAcknowledgeInputSerializer,
        responses={201: o.AcknowledgeOutputSerializer},
    )
    def post(self, request, external_id):
        data = s.UnrecordedAcknowledgeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = get_object_or_404(
            ScanEvent.objects.filter(purpose=ScanPurpose.CHECK), external_id=external_id
        )
        with transaction.atomic(durable=True):
            acknowledgement = unrecorded_check_acknowledge(
                by=request.user,
                scan_event=event,
                reason=data.validated_data["reason"],
                comment=data.validated_data["comment"],
            )
        return Response(
            {
                "id": str(event.external_id),
                "reason": acknowledgement.reason,
                "by": staff_display_name(request.user),
                "at": timezone.localtime(acknowledgement.created_at).isoformat(),
            },
            status=201,
        )
