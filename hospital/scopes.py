"""The scopes a service account can be given (OAuth2 client credentials, SMART Backend Services
style `system/<Resource>.<read|write>`), and what each one opens. Pure: settings import it."""

from django.utils.translation import gettext_lazy as _

SCOPES = {
    "system/MedicationAdministration.read": _(
        "FHIR MedicationAdministration: read and search (/api/v1/fhir/MedicationAdministration)"
    ),
    "system/Patient.read": _("FHIR Patient: read"),
    "system/Encounter.read": _("FHIR Encounter: read"),
    "system/MedicationRequest.read": _("FHIR MedicationRequest: read"),
    "system/*.write": _("FHIR writes: every resource a transaction Bundle takes"),
    "system/Patient.write": _("FHIR Patient: create and update in a transaction Bundle"),
    "system/Encounter.write": _("FHIR Encounter (admissions): create and update in a transaction"),
    "system/AllergyIntolerance.write": _("FHIR AllergyIntolerance: create in a transaction"),
    "system/MedicationRequest.write": _(
        "FHIR MedicationRequest (orders): create and update in a transaction"
    ),
    "administrations.read": _(
        "The administrations feed (GET /api/v1/administrations/) and HL7 v2 messages "
        "(GET /api/v1/administrations/<id>/hl7/)"
    ),
}


def _smart(scope: str) -> tuple[str, str] | None:
    """("MedicationAdministration", "read") for "system/MedicationAdministration.read"."""
    if not scope.startswith("system/") or "." not in scope:
        return None
    resource, _dot, action = scope[len("system/") :].rpartition(".")
    return resource, action


def scope_grants(granted, required: str) -> bool:
    """Whether the granted scopes include `required`; `system/*.read` grants every resource's
    read, `system/Patient.*` every action on Patient."""
    if required in granted:
        return True
    wanted = _smart(required)
    if wanted is None:
        return False
    for scope in granted:
        held = _smart(scope)
        if held and held[0] in (wanted[0], "*") and held[1] in (wanted[1], "*"):
            return True
    return False
