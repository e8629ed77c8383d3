"""The order verification queue, mounted inside the pharmacy site at /pharmacy/verify/."""

from django.urls import path

from backoffice.admin_site import pharmacy_site
from backoffice.verification import views

urlpatterns = [
    path("", pharmacy_site.admin_view(views.queue), name="verification-queue"),
    path(
        "<uuid:order_id>/",
        pharmacy_site.admin_view(views.review),
        name="verification-review",
    ),
    path(
        "<uuid:order_id>/<slug:action>/",
        pharmacy_site.admin_view(views.transition),
        name="verification-transition",
    ),
]
