from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import login
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hospital import gs1
from hospital.exceptions import ApplicationError
from hospital.models import AccessReason
from pharmacy.models import MedicationOrder, ScheduledDose
from scanning.access import (
    administrations_visible,
    break_glass_record,
    patient_read_check,
    ward_read_check,
)
from scanning.api import serializers as s
from scanning.api.clock import clock_warnings
from scanning.api.idempotency import idempotency_key, idempotent_call
from scanning.api.permissions import IsClinicalStaff, MayAdminister
from scanning.barcodes import ImageRejected, decode_image
from scanning.dose import Quantity
from scanning.models import Administration
from scanning.scans import ResolvedScan, image_rejected_error, scan_resolve
from scanning.selectors import dose_list_due_for_ward, dose_timing, mar_get
from scanning.services import (
    BadgeLoginFailedError,
    CheckRequest,
    OverrideInput,
    administration_check,
    administration_correct,
    administration_not_given,
    administration_record,
    finding_as_dict,
    staff_authenticate_badge,
)
from wards.models import Patient, Ward


def ward_session_check(user, ward_code: str) -> None:
    """A nurse's session is a cart's: it names one of her wards, or WRONG_WARD could never warn."""
    if not ward_code:
        if user.may_administer:
            raise ApplicationError(
                "Choose the ward of this cart.", code="WARD_REQUIRED", details={"field": "ward"}
            )
        return
    if not user.wards.filter(code=ward_code).exists():
        raise ApplicationError(
            "You are not assigned to this ward.", code="WARD_NOT_ASSIGNED", status=403
        )


def language() -> str:
    return "en" if (translation.get_language() or "vi").startswith("en") else "vi"


def _check_request(request, data) -> CheckRequest:
    """The cart's ward comes from its login session (checked against the nurse's wards), never
    from the request body: a client must not be able to switch WRONG_WARD off."""
    session = getattr(request, "session", {})
    order_id = None
    if data.get("order"):
        order_id = (
            MedicationOrder.objects.filter(external_id=data["order"])
            .values_list("pk", flat=True)
            .first()
        )
        if order_id is None:
            raise ApplicationError("Unknown order.", code="ORDER_UNKNOWN", status=404)
    witness_pin = data.get("witness_pin", "")
    if data.get("witness") and witness_pin:
        # The witness's PIN is a login like any other: failures count towards the badge's lockout,
        # and a locked badge cannot witness even with the right PIN.
        try:
            staff_authenticate_badge(
                request=request, badge=s.scan_input(data["witness"]), pin=witness_pin
            )
        except BadgeLoginFailedError:
            witness_pin = ""
    return CheckRequest(
        patient=s.scan_input(data["patient"]),
        medications=tuple(s.scan_input(scan) for scan in data.get("medications", [])),
        witness=s.scan_input(data["witness"]) if data.get("witness") else None,
        witness_pin=witness_pin,
        order_id=order_id,
        cart=data.get("cart") or session.get("cart", ""),
        ward_code=session.get("ward") or None,
    )


def _break_glass(request, context, reason: str, cart: str) -> None:
    """A scanned, active wristband of a patient outside the user's wards is logged (and opens the
    patient's record to her for a while); see scanning/access.py."""
    admission = context.admission if context.facts.band_active else None
    break_glass_record(
        user=request.user,
        admission=admission,
        reason=reason,
        cart=cart,
        on_assigned_ward=context.performer_on_ward,
    )


def _clock(request, valid, endpoint: str) -> list[dict]:
    """Warnings about the cart's clock: logged and answered, never the time of the record."""
    cart = valid.get("cart") or getattr(request, "session", {}).get("cart", "")
    return clock_warnings(client_time=valid.get("client_time"), cart=cart, endpoint=endpoint)


def _fingerprinted(data):
    """What a retry must repeat: not the cart's clock reading, which a resent request renews."""
    data = data.copy()
    data.pop("client_time", None)
    return data


def _quantity(value, unit) -> str | None:
    if value is None:
        return None
    return f"{Decimal(value).normalize():f} {unit}"


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
            "mrn": patient.mrn,
            "full_name": patient.full_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
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
        }
        if patient is not None
        else None,
        "order": {
            "id": str(order.external_id),
            "medication": order.medication.name,
            "dose": _quantity(order.dose_value, order.dose_unit),
            "route": order.route,
            "status": order.status,
            "prn": order.is_prn,
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
    }


