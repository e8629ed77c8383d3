from django.urls import path

from interop.api import views

# <str:…> rather than <uuid:…>: a malformed id is the API's 404, not the site's HTML page.

urlpatterns = [
    # The base: a transaction Bundle is POSTed here (with or without the trailing slash).
    path("fhir", views.FhirTransactionApi.as_view(), name="fhir-base"),
    path("fhir/", views.FhirTransactionSlashApi.as_view()),
    path("fhir/metadata", views.CapabilityStatementApi.as_view(), name="fhir-metadata"),
    path(
        "fhir/MedicationAdministration/<str:external_id>",
        views.MedicationAdministrationReadApi.as_view(),
        name="fhir-medicationadministration-read",
    ),
    path(
        "fhir/MedicationAdministration",
        views.MedicationAdministrationSearchApi.as_view(),
        name="fhir-medicationadministration-search",
    ),
    path(
        "fhir/Patient/<str:external_id>", views.PatientReadApi.as_view(), name="fhir-patient-read"
    ),
    path(
        "fhir/Encounter/<str:external_id>",
        views.EncounterReadApi.as_view(),
        name="fhir-encounter-read",
    ),
    path(
        "fhir/MedicationRequest/<str:external_id>",
        views.MedicationRequestReadApi.as_view(),
        name="fhir-medicationrequest-read",
    ),
    # Last: whatever else is asked under fhir/ is a FHIR 404 (an OperationOutcome).
    path("fhir/<path:rest>", views.FhirNotFoundApi.as_view(), name="fhir-not-found"),
    path(
        "administrations/<str:external_id>/hl7/",
        views.AdministrationHl7Api.as_view(),
        name="administration-hl7",
    ),
]
