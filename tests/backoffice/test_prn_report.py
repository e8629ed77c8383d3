"""The PRN effectiveness report (issue 18): PRN doses by medication and ward, each reassessed on
time, late, not reassessed (past due plus the grace) or not yet due, with the effective share;
its page, CSV and chart."""

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from backoffice.reports import selectors
from backoffice.reports.selectors import ReportFilter
from pharmacy.models import ScheduleKind
from scanning.models import AdministrationStatus, PrnReassessment
from tests.factories import (
    AdministrationFactory,
    AdmissionFactory,
    MedicationFactory,
    OrderFactory,
    PharmacistFactory,
    WardFactory,
)

pytestmark = pytest.mark.django_db

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=HCMC)


def prn_order(ward, medication, route="PO"):
    return OrderFactory(
        admission=AdmissionFactory(ward=ward),
        medication=medication,
        route=route,
        schedule_kind=ScheduleKind.PRN,
        times_of_day=[],
        prn_indication="Đau",
        prn_min_interval_minutes=60,
        prn_max_per_24h=Decimal("4000"),
        start_at=NOW - timedelta(days=2),
    )


def given(order, minutes_ago, **extra):
    return AdministrationFactory(
        order=order, administered_at=NOW - timedelta(minutes=minutes_ago), prn_reason="Đau", **extra
    )


def reassessed(record, effect, minutes_late=0):
    return PrnReassessment.objects.create(
        administration=record,
        patient=record.patient,
        performer=record.performer,
        documented_at=record.administered_at + timedelta(minutes=60 + minutes_late),
        due_at=record.administered_at + timedelta(minutes=60),
        minutes_late=minutes_late,
        effect=effect,
        pain_score=3,
    )


@pytest.fixture
def ledger():
    with time_machine.travel(NOW, tick=False):
        noi = WardFactory(code="NOI")
        tramadol = MedicationFactory(name="Tramadol 50 mg viên nang", analgesic=True)
        order = prn_order(noi, tramadol)
        # on time and effective; late by 40 min and partly; never reassessed (given 5 h ago, due
        # 4 h ago: missing); given 30 min ago (due in 30 min: not yet due)
        reassessed(given(order, 300), "effective")
        reassessed(given(order, 240), "partly", minutes_late=40)
        given(order, 200)
        given(order, 30)
        # withdrawn as entered in error: not a dose
        withdrawn = given(order, 100)
        AdministrationFactory(
            order=order,
            status=AdministrationStatus.ENTERED_IN_ERROR,
            corrects=withdrawn,
            reason="not_given",
            administered_at=NOW - timedelta(minutes=90),
            amount=None,
        )
        yield {"ward": noi, "order": order}


def test_doses_are_counted_on_time_late_missing_and_not_yet_due(ledger):
    report = selectors.report_prn_effectiveness(
        filters=ReportFilter(date_from=NOW.date(), date_to=NOW.date()), now=NOW
    )

    [row] = report.rows
    assert (row.medication, row.ward) == ("Tramadol 50 mg viên nang", "NOI")
    assert (row.doses, row.on_time, row.late, row.missing, row.pending) == (4, 1, 1, 1, 1)
    assert (row.effective, row.partly, row.not_effective) == (1, 1, 0)
    assert row.effective_share == Decimal("50.0")
    assert row.on_time_share == Decimal("33.3")
    assert row.minutes_late == [40]


def test_the_page_and_csv_show_the_figures(client, ledger):
    client.force_login(PharmacistFactory(is_superuser=True, is_staff=True))
    with time_machine.travel(NOW, tick=False):
        page = client.get("/pharmacy/reports/prn-effectiveness/", {"date_from": "2026-11-24"})
        exported = client.get(
            "/pharmacy/reports/prn-effectiveness/csv/", {"date_from": "2026-11-24"}
        )
        chart = client.get(
            "/pharmacy/reports/prn-effectiveness/chart/", {"date_from": "2026-11-24"}
        )

    assert page.status_code == 200
    assert exported.status_code == 200 and chart.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][:9] == ["Tramadol 50 mg viên nang", "NOI", "4", "1", "1", "40", "1", "1", "1"]
    assert rows[-1][0] in ("Tổng", "Total")


def test_a_late_reassessment_is_a_variance_and_one_on_time_is_not(ledger):
    report = selectors.report_variances(
        filters=ReportFilter(date_from=NOW.date(), date_to=NOW.date()), now=NOW
    )

    late = [line for line in report.lines if line.kind == selectors.VARIANCE_LATE_REASSESSMENT]
    assert [(line.code, line.minutes, line.ward_code) for line in late] == [
        ("PRN_REASSESSMENT_LATE", 40, "NOI")
    ]
    # documented 240 min ago + 60 due + 40 late
    assert late[0].at == NOW - timedelta(minutes=140)
    assert late[0].due_at == NOW - timedelta(minutes=180)
