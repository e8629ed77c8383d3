from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from hospital.admin_site import pharmacy_site
from hospital.views import home

urlpatterns = [
    path("", home, name="home"),
    path("pharmacy/", pharmacy_site.urls),
    path("cart/", include("scanning.web.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("scanning.api.urls")),
    path("api/v1/schema/", SpectacularJSONAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
