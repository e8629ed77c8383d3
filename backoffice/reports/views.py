"""Report pages, their CSV downloads and charts (pharmacy site), and the ward dashboard. Thin: parse
the filter, call one selector (through the report's definition), render."""

import csv
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from backoffice.admin_site import pharmacy_site
from backoffice.reports import charts
from backoffice.reports.definitions import (
    COUNTING,
    REPORTS,
    ReportDefinition,
    finding_label,
    not_given_label,
    override_reason_label,
)
from backoffice.reports.forms import ReportFilterForm
from backoffice.reports.selectors import DashboardRow, ward_dashboard_get
from backoffice.tenancy import wards_of_my_hospitals
from hospital.models import Role
from hospital.replica import reads_from_replica
from pharmacy.body_sites import site_label
from wards.models import Ward


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


@reads_from_replica
def report_page(request, slug: str):
    definition = _definition(slug)
    form = ReportFilterForm(request.GET, now=timezone.now(), user=request.user)
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


@reads_from_replica
def report_csv(request, slug: str):
    definition = _definition(slug)
    form = ReportFilterForm(request.GET, now=timezone.now(), user=request.user)
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


@reads_from_replica
def report_chart(request, slug: str):
    definition = _definition(slug)
    fmt = request.GET.get("format", "svg")
    if fmt not in charts.FORMATS:
        return HttpResponseBadRequest("format: svg or png", content_type="text/plain")
    form = ReportFilterForm(request.GET, now=timezone.now(), user=request.user)
    if not form.is_valid():
        return HttpResponseBadRequest(form.errors.as_text(), content_type="text/plain")
    chart = definition.build(form.report_filter(), timezone.now()).chart
    response = HttpResponse(charts.chart_render(chart, fmt), content_type=charts.FORMATS[fmt])
    response["Cache-Control"] = "private, no-cache"
    return response


# --- The ward dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    id: str  # the key of its rows in WardDashboard.lists()
    label: Promise
    tone: str  # "bad" (red) or "warn" (amber) when its number is not 0


# The tiles in the order shown. To add one: its rows in WardDashboard.lists(), a line here.
DASHBOARD_TILES = (
    Tile("overdue", gettext_lazy("Overdue"), "bad"),
    Tile("missed", gettext_lazy("Past due, not given (last 24 h)"), "bad"),
    Tile("high-alert", gettext_lazy("High-alert doses due"), "bad"),
    Tile("due-now", gettext_lazy("Due now"), "warn"),
    Tile("late-today", gettext_lazy("Given late today"), "warn"),
    Tile("not-given-today", gettext_lazy("Reported not given today"), "warn"),
    Tile("overrides-today", gettext_lazy("Overrides today"), "warn"),
    Tile(
        "band-not-scanned",
        gettext_lazy("Patients given a dose today without a wristband scan"),
        "bad",
    ),
    Tile("without-band", gettext_lazy("Patients without an active wristband"), "bad"),
    Tile("unrecorded", gettext_lazy("Scanned but not recorded"), "bad"),
    Tile("infusions-ending", gettext_lazy("Due to end or overdue for a bag change"), "warn"),
    Tile("overdue-removal", gettext_lazy("Patches overdue for removal"), "bad"),
    Tile("reassessment-due", gettext_lazy("PRN doses due for reassessment"), "warn"),
)

STATE_LABELS = {
    "due": gettext_lazy("Due now"),
    "overdue": gettext_lazy("Overdue"),
    "missed": gettext_lazy("Past due, not given"),
    "late": gettext_lazy("Given late"),
    "not_given": gettext_lazy("Reported not given"),
    "override": gettext_lazy("Override"),
    "band_typed": gettext_lazy("Wristband typed, not scanned"),
    "no_band": gettext_lazy("No active wristband"),
    "unrecorded": gettext_lazy("Scanned, not recorded"),
    "bag_ending": gettext_lazy("Ending soon"),
    "bag_overdue": gettext_lazy("Overdue"),
    "overdue_removal": gettext_lazy("Overdue for removal"),
    "reassessment_due": gettext_lazy("Effect to reassess"),
}


def _state_text(row: DashboardRow) -> str:
    label = str(STATE_LABELS.get(row.state, row.state))
    if row.state == "late" and row.detail:
        return _("%(state)s at %(time)s") % {"state": label, "time": row.detail}
    if row.state == "not_given" and row.detail:
        return f"{label}: {not_given_label(row.detail)}"
    if row.state == "unrecorded" and row.detail:
        return _("Scanned at %(time)s by %(nurse)s, not recorded") % {
            "time": row.detail,
            "nurse": row.by,
        }
    if row.state in ("bag_ending", "bag_overdue") and row.detail:
        return _("%(state)s (line %(line)s)") % {"state": label, "line": row.detail}
    if row.state == "overdue_removal" and row.detail:
        return f"{label}: {site_label(row.detail, translation.get_language() or 'vi')}"
    if row.state == "reassessment_due" and row.detail:
        return f"{label}: {row.detail}"
    if row.state == "override" and row.detail:
        code, _sep, reason = row.detail.partition(":")
        return f"{finding_label(code)}: {override_reason_label(reason)}"
    return label


def dashboard_wards(user):
    """The wards this user may watch: every ward of her hospitals for pharmacists and
    administrators, her own wards for a charge nurse, none (None) for anyone else."""
    if user.is_superuser or user.has_role(Role.PHARMACIST, Role.ADMIN):
        return wards_of_my_hospitals(user).order_by("code")
    if user.has_role(Role.CHARGE_NURSE):
        return user.wards.order_by("code")
    return None


@reads_from_replica
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
    lists = dashboard.lists() if dashboard else {}
    tiles = [
        {
            "id": tile.id,
            "label": tile.label,
            "tone": tile.tone,
            "count": len(lists[tile.id]),
            "rows": [{"row": row, "state": _state_text(row)} for row in lists[tile.id]],
        }
        for tile in DASHBOARD_TILES
        if dashboard
    ]
    response = render(
        request,
        "pharmacy/dashboard.html",
        {
            "dashboard": dashboard,
            "tiles": tiles,
            "ward": ward,
            "wards": wards,
            "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
            "config": {
                "idleSeconds": settings.DASHBOARD_IDLE_LOCK_SECONDS,
                "refreshSeconds": settings.DASHBOARD_REFRESH_SECONDS,
                "loginUrl": reverse("cart:login"),
                "strings": {
                    "locking": _("No one has touched this screen: it locks in {seconds} s."),
                    "stale": _("Could not refresh: the figures are from {time}."),
                },
            },
            "now_day": timezone.localtime(now).strftime("%Y%m%d"),
            "can_read_reports": user.is_staff and user.has_role(Role.PHARMACIST, Role.ADMIN),
        },
        status=200 if ward else 403,
    )
    response["Cache-Control"] = "no-store"  # patient names: not kept by the browser
    return response


@require_POST
def dashboard_logout(request):
    """Log out (the button, or the page's idle lock) and go to the cart's login, which brings a
    charge nurse back to the dashboard."""
    logout(request)
    query = {"next": _dashboard_next(request)}
    if request.POST.get("reason") == "idle":
        query["locked"] = "1"
    return redirect(f"{reverse('cart:login')}?{urlencode(query)}")


def _dashboard_next(request) -> str:
    target = request.POST.get("next", "")
    home = reverse("dashboard:ward")
    if target.startswith(home) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return home
