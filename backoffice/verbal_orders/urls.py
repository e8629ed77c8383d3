"""Verbal orders awaiting the prescriber's co-signature, mounted inside the pharmacy site at
/pharmacy/verbal-orders/."""

from django.urls import path

from backoffice.admin_site import pharmacy_site
from backoffice.verbal_orders import views

urlpatterns = [
    path("", pharmacy_site.admin_view(views.queue), name="verbal-orders"),
    path(
        "<uuid:order_id>/cosign/",
        pharmacy_site.admin_view(views.cosign),
        name="verbal-orders-cosign",
    ),
]
