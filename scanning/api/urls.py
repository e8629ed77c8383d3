from django.urls import path

from scanning.api import views

urlpatterns = [
    path("auth/badge/", views.BadgeLoginApi.as_view(), name="auth-badge"),
    path("scan/decode/", views.ScanDecodeApi.as_view(), name="scan-decode"),
    path("scan/check/", views.ScanCheckApi.as_view(), name="scan-check"),
    path("administrations/", views.AdministrationsApi.as_view(), name="administrations"),
    path(
        "administrations/not-given/",
        views.AdministrationNotGivenApi.as_view(),
        name="administrations-not-given",
    ),
    path(
        "administrations/<uuid:external_id>/correct/",
        views.AdministrationCorrectApi.as_view(),
        name="administrations-correct",
    ),
    path("patients/<str:mrn>/mar/", views.PatientMarApi.as_view(), name="patient-mar"),
    path("wards/<str:code>/due/", views.WardDueApi.as_view(), name="ward-due"),
]
