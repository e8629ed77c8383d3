"""The FHIR API (`/api/v1/fhir/`) and the HL7 view of a record.

Every FHIR view derives from `FhirApiView`: who may call it is `FHIR_PERMISSIONS` (one place, so
that system clients' scopes can be wired in), every error is an OperationOutcome under
`application/fhir+json`, and the FHIR version is negotiated the same way (R5 by default; R4B or
R4 with `?fhirVersion=` or the `fhirVersion` parameter of the Accept header's media type)."""

import logging
import uuid
from datetime import date
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse, QueryDict
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from oauth2_provider.models import AccessToken
from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from hospital.api import exception_handler as api_exception_handler
from hospital.exceptions import ApplicationError
from hospital.oauth import ANY_SYSTEM_SCOPE, SystemScope
from hospital.replica import reads_from_replica
from hospital.scopes import scope_grants
from interop import conf
from interop.api.search import (
    SearchError,
    date_window,
    ids,
    patient_id,
    statuses,
    token,
)
from interop.fhir import (
    R4,
    R4B,
    R5,
    VERSIONS,
    SearchParam,
    ServedResource,
    capability_statement,
    encounter,
    medication_administration,
    medication_request,
    operation_outcome,
    patient,
    searchset_bundle,
    transaction_response_bundle,
)
from interop.hl7v2 import ras_o17
from interop.inbound import fhirin
from interop.inbound.bundle import bundle_key, transaction_apply, transaction_replay
from interop.selectors import (
    administration_snapshot,
    administration_snapshots_search,
    encounter_get,
    order_get,
    patient_snapshot,
)
from scanning.access import (
    PatientNotInYourHospitalsError,
    PatientNotInYourWardsError,
    hospital_wards,
    hospitals_worked_in,
    patient_read_check,
    reads_province,
)
from scanning.api.permissions import IsClinicalStaff
from scanning.models import Administration
from wards.models import Patient
from wards.selectors import patients_by_mrn

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
HL7_ER7 = "x-application/hl7-v2+er7"
# Who may call the FHIR API. System clients (an HIS, an integration engine) get their own
# permission here, scoped per resource and interaction, next to the clinical staff's.
FHIR_PERMISSIONS = [IsClinicalStaff | SystemScope]
# Deeper pages than this are a query, not a page: and past int64 the database errors.
MAX_OFFSET = 1_000_000
MAX_COUNT = 200
DEFAULT_COUNT = 50
MAX_IDS = 100
_VERSION_NAMES = {
    "5.0": R5,
    "5.0.0": R5,
    "r5": R5,
    "4.3": R4B,
    "4.3.0": R4B,
    "r4b": R4B,
    "4.0": R4,
    "4.0.1": R4,
    "r4": R4,
}
# The search parameter for the time given: `date` in R5, `effective-time` in R4 and R4B.
TIME_PARAMETER = {R5: "date", R4B: "effective-time", R4: "effective-time"}
# Parameters that are not search criteria: version and format negotiation, paging.
CONTROL_PARAMETERS = ("fhirVersion", "_format", "format", "_count", "_offset")
FORMATS = ("json", "fhir", "application/json", "application/fhir+json")
SOFTWARE_VERSION = "0.1.0"
RELEASED = date(2026, 12, 4)


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"
    charset = "utf-8"


class FhirJsonParser(JSONParser):
    media_type = FHIR_JSON


def fhir_version(request) -> str:
    """R5 unless the client asks for R4B or R4: `?fhirVersion=4.3` or the MIME parameter
    `Accept: application/fhir+json; fhirVersion=4.0` (FHIR's own way)."""
    requested = request.query_params.get("fhirVersion", "")
    if not requested:
        for part in request.headers.get("Accept", "").split(";")[1:]:
            name, _sep, value = part.strip().partition("=")
            if name.strip().lower() == "fhirversion":
                requested = value.strip().strip('"').split(",")[0]
    if not requested:
        return R5
    version = _VERSION_NAMES.get(requested.lower())
    if version is None:
        raise ApplicationError(
            f"FHIR version {requested} is not served; ask for 5.0 (R5), 4.3 (R4B) or 4.0 (R4).",
            code="UNSUPPORTED_FHIR_VERSION",
            status=406,
        )
    return version


