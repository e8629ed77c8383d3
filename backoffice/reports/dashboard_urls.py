"""The ward dashboard, mounted at /dashboard/ (charge nurses, pharmacists, administrators)."""

from django.urls import path

from backoffice.reports import views

app_name = "dashboard"
urlpatterns = [
    path("", views.ward_dashboard, name="ward"),
    path("logout/", views.dashboard_logout, name="logout"),
]
