"""Print views (PDF label stock, downtime MAR), mounted inside the pharmacy site at /pharmacy/print/."""

from django.urls import path

from backoffice.admin_site import pharmacy_site
from backoffice.printing import views

urlpatterns = [
    path("", pharmacy_site.admin_view(views.index), name="print-index"),
    path("unit-dose/", pharmacy_site.admin_view(views.unit_dose_labels), name="print-unit-dose"),
    path(
        "wristband/<uuid:admission_id>/",
        pharmacy_site.admin_view(views.wristband),
        name="print-wristband",
    ),
    path("badge/<int:user_id>/", pharmacy_site.admin_view(views.badge), name="print-badge"),
    path("downtime/", pharmacy_site.admin_view(views.downtime_wards), name="print-downtime-wards"),
    path(
        "downtime/<str:ward_code>/",
        pharmacy_site.admin_view(views.downtime_mar),
        name="print-downtime-mar",
    ),
]