def _fhir_response(data: dict, version: str, status: int = 200) -> Response:
    return Response(
        data, status=status, content_type=f"{FHIR_JSON}; fhirVersion={VERSIONS[version]}"
    )


def fhir_exception_handler(exc, context):
    """The API's error handling (status, stable code, logging of the unexpected), answered as an
    OperationOutcome, in the version the client asked for when it asked for a valid one."""
    response = api_exception_handler(exc, context)
    error = response.data.get("error", {}) if isinstance(response.data, dict) else {}
    request = context.get("request")
    try:
        version = fhir_version(request) if request is not None else R5
    except ApplicationError:
        version = R5
    details = error.get("details")
    outcome = operation_outcome(
        status=response.status_code,
        code=error.get("code") or "ERROR",
        message=str(error.get("message") or error.get("code") or "Error"),
        config=conf.fhir_config(),
        version=version,
        expression=str(details.get("expression") or "") if isinstance(details, dict) else "",
    )
    fhir = _fhir_response(outcome, version, response.status_code)
    for header in ("WWW-Authenticate", "Retry-After", "Cache-Control", "Allow"):
        if header in response:
            fhir[header] = response[header]
    return fhir


class FhirApiView(APIView):
    permission_classes = FHIR_PERMISSIONS
    renderer_classes = [FhirJsonRenderer, JSONRenderer]

    def get_exception_handler(self):
        return fhir_exception_handler

    def initial(self, request, *args, **kwargs):
        for name in ("_format", "format"):
            value = request.query_params.get(name)
            if value is not None and value not in FORMATS:
                raise ApplicationError(
                    f"Only FHIR JSON is served ({name}={value!r}).",
                    code="UNSUPPORTED_FORMAT",
                    status=406,
                )
        super().initial(request, *args, **kwargs)


def _not_found(what: str) -> ApplicationError:
    return ApplicationError(f"No such {what}.", code="NOT_FOUND", status=404)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _record_read_check(user, *, patient_id: int, ward_id: int) -> None:
    """A record is read in the hospital it was made in: a patient readable here (admitted here
    now) does not open the records another hospital made of them (MRNs are the province's)."""
    patient_read_check(user=user, patient_id=patient_id, record_ward_id=ward_id)
    if not reads_province(user) and not hospital_wards(user).filter(pk=ward_id).exists():
        raise PatientNotInYourHospitalsError(
            gettext("There is no patient with this identifier in the hospitals you work in.")
        )


def _administration_pk(request, external_id: str) -> int:
    """The record's key, if it exists and the user may read its patient (scanning/access.py)."""
    key = _uuid(external_id)
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
    _record_read_check(request.user, patient_id=patient_id, ward_id=ward_id)
    return pk


FHIR_VERSION_PARAMETER = OpenApiParameter(
    "fhirVersion",
    str,
    description="5.0 (R5, the default), 4.3 (R4B) or 4.0 (R4 4.0.1)",
    required=False,
)


class MedicationAdministrationReadApi(FhirApiView):
    """One administration record as a FHIR MedicationAdministration."""

    system_scope = "system/MedicationAdministration.read"

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


# What the search answers, by version: the CapabilityStatement says the same.
def administration_search_params(version: str) -> tuple[SearchParam, ...]:
    return (
        SearchParam("patient", "reference", "Patient/<id> or <id>"),
        SearchParam(
            "patient.identifier", "token", "The patient's MRN: [system|]MRN (chained search)"
        ),
        SearchParam(
            "status",
            "token",
            "completed, not-done or entered-in-error (a record later withdrawn reads as "
            "entered-in-error); comma for OR",
        ),
        SearchParam(
            TIME_PARAMETER[version],
            "date",
            "When given: prefixes eq, ge, gt, le, lt; repeat to combine (AND)",
        ),
        SearchParam("_id", "token", "Record ids; comma for OR. Without patient, by id alone."),
        SearchParam("_count", "number", f"Page size, 0 to {MAX_COUNT} (0: the total only)"),
        SearchParam("_offset", "number", f"Records to skip, 0 to {MAX_OFFSET}"),
    )


