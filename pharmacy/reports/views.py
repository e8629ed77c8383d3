"""Report pages, their CSV downloads and charts (pharmacy site), and the ward dashboard. Thin: parse
the filter, call one selector (through the report's definition), render."""

import csv
from decimal import Decimal

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from hospital.admin_site import pharmacy_site
from hospital.models import Role
from pharmacy.reports import charts
from pharmacy.reports.definitions import COUNTING, REPORTS, ReportDefinition
from pharmacy.reports.forms import ReportFilterForm
from pharmacy.reports.selectors import ward_dashboard_get
from wards.models import Ward

DASHBOARD_REFRESH_SECONDS = 60


def _definition(slug: str) -> ReportDefinition:
    try:
        return REPORTS[slug]
    except KeyError:
        raise Http404 from None


def report_index(request):
    context = {
        **pharmacy_site.each_context(request),
        "title": _("Reports"),
        "reports": REPORTS.values(),
    }
    return TemplateResponse(request, "pharmacy/reports/index.html", context)


def report_page(request, slug: str):
    definition = _definition(slug)
    form = ReportFilterForm(request.GET, now=timezone.now())
    content = None
    if form.is_valid():
        content = definition.build(form.report_filter(), timezone.now())
    context = {
        **pharmacy_site.each_context(request),
        "title": definition.title,
        "report": definition,
        "form": form,
        "content": content,
        "query": form.data.urlencode(),
        "counting": COUNTING,
    }
    return TemplateResponse(
        request, "pharmacy/reports/report.html", context, status=200 if content else 400
    )


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def report_csv(request, slug: str):
    definition = _definition(slug)
    form = ReportFilterForm(request.GET, now=timezone.now())
    if not form.is_valid():
        return HttpResponseBadRequest(form.errors.as_text(), content_type="text/plain")
    filters = form.report_filter()
    table = definition.build(filters, timezone.now()).table(request.GET.get("table"))
    if table is None:
        raise Http404
    name = "_".join(
        part
        for part in (
            definition.slug,
            table.slug,
            filters.date_from.isoformat(),
            filters.date_to.isoformat(),
            filters.ward.code if filters.ward else "",
            filters.nurse.username if filters.nurse else "",
        )
        if part
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["Cache-Control"] = "no-store"
    # A byte-order mark, or Excel reads the Vietnamese as Windows-1252.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return response


def report_chart(request, slug: str):
    definition = _definition(slug)
    fmt = request.GET.get("format", "svg")
    if fmt not in charts.FORMATS:
        return HttpResponseBadRequest("format: svg or png", content_type="text/plain")
    form = ReportFilterForm(request.GET, now=timezone.now())
    if not form.is_valid():
        return HttpResponseBadRequest(form.errors.as_text(), content_type="text/plain")
    chart = definition.build(form.report_filter(), timezone.now()).chart
    response = HttpResponse(charts.chart_render(chart, fmt), content_type=charts.FORMATS[fmt])
    response["Cache-Control"] = "private, no-cache"
    return response


# --- The ward dashboard -----------------------------------------------------------------------


def dashboard_wards(user):
    """The wards this user may watch: every ward for pharmacists and administrators, her own
    wards for a charge nurse, none (None) for anyone else."""
    if user.is_superuser or user.has_role(Role.PHARMACIST, Role.ADMIN):
        return Ward.objects.order_by("code")
    if user.has_role(Role.CHARGE_NURSE):
        return user.wards.order_by("code")
    return None


def ward_dashboard(request):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url=reverse("cart:login"))
    if not user.is_active:
        raise PermissionDenied
    allowed = dashboard_wards(user)
    if allowed is None:
        raise PermissionDenied
    wards = list(allowed)
    code = request.GET.get("ward") or request.session.get("ward") or ""
    ward = next((w for w in wards if w.code == code), None)
    if ward is None and request.GET.get("ward"):
        if Ward.objects.filter(code=request.GET["ward"]).exists():
            raise PermissionDenied
        raise Http404
    if ward is None and wards:
        ward = wards[0]
    now = timezone.now()
    dashboard = ward_dashboard_get(ward=ward, now=now) if ward else None
    response = render(
        request,
        "pharmacy/dashboard.html",
        {
            "dashboard": dashboard,
            "ward": ward,
            "wards": wards,
            "refresh_seconds": DASHBOARD_REFRESH_SECONDS,
            "now_day": timezone.localtime(now).strftime("%Y%m%d"),
            "can_read_reports": user.is_staff and user.has_role(Role.PHARMACIST, Role.ADMIN),
        },
        status=200 if ward else 403,
    )
    response["Cache-Control"] = "no-store"  # patient names: not kept by the browser
    return response
