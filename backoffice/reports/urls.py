"""Report views, mounted inside the pharmacy site at /pharmacy/reports/ (pharmacists and
administrators: the site's own login and permission check)."""

from django.urls import path

from backoffice.admin_site import pharmacy_site
from backoffice.reports import views

urlpatterns = [
    path("", pharmacy_site.admin_view(views.report_index), name="reports-index"),
    path("<slug:slug>/", pharmacy_site.admin_view(views.report_page), name="reports-page"),
    path("<slug:slug>/csv/", pharmacy_site.admin_view(views.report_csv), name="reports-csv"),
    path("<slug:slug>/chart/", pharmacy_site.admin_view(views.report_chart), name="reports-chart"),
]
