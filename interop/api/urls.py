from django.urls import path

from interop.api import views

# <str:…> rather than <uuid:…>: a malformed id is the API's JSON 404, not the site's HTML page.

urlpatterns = [
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
        "administrations/<str:external_id>/hl7/",
        views.AdministrationHl7Api.as_view(),
        name="administration-hl7",
    ),
]