class MedicationAdministrationSearchApi(FhirApiView):
    """`?patient=Patient/<id>` (or `patient.identifier=<MRN>`, or `_id`), optional `status`,
    `date` (R4/R4B: `effective-time`; FHIR prefixes eq, ge, gt, le, lt; repeat to combine),
    `_count`, `_offset` → a searchset Bundle. Any other parameter is refused (400), never
    silently ignored."""

    system_scope = "system/MedicationAdministration.read"

    @extend_schema(
        operation_id="fhir_medicationadministration_search",
        parameters=[
            OpenApiParameter("patient", str, description="Patient/<id> or <id>"),
            OpenApiParameter("patient.identifier", str, description="[system|]MRN"),
            OpenApiParameter("status", str, description="completed, not-done, entered-in-error"),
            OpenApiParameter("date", str, many=True, description="R5, e.g. ge2026-11-24"),
            OpenApiParameter("effective-time", str, many=True, description="R4 and R4B"),
            OpenApiParameter("_id", str, description="record ids, comma-separated"),
            OpenApiParameter("_count", int),
            OpenApiParameter("_offset", int),
            FHIR_VERSION_PARAMETER,
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @reads_from_replica
    def get(self, request):
        version = fhir_version(request)
        params = request.query_params
        try:
            self._refuse_unknown(params, version)
            record_ids = ids(params.getlist("_id"))
            if record_ids is not None and len(record_ids) > MAX_IDS:
                raise SearchError(f"At most {MAX_IDS} ids at once.")
            patient = self._patient(params, request.user, by_id=record_ids is not None)
            wanted = statuses(params.getlist("status"))
            window = date_window(
                params.getlist(TIME_PARAMETER[version]), ZoneInfo(settings.TIME_ZONE)
            )
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
        if patient is not None:
            patient_read_check(user=request.user, patient_id=patient.pk)
        elif params.get("patient") or params.get("patient.identifier"):
            # An unknown patient is refused to ward-scoped staff like another ward's: a search
            # must not tell whether an MRN exists.
            patient_read_check(user=request.user, patient_id=None)
        if patient is None and record_ids is None:
            total, snapshots = 0, []
        else:
            if record_ids is not None and patient is None:
                record_ids = self._readable(request.user, record_ids)
            # A patient readable here may have records of another hospital (MRNs are the
            # province's): those are left out in the query, so that _total does not count them.
            total, snapshots = administration_snapshots_search(
                patient_id=patient.pk if patient is not None else None,
                record_ids=record_ids,
                wards=None if reads_province(request.user) else hospital_wards(request.user),
                statuses=wanted,
                occurred_from=window.start,
                occurred_before=window.end,
                offset=offset,
                count=count,
            )
        config = conf.fhir_config()
        resources = [medication_administration(s, config, version) for s in snapshots]
        base_url = request.build_absolute_uri(reverse("fhir-medicationadministration-search"))
        links = {"self": self._page_url(request, base_url, offset, count)}
        # `_count=0` asks for the total alone: no pages to walk.
        if count and offset + count < total:
            links["next"] = self._page_url(request, base_url, offset + count, count)
        if count and offset > 0:
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
    def _refuse_unknown(params, version: str) -> None:
        known = {param.name for param in administration_search_params(version)}
        known.update(CONTROL_PARAMETERS)
        unknown = sorted(set(params) - known)
        if unknown:
            other = TIME_PARAMETER[R5 if version != R5 else R4]
            hint = (
                f" (in this FHIR version the time given is {TIME_PARAMETER[version]!r})"
                if other in unknown
                else ""
            )
            raise SearchError(
                f"Unsupported search parameters: {', '.join(unknown)}{hint}. Supported: "
                f"{', '.join(sorted(known))}."
            )

    @staticmethod
    def _patient(params, user, *, by_id: bool) -> Patient | None:
        if params.get("patient"):
            return Patient.objects.filter(external_id=patient_id(params["patient"])).first()
        if params.get("patient.identifier"):
            system, mrn = token(params["patient.identifier"])
            # An MRN is a hospital's: among the user's hospitals, or the one the system names
            # (…/sid/mrn/<its HL7 facility>).
            hospitals = hospitals_worked_in(user)
            mrn_system = conf.fhir_config().system("sid", "mrn")
            if system is not None and system != mrn_system:
                facility = system.removeprefix(f"{mrn_system}/")
                if facility == system:
                    return None
                hospitals = hospitals.filter(hl7_facility=facility)
            found = patients_by_mrn(hospital_ids=hospitals.values("pk"), mrn=mrn)
            if len(found) > 1:
                raise SearchError(
                    f"MRN {mrn} is a patient number of several of your hospitals: name the "
                    f"hospital as the identifier's system ({mrn_system}/<its HL7 facility>)."
                )
            return found[0] if found else None
        if by_id:
            return None
        raise SearchError(
            "Search by patient: patient=Patient/<id> or patient.identifier=<MRN> (or by _id)."
        )

    @staticmethod
    def _readable(user, record_ids: frozenset) -> frozenset:
        """The ids among `record_ids` whose records this user may read (a search by id leaves out
        what a read would refuse)."""
        rows = Administration.objects.filter(external_id__in=record_ids).values_list(
            "external_id", "patient_id", "admission__ward_id"
        )
        if reads_province(user):
            return frozenset(row[0] for row in rows)
        readable = set()
        for external_id, patient_pk, ward_id in rows:
            try:
                patient_read_check(user=user, patient_id=patient_pk, record_ward_id=ward_id)
            except (PatientNotInYourWardsError, PatientNotInYourHospitalsError):
                continue
            readable.add(external_id)
        return frozenset(readable)

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


class PatientReadApi(FhirApiView):
    """A patient (the `subject` of our resources), for the wards the user may read."""

    system_scope = "system/Patient.read"

    @extend_schema(
        operation_id="fhir_patient_read",
        parameters=[FHIR_VERSION_PARAMETER],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, external_id):
        version = fhir_version(request)
        key = _uuid(external_id)
        row = Patient.objects.filter(external_id=key).first() if key is not None else None
        if row is None:
            raise _not_found("patient")
        patient_read_check(user=request.user, patient_id=row.pk)
        # The reader's hospital's number for her, when it has (only) one.
        mrns = list(
            row.numbers.filter(
                hospital__in=hospitals_worked_in(request.user).values("pk")
            ).values_list("mrn", flat=True)[:2]
        )
        snapshot = patient_snapshot(row, mrn=mrns[0] if len(mrns) == 1 else "")
        return _fhir_response(patient(snapshot, conf.fhir_config(), version), version)


class EncounterReadApi(FhirApiView):
    """An admission (the `encounter` / `context` of our resources)."""

    system_scope = "system/Encounter.read"

    @extend_schema(
        operation_id="fhir_encounter_read",
        parameters=[FHIR_VERSION_PARAMETER],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, external_id):
        version = fhir_version(request)
        key = _uuid(external_id)
        found = encounter_get(key) if key is not None else None
        if found is None:
            raise _not_found("encounter")
        record, patient_pk, ward_id = found
        _record_read_check(request.user, patient_id=patient_pk, ward_id=ward_id)
        return _fhir_response(encounter(record, conf.fhir_config(), version), version)


class MedicationRequestReadApi(FhirApiView):
    """A medication order (the `request` of our MedicationAdministrations)."""

    system_scope = "system/MedicationRequest.read"

    @extend_schema(
        operation_id="fhir_medicationrequest_read",
        parameters=[FHIR_VERSION_PARAMETER],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, external_id):
        version = fhir_version(request)
        key = _uuid(external_id)
        found = order_get(key) if key is not None else None
        if found is None:
            raise _not_found("medication request")
        record, patient_pk, ward_id = found
        _record_read_check(request.user, patient_id=patient_pk, ward_id=ward_id)
        return _fhir_response(medication_request(record, conf.fhir_config(), version), version)


def served_resources(version: str) -> list[ServedResource]:
    written = ("read", "create", "update")
    return [
        ServedResource(
            "MedicationAdministration",
            administration_search_params(version),
            "Every administration record: given, partial, not given, entered in error.",
        ),
        ServedResource(
            "Patient",
            documentation="The subject of our records. In a transaction: conditional create "
            "(ifNoneExist) or update (PUT Patient?identifier=) by the MRN.",
            interactions=written,
            conditional=True,
        ),
        ServedResource(
            "Encounter",
            documentation="The admission. In a transaction: by the visit number; admit, "
            "transfer (ward or bed changed), discharge (finished / completed).",
            interactions=written,
            conditional=True,
        ),
        ServedResource(
            "AllergyIntolerance",
            documentation="Create only, in a transaction: the allergen (mapped like HL7 AL1-3) "
            "is its identity, a repeat updates it; an allergy is never removed by the HIS.",
            interactions=("create",),
        ),
        ServedResource(
            "MedicationRequest",
            documentation="The medication order. In a transaction: by the placer order number; "
            "new and changed orders await the pharmacist's verification.",
            interactions=written,
            conditional=True,
        ),
    ]


TRANSACTION_DOCUMENTATION = (
    "POST a Bundle of type transaction to the base: Patient, Encounter, AllergyIntolerance, "
    "MedicationRequest, applied all or nothing through the same services as HL7 v2 in. Needs "
    "system/<Resource>.write (or system/*.write) for each resource type. An Idempotency-Key "
    "header or Bundle.identifier makes a repeat answer the first response and apply nothing."
)


class CapabilityStatementApi(FhirApiView):
    """`GET fhir/metadata`: what this server serves, in the version asked for."""

    system_scope = ANY_SYSTEM_SCOPE

    @extend_schema(
        operation_id="fhir_capabilities",
        parameters=[FHIR_VERSION_PARAMETER],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        version = fhir_version(request)
        base_url = request.build_absolute_uri(reverse("fhir-metadata")).rsplit("/", 1)[0]
        return _fhir_response(
            capability_statement(
                served_resources(version),
                base_url=base_url,
                software_version=SOFTWARE_VERSION,
                released=RELEASED,
                security=(
                    "Every request is authenticated: clinical staff by session, other systems by an "
                    "OAuth2 client-credentials token (POST /oauth/token/) with SMART system "
                    "scopes; answers stay within the caller's wards; errors are OperationOutcomes."
                ),
                version=version,
                transaction=TRANSACTION_DOCUMENTATION,
            ),
            version,
        )


class SystemWrite(BasePermission):
    """A service account's token with a FHIR write scope; which resources it may write is checked
    per entry (`system/<Resource>.write`)."""

    message = "This token's scopes do not include FHIR writes (system/<Resource>.write)."

    def has_permission(self, request, view):
        token = request.auth
        return isinstance(token, AccessToken) and any(
            scope.startswith("system/") and scope.endswith((".write", ".*"))
            for scope in token.scope.split()
        )


def _body_version(request) -> str:
    """The version of the bundle sent: Content-Type's fhirVersion, else as for the answer."""
    for part in request.headers.get("Content-Type", "").split(";")[1:]:
        name, _sep, value = part.strip().partition("=")
        if name.strip().lower() == "fhirversion":
            requested = value.strip().strip('"')
            version = _VERSION_NAMES.get(requested.lower())
            if version is None:
                raise ApplicationError(
                    f"FHIR version {requested} is not taken; send 5.0 (R5), 4.3 (R4B) or 4.0 (R4).",
                    code="UNSUPPORTED_FHIR_VERSION",
                    status=415,
                )
            return version
    return fhir_version(request)


class FhirTransactionApi(FhirApiView):
    """`POST fhir/` a transaction Bundle from the HIS (interop/inbound/fhirin.py, bundle.py):
    all entries or none, once per Idempotency-Key or Bundle.identifier; the answer is a
    transaction-response Bundle with each entry's status and location."""

    permission_classes = [SystemWrite]
    # Forms too, only so that reading a form body while authenticating is not a 415 before the
    # 401; a bundle that is not JSON is refused below.
    parser_classes = [FhirJsonParser, JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        operation_id="fhir_transaction",
        parameters=[
            FHIR_VERSION_PARAMETER,
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False),
        ],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        version = _body_version(request)
        body = request.data
        if isinstance(body, QueryDict) or not isinstance(body, dict):
            raise ApplicationError(
                "Send the Bundle as one JSON object (Content-Type: application/fhir+json).",
                code="UNSUPPORTED_MEDIA_TYPE",
                status=415,
            )
        key = bundle_key(body, request.headers.get("Idempotency-Key"))
        replayed = transaction_replay(client=request.user, bundle=body, key=key)
        if replayed is not None:
            return self._answer(replayed, version, replayed=True)
        try:
            parsed = fhirin.parse(body, version, conf.fhir_in_config())
        except fhirin.BundleInvalid as invalid:
            raise ApplicationError(
                invalid.message, code=invalid.code, details={"expression": invalid.expression}
            ) from invalid
        granted = set(request.auth.scope.split())
        for entry in parsed.entries:
            if not scope_grants(granted, f"system/{entry.resource_type}.write"):
                raise ApplicationError(
                    f"Bundle.entry[{entry.index}]: this token may not write "
                    f"{entry.resource_type} (system/{entry.resource_type}.write). Nothing of "
                    "the bundle was applied.",
                    code="SCOPE_MISSING",
                    status=403,
                    details={"expression": f"Bundle.entry[{entry.index}]"},
                )
        base_url = request.build_absolute_uri(reverse("fhir-metadata")).rsplit("/", 1)[0]
        response, replayed = transaction_apply(
            client=request.user,
            bundle=body,
            parsed=parsed,
            key=key,
            version=version,
            respond=lambda outcomes: transaction_response_bundle(
                [(o.status, o.location) for o in outcomes], base_url=base_url, version=version
            ),
        )
        return self._answer(response, version, replayed=replayed)

    @staticmethod
    def _answer(response: dict, version: str, *, replayed: bool) -> Response:
        answer = _fhir_response(response, version)
        if replayed:
            answer["Idempotent-Replayed"] = "true"
        return answer


class FhirTransactionSlashApi(FhirTransactionApi):
    """The same base with a trailing slash, which some integration engines add; left out of the
    schema so that the transaction is one operation there."""

    @extend_schema(exclude=True)
    def post(self, request):
        return super().post(request)


class FhirNotFoundApi(FhirApiView):
    """Anything else under fhir/: a resource type or interaction we do not serve."""

    system_scope = ANY_SYSTEM_SCOPE

    @extend_schema(exclude=True)
    def get(self, request, rest):
        raise exceptions.NotFound(f"{rest.split('/')[0] or 'This'} is not served here.")

    post = put = patch = delete = get


class AdministrationHl7Api(APIView):
    """One administration record as HL7 v2.5 RAS^O17 (ER7, `\\r` ending each segment, UTF-8)."""

    permission_classes = [IsClinicalStaff | SystemScope]
    system_scope = "administrations.read"

    @extend_schema(responses={(200, HL7_ER7): OpenApiTypes.STR})
    def get(self, request, external_id):
        snapshot = administration_snapshot(_administration_pk(request, external_id))
        return HttpResponse(
            ras_o17(snapshot, conf.hl7_config()).encode("utf-8"),
            content_type=f"{HL7_ER7}; charset=utf-8",
        )