class BadgeLoginApi(APIView):
    """A cart logs in with a badge scan and PIN (session); an API client may ask for a token."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=s.BadgeLoginSerializer, responses={200: dict})
    def post(self, request):
        data = s.BadgeLoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = staff_authenticate_badge(
            request=request,
            badge=s.scan_input(data.validated_data["badge"]),
            pin=data.validated_data["pin"],
        )
        body = {
            "username": user.username,
            "name": user.get_full_name(),
            "roles": sorted(user.roles),
        }
        if data.validated_data["token"]:
            body["token"] = Token.objects.get_or_create(user=user)[0].key
        else:
            ward_session_check(user, data.validated_data["ward"])
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session["cart"] = data.validated_data["cart"]
            request.session["ward"] = data.validated_data["ward"]
        return Response(body)


class ScanDecodeApi(APIView):
    """Image (base64 JSON or multipart `image`) or text → the symbols in it. No side effects."""

    permission_classes = [IsClinicalStaff]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(request=s.ScanSerializer, responses={200: dict})
    def post(self, request):
        upload = request.FILES.get("image") if hasattr(request, "FILES") else None
        if upload is not None:
            if upload.size > settings.BARCODE_MAX_IMAGE_BYTES:
                raise ApplicationError(
                    "The image is too large.", code=ImageRejected.TOO_LARGE, status=413
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

    @extend_schema(request=s.CheckInputSerializer, responses={200: dict})
    def post(self, request):
        data = s.CheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        warnings = _clock(request, data.validated_data, "check")
        check_request = _check_request(request, data.validated_data)
        with transaction.atomic(durable=True):
            outcome = administration_check(performer=request.user, request=check_request)
            _break_glass(request, outcome.context, AccessReason.WRISTBAND_CHECK, check_request.cart)
        return Response({**check_body(outcome.result, outcome.context), "warnings": warnings})


class AdministrationsApi(APIView):
    """POST records a dose given; GET is the feed of every record, in the order written."""

    def get_permissions(self):
        return [IsClinicalStaff()] if self.request.method == "GET" else [MayAdminister()]

    @extend_schema(
        request=s.RecordInputSerializer, responses={201: s.AdministrationOutputSerializer}
    )
    def post(self, request):
        data = s.RecordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = idempotency_key(request)
        valid = data.validated_data
        warnings = _clock(request, valid, "administrations")

        def run() -> tuple[int, dict]:
            check_request = _check_request(request, valid)
            outcome = administration_record(
                performer=request.user,
                request=check_request,
                overrides=[
                    OverrideInput(o["code"], o["reason"], o.get("comment", ""))
                    for o in valid["overrides"]
                ],
                amount=Quantity(valid["amount"], valid["unit"]) if "amount" in valid else None,
                route=valid.get("route", ""),
                site=valid.get("site", ""),
            )
            _break_glass(request, outcome.context, AccessReason.ADMINISTRATION, check_request.cart)
            if outcome.administration is None:
                status = 409 if outcome.refusal_code == "ALREADY_GIVEN" else 422
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
                "warnings": warnings,
            }

        status, body = idempotent_call(
            user=request.user,
            key=key,
            endpoint="administrations",
            data=_fingerprinted(request.data),
            run=run,
        )
        return Response(body, status=status)

    @extend_schema(
        responses={200: s.AdministrationFeedPageSerializer},
        parameters=[
            OpenApiParameter("since", str, description="ISO 8601: records written since then"),
            OpenApiParameter("ward", str, description="ward code"),
            OpenApiParameter("cursor", str, description="the `next` link's cursor"),
        ],
    )
    def get(self, request):
        queryset = Administration.objects.select_related(
            "patient",
            "order__medication",
            "scheduled_dose",
            "performer",
            "witness",
            "corrects",
            "replaces",
        ).prefetch_related("units", "overrides")
        since = request.query_params.get("since")
        if since:
            try:
                moment = datetime.fromisoformat(since)
            except ValueError as error:
                raise ApplicationError(
                    "since is an ISO 8601 date-time.", code="INVALID_INPUT"
                ) from error
            if not 1900 <= moment.year <= 2200:
                raise ApplicationError("since is out of range.", code="INVALID_INPUT")
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
            page = paginator.paginate_queryset(queryset, request, view=self)
        except (OverflowError, DjangoValidationError) as error:
            raise ApplicationError("The cursor is not valid.", code="INVALID_CURSOR") from error
        return paginator.get_paginated_response(
            s.AdministrationOutputSerializer(page, many=True).data
        )


class AdministrationNotGivenApi(APIView):
    permission_classes = [MayAdminister]

    @extend_schema(
        request=s.NotGivenInputSerializer, responses={201: s.AdministrationOutputSerializer}
    )
    def post(self, request):
        data = s.NotGivenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = idempotency_key(request)
        valid = data.validated_data
        warnings = _clock(request, valid, "administrations/not-given")
        order = get_object_or_404(
            MedicationOrder.objects.select_related("admission"), external_id=valid["order"]
        )
        dose = None
        if valid.get("scheduled_dose"):
            dose = get_object_or_404(ScheduledDose, external_id=valid["scheduled_dose"])

        def run() -> tuple[int, dict]:
            administration = administration_not_given(
                performer=request.user,
                patient=s.scan_input(valid["patient"]),
                order=order,
                reason=valid["reason"],
                comment=valid["comment"],
                scheduled_dose=dose,
                cart=valid["cart"],
            )
            # The service refuses unless the scanned band is the order's patient's active one.
            break_glass_record(
                user=request.user,
                admission=order.admission,
                reason=AccessReason.NOT_GIVEN,
                cart=valid["cart"],
            )
            return 201, {
                **s.AdministrationOutputSerializer(administration).data,
                "warnings": warnings,
            }

        status, body = idempotent_call(
            user=request.user,
            key=key,
            endpoint="administrations/not-given",
            data=_fingerprinted(request.data),
            run=run,
        )
        return Response(body, status=status)


class AdministrationCorrectApi(APIView):
    permission_classes = [MayAdminister]

    @extend_schema(request=s.CorrectInputSerializer, responses={201: dict})
    def post(self, request, external_id):
        data = s.CorrectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        warnings = _clock(request, valid, "administrations/correct")
        if ("replacement_amount" in valid) != ("replacement_unit" in valid):
            raise ApplicationError(
                "Send replacement_amount and replacement_unit together.", code="INVALID_INPUT"
            )
        key = idempotency_key(request)
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

        def run() -> tuple[int, dict]:
            withdrawal, replacement = administration_correct(
                performer=request.user,
                administration=original,
                reason=valid["reason"],
                comment=valid["comment"],
                replacement_amount=Quantity(valid["replacement_amount"], valid["replacement_unit"])
                if "replacement_amount" in valid
                else None,
            )
            return 201, {
                "entered_in_error": s.AdministrationOutputSerializer(withdrawal).data,
                "replacement": s.AdministrationOutputSerializer(replacement).data
                if replacement
                else None,
                "warnings": warnings,
            }

        status, body = idempotent_call(
            user=request.user,
            key=key,
            endpoint=f"administrations/{original.external_id}/correct",
            data=_fingerprinted(request.data),
            run=run,
        )
        return Response(body, status=status)


class PatientMarApi(APIView):
    permission_classes = [IsClinicalStaff]

    @extend_schema(responses={200: dict})
    def get(self, request, mrn):
        patient = Patient.objects.filter(mrn=mrn).first()
        # An unknown MRN is refused to ward-scoped staff like another ward's patient.
        patient_read_check(user=request.user, patient_id=patient.pk if patient else None)
        if patient is None:
            raise Http404
        day = _date_param(request.query_params.get("date"))
        mar = mar_get(patient=patient, day=day)
        now = timezone.now()
        admission = mar["admission"]
        by_dose: dict[int, list] = {}
        for administration in mar["administrations"]:
            by_dose.setdefault(administration.scheduled_dose_id, []).append(administration)
        return Response(
            {
                "patient": {
                    "mrn": patient.mrn,
                    "full_name": patient.full_name,
                    "date_of_birth": patient.date_of_birth.isoformat(),
                },
                "date": day.isoformat(),
                "admission": {
                    "ward": admission.ward.code,
                    "bed": admission.bed.code if admission.bed else None,
                    "admitted_at": admission.admitted_at,
                }
                if admission
                else None,
                "orders": [
                    {
                        "id": str(order.external_id),
                        "medication": order.medication.name,
                        "dose": _quantity(order.dose_value, order.dose_unit),
                        "route": order.route,
                        "schedule": order.schedule_kind,
                        "times_of_day": order.times_of_day,
                        "interval_hours": order.interval_hours,
                        "prn_indication": order.prn_indication,
                        "status": order.status,
                        "doses": [
                            {
                                "id": str(dose.external_id),
                                "due_at": timezone.localtime(dose.due_at).isoformat(),
                                "state": dose.state,
                                "timing": dose_timing(dose, ward=admission.ward, now=now),
                                "administrations": [
                                    str(a.external_id) for a in by_dose.get(dose.pk, [])
                                ],
                            }
                            for dose in order.day_doses
                        ],
                    }
                    for order in mar["orders"]
                ],
                "administrations": s.AdministrationOutputSerializer(
                    mar["administrations"], many=True
                ).data,
            }
        )


class WardDueApi(APIView):
    permission_classes = [IsClinicalStaff]

    @extend_schema(responses={200: dict})
    def get(self, request, code):
        ward = get_object_or_404(Ward, code=code)
        ward_read_check(user=request.user, ward=ward)
        try:
            hours = int(request.query_params.get("window", "4"))
        except ValueError as error:
            raise ApplicationError("window is a number of hours.", code="INVALID_INPUT") from error
        if not 1 <= hours <= 48:
            raise ApplicationError("window must be between 1 and 48 hours.", code="INVALID_INPUT")
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
                            "mrn": row["dose"].order.admission.patient.mrn,
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


class FeedPagination(CursorPagination):
    ordering = ("created_at", "pk")
    page_size = 100


def _date_param(value):
    if not value:
        return timezone.localdate()
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as error:
        raise ApplicationError("date is YYYY-MM-DD.", code="INVALID_INPUT") from error
    if not 1900 <= day.year <= 2200:
        raise ApplicationError("date is out of range.", code="INVALID_INPUT")
    return day
