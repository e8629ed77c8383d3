from django.conf import settings
from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import bad_request, page_not_found
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from oauth2_provider.views import RevokeTokenView

from hospital.api import error_body
from hospital.oauth import ServiceTokenView
from hospital.views import healthz, home


def api_aware_not_found(request, exception=None):
    """Under /api/ an unknown route is our JSON error too, never Django's HTML page."""
    if request.path.startswith("/api/"):
        details = {}
        if not request.path.endswith("/"):
            details = {"hint": "API paths end with a slash.", "path": request.path + "/"}
        return JsonResponse(error_body("NOT_FOUND", "No such resource.", details), status=404)
    return page_not_found(request, exception)


def api_aware_bad_request(request, exception=None):
    """A request refused before any view (a Host header not in ALLOWED_HOSTS, a malformed
    cookie): JSON under /api/. Reads only the path: the host is what may be wrong."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("BAD_REQUEST", "The request was refused."), status=400)
    return bad_request(request, exception)


handler404 = api_aware_not_found
handler400 = api_aware_bad_request

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    # /pharmacy/ (the pharmacy site) and /dashboard/. Named, not imported: the project's wiring
    # sits in the lowest layer and must not import the back office (docs/architecture.md).
    path("", include("backoffice.urls")),
    path("cart/", include("scanning.web.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # OAuth2 for service accounts only: the token endpoint (client credentials) and revocation.
    path("oauth/token/", ServiceTokenView.as_view(), name="oauth-token"),
    path("oauth/revoke_token/", RevokeTokenView.as_view(), name="oauth-revoke-token"),
    path("api/v1/", include("scanning.api.urls")),
    path("api/v1/", include("interop.api.urls")),
    path("api/v1/schema/", SpectacularJSONAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.BENCH_BASELINE:
    from bench.baseline import BaselineApi

    urlpatterns += [path("bench/baseline/", BaselineApi.as_view(), name="bench-baseline")]
