"""The back office's URLs, included by the project's URLconf (hospital/urls.py) by name."""

from django.urls import include, path

from backoffice.admin_site import pharmacy_site

urlpatterns = [
    path("pharmacy/", pharmacy_site.urls),
    path("dashboard/", include("backoffice.reports.dashboard_urls")),
]
