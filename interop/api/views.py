import uuid
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from hospital.exceptions import ApplicationError
from interop import conf
from interop.api.search import SearchError, date_window, patient_id, token
from interop.fhir import R4B, R5, VERSIONS, medication_administration, searchset_bundle
from interop.hl7v2 import ras_o17
from interop.selectors import administration_snapshot, administration_snapshots_search
from scanning.access import patient_read_check
from scanning.api.permissions import IsClinicalStaff
from scanning.models import Administration
from wards.models import Patient

FHIR_JSON = "application/fhir+json"
HL7_ER7 = "x-application/hl7-v2+er7"
# Deeper pages than this are a query, not a page: and past int64 the database errors.
MAX_OFFSET = 1_000_000
MAX_COUNT = 200
DEFAULT_COUNT = 50
_VERSION_NAMES = {
    "5.0": R5,
    "5.0.0": R5,
    "r5": R5,
    "4.3": R4B,
    "4.3.0": R4B,
    "r4b": R4B,
}


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"
    charset = "utf-8"


def fhir_version(request) -> str:
    """R5 unless the client asks for R4B: `?fhirVersion=4.3` or the MIME parameter
    `Accept: application/fhir+json; fhirVersion=4.3` (FHIR's own way)."""
    requested = request.query_params.get("fhirVersion", "")
    if not requested:
        for part in request.headers.get("Accept", "").split(";")[1:]:
            name, _sep, value = part.strip().partition("=")
            if name.strip().lower() == "fhirversion":
                requested = value.strip().strip('"')
    if not requested:
        return R5
    version = _VERSION_NAMES.get(requested.lower())
    if version is None:
        raise ApplicationError(
            f"FHIR version {requested} is not served; ask for 5.0 (R5) or 4.3 (R4B).",
            code="UNSUPPORTED_FHIR_VERSION",
            status=406,
        )
    return version


def _fhir_response(data: dict, version: str) -> Response:
    return Response(data, content_type=f"{FHIR_JSON}; fhirVersion={VERSIONS[version]}")


def _administration_pk(request, external_id: str) -> int:
    """The record's key, if it exists and the user may read its patient (scanning/access.py)."""
    try:
        key = uuid.UUID(external_id)
    except ValueError:
        key = None
    found = (
        Administration.objects.filter(external_id=key)
        .values_list("pk", "patient_id", "admission__ward_id")
        .first()
        if key is not None
        else None
    )
    if found is None:
        raise ApplicationError("No such administration.", code="NOT_FOUND", status=404)
    pk, patient_id, ward_id = found
    patient_read_check(user=request.user, patient_id=patient_id, record_ward_id=ward_id)
    return pk


FHIR_VERSION_PARAMETER = OpenApiParameter(
    "fhirVersion", str, description="4.3 for R4B; R5 (5.0) by default", required=False
)


class MedicationAdministrationReadApi(APIView):
    """One administration record as a FHIR MedicationAdministration (R5, or R4B on request)."""

    permission_classes = [IsClinicalStaff]
    renderer_classes = [FhirJsonRenderer, JSONRenderer]

    @extend_schema(
        operation_id="fhir_medicationadministration_read",
        parameters=[FHIR_VERSION_PARAMETER],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, external_id):
        version = fhir_version(request)
        snapshot = administration_snapshot(_administration_pk(request, external_id))
        return _fhir_response(
            medication_administration(snapshot, conf.fhir_config(), version), version
        )


class MedicationAdministrationSearchApi(APIView):
    """`?patient=Patient/<id>` (or `patient.identifier=<MRN>`), optional `date` (FHIR prefixes
    eq, ge, gt, le, lt; repeat to combine), `_count`, `_offset` → a searchset Bundle."""

    permission_classes = [IsClinicalStaff]
    renderer_classes = [FhirJsonRenderer, JSONRenderer]

    @extend_schema(
        operation_id="fhir_medicationadministration_search",
        parameters=[
            OpenApiParameter("patient", str, description="Patient/<id> or <id>"),
            OpenApiParameter("patient.identifier", str, description="[system|]MRN"),
            OpenApiParameter("date", str, many=True, description="e.g. ge2026-11-24"),
            OpenApiParameter("_count", int),
            OpenApiParameter("_offset", int),
            FHIR_VERSION_PARAMETER,
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        version = fhir_version(request)
        params = request.query_params
        try:
            patient = self._patient(params)
            window = date_window(params.getlist("date"), ZoneInfo(settings.TIME_ZONE))
            count = min(int(params.get("_count", DEFAULT_COUNT)), MAX_COUNT)
            offset = int(params.get("_offset", 0))
        except (SearchError, ValueError) as error:
            raise ApplicationError(str(error), code="INVALID_SEARCH", status=400) from error
        if count < 0 or not 0 <= offset <= MAX_OFFSET:
            raise ApplicationError(
                f"_count cannot be negative and _offset must be between 0 and {MAX_OFFSET}.",
                code="INVALID_SEARCH",
                status=400,
            )
        if patient is None:
            total, snapshots = 0, []
        else:
            patient_read_check(user=request.user, patient_id=patient.pk)
            total, snapshots = administration_snapshots_search(
                patient_id=patient.pk,
                occurred_from=window.start,
                occurred_before=window.end,
                offset=offset,
                count=count,
            )
        config = conf.fhir_config()
        resources = [medication_administration(s, config, version) for s in snapshots]
        base_url = request.build_absolute_uri(reverse("fhir-medicationadministration-search"))
        links = {"self": self._page_url(request, base_url, offset, count)}
        if offset + count < total:
            links["next"] = self._page_url(request, base_url, offset + count, count)
        if offset > 0:
            links["previous"] = self._page_url(request, base_url, max(0, offset - count), count)
        bundle = searchset_bundle(
            resources,
            total=total,
            links=links,
            base_url=base_url.rsplit("/", 1)[0],
            version=version,
        )
        return _fhir_response(bundle, version)

    @staticmethod
    def _patient(params) -> Patient | None:
        if params.get("patient"):
            return Patient.objects.filter(external_id=patient_id(params["patient"])).first()
        if params.get("patient.identifier"):
            system, mrn = token(params["patient.identifier"])
            if system is not None and system != conf.fhir_config().system("sid", "mrn"):
                return None
            return Patient.objects.filter(mrn=mrn).first()
        raise SearchError("Search by patient: patient=Patient/<id> or patient.identifier=<MRN>.")

    @staticmethod
    def _page_url(request, base_url: str, offset: int, count: int) -> str:
        query = [
            (key, value)
            for key in request.query_params
            if key not in ("_offset", "_count")
            for value in request.query_params.getlist(key)
        ]
        query += [("_count", str(count)), ("_offset", str(offset))]
        return f"{base_url}?{urlencode(query)}"


class AdministrationHl7Api(APIView):
    """One administration record as HL7 v2.5 RAS^O17 (ER7, `\\r` between segments, UTF-8)."""

    permission_classes = [IsClinicalStaff]

    @extend_schema(responses={(200, HL7_ER7): OpenApiTypes.STR})
    def get(self, request, external_id):
        snapshot = administration_snapshot(_administration_pk(request, external_id))
        return HttpResponse(
            ras_o17(snapshot, conf.hl7_config()).encode("utf-8"),
            content_type=f"{HL7_ER7}; charset=utf-8",
        )
