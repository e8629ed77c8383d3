"""Report edge cases found in review: doses after discharge, PRN orders not in force."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from backoffice.reports import selectors
from backoffice.reports.selectors import ReportFilter
from pharmacy.models import OrderStatus, ScheduleKind
from pharmacy.services import order_discontinue, scheduled_doses_generate
from tests.factories import AdmissionFactory, OrderFactory
from wards.services import admission_discharge

pytestmark = pytest.mark.django_db
HCMC = ZoneInfo("Asia/Ho_Chi_Minh")


def test_doses_due_after_discharge_are_not_due():
    t0 = datetime(2026, 11, 20, 6, 0, tzinfo=HCMC)
    with time_machine.travel(t0, tick=False):
        admission = AdmissionFactory()
        OrderFactory(admission=admission, start_at=t0 - timedelta(hours=1))
        admission_discharge(admission=admission)  # discharged 06:00, before any dose
    # the nightly/rolling generator keeps running for this still-"active" order
    for day in range(1, 4):
        with time_machine.travel(t0 + timedelta(days=day), tick=False):
            scheduled_doses_generate()
    with time_machine.travel(t0 + timedelta(days=4), tick=False):
        report = selectors.report_dose_timing(
            filters=ReportFilter(date_from=t0.date(), date_to=(t0 + timedelta(days=3)).date()),
            now=t0 + timedelta(days=4),
        )
    assert (report.total.due, report.total.missed) == (0, 0)


PRN = dict(
    schedule_kind=ScheduleKind.PRN,
    times_of_day=[],
    prn_indication="pain",
    prn_min_interval_minutes=240,
    prn_max_per_24h=Decimal("4000"),
)


def test_prn_orders_ended_before_the_period_or_never_verified_are_not_in_force():
    t0 = datetime(2026, 11, 1, 8, 0, tzinfo=HCMC)
    with time_machine.travel(t0, tick=False):
        stopped = OrderFactory(start_at=t0, **PRN)
        order_discontinue(order=stopped, reason="no longer needed")  # ended 1 Nov
        never = OrderFactory(
            start_at=t0,
            status=OrderStatus.PENDING_VERIFICATION,
            verified_by=None,
            verified_at=None,
            medication=stopped.medication,
            **PRN,
        )
        order_discontinue(order=never, reason="entered on the wrong patient")  # never verified
    report = selectors.report_prn(
        filters=ReportFilter(
            date_from=t0.date() + timedelta(days=10), date_to=t0.date() + timedelta(days=16)
        )
    )
    assert all(r.patients_with_order == 0 for r in report.rows)
