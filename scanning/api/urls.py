from django.urls import path

from scanning.api import (
    infusion_views,
    missing_dose_views,
    reassessment_views,
    verbal_order_views,
    views,
)

urlpatterns = [
    path("auth/badge/", views.BadgeLoginApi.as_view(), name="auth-badge"),
    path("auth/badge/release/", views.BadgeReleaseApi.as_view(), name="auth-badge-release"),
    path("scan/decode/", views.ScanDecodeApi.as_view(), name="scan-decode"),
    path("scan/check/", views.ScanCheckApi.as_view(), name="scan-check"),
    path("administrations/", views.AdministrationsApi.as_view(), name="administrations"),
    path(
        "administrations/not-given/",
        views.AdministrationNotGivenApi.as_view(),
        name="administrations-not-given",
    ),
    path(
        "administrations/outcome/",
        views.AdministrationOutcomeApi.as_view(),
        name="administrations-outcome",
    ),
    path(
        "administrations/<uuid:external_id>/correct/",
        views.AdministrationCorrectApi.as_view(),
        name="administrations-correct",
    ),
    path(
        "administrations/<uuid:external_id>/reassessment/",
        reassessment_views.AdministrationReassessmentApi.as_view(),
        name="administrations-reassessment",
    ),
    path(
        "administrations/<uuid:external_id>/remove/",
        views.AdministrationRemoveApi.as_view(),
        name="administrations-remove",
    ),
    path(
        "administrations/<uuid:external_id>/waste/",
        views.AdministrationWasteApi.as_view(),
        name="administrations-waste",
    ),
    path("checks/unrecorded/", views.UnrecordedChecksApi.as_view(), name="checks-unrecorded"),
    path(
        "checks/<uuid:external_id>/acknowledge/",
        views.UnrecordedCheckAcknowledgeApi.as_view(),
        name="checks-acknowledge",
    ),
    path("patients/<str:mrn>/mar/", views.PatientMarApi.as_view(), name="patient-mar"),
    path(
        "patients/<str:mrn>/administrations/recent/",
        views.PatientRecentRecordsApi.as_view(),
        name="patient-recent-records",
    ),
    path("wards/<str:code>/due/", views.WardDueApi.as_view(), name="ward-due"),
    path("wards/<str:code>/worklist/", views.WardWorklistApi.as_view(), name="ward-worklist"),
    path("infusions/hang/", infusion_views.InfusionHangApi.as_view(), name="infusions-hang"),
    path("infusions/events/", infusion_views.InfusionEventApi.as_view(), name="infusions-events"),
    path(
        "patients/<str:mrn>/infusions/",
        infusion_views.PatientInfusionsApi.as_view(),
        name="patient-infusions",
    ),
    path(
        "patients/<str:mrn>/verbal-orders/",
        verbal_order_views.VerbalOrderCreateApi.as_view(),
        name="patient-verbal-orders",
    ),
    path("medications/", verbal_order_views.MedicationListApi.as_view(), name="medications"),
    path(
        "missing-doses/",
        missing_dose_views.MissingDoseRequestApi.as_view(),
        name="missing-doses",
    ),
    path(
        "missing-doses/<uuid:external_id>/sent/",
        missing_dose_views.MissingDoseSentApi.as_view(),
        name="missing-doses-sent",
    ),
]
