"""The project's URLs plus interop's API, until hospital/urls.py includes `interop.api.urls`."""

from django.urls import include, path

from hospital.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("api/v1/", include("interop.api.urls")), *project_urlpatterns]
