from django.conf import settings
from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from hospital.admin_site import pharmacy_site
from hospital.api import error_body
from hospital.views import home


def api_aware_not_found(request, exception=None):
    """Under /api/ an unknown route is our JSON error too, never Django's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("NOT_FOUND", "No such resource."), status=404)
    return page_not_found(request, exception)


handler404 = api_aware_not_found

urlpatterns = [
    path("", home, name="home"),
    path("pharmacy/", pharmacy_site.urls),
    path("cart/", include("scanning.web.urls")),
    path("dashboard/", include("pharmacy.reports.dashboard_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("scanning.api.urls")),
    path("api/v1/", include("interop.api.urls")),
    path("api/v1/schema/", SpectacularJSONAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.BENCH_BASELINE:
    from bench.baseline import BaselineApi

    urlpatterns += [path("bench/baseline/", BaselineApi.as_view(), name="bench-baseline")]
