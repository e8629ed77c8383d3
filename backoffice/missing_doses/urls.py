"""The missing-dose queue, mounted inside the pharmacy site at /pharmacy/missing-doses/."""

from django.urls import path

from backoffice.admin_site import pharmacy_site
from backoffice.missing_doses import views

urlpatterns = [
    path("", pharmacy_site.admin_view(views.queue), name="missing-doses"),
    path(
        "<uuid:request_id>/sent/",
        pharmacy_site.admin_view(views.mark_sent),
        name="missing-doses-sent",
    ),
]
