"""The back office's view of infusion bags: the ward dashboard's bags due to end or overdue for a
change, and the "IV bag status" report (its CSV and chart as every report's)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.reports.definitions import REPORTS
from backoffice.reports.selectors import ReportFilter, ward_dashboard_get
from tests.scanning.test_infusions import Bedside

pytestmark = pytest.mark.django_db


def ending(bedside, now):
    return ward_dashboard_get(ward=bedside.ward, now=now).lists()["infusions-ending"]


def test_a_bag_shows_on_the_dashboard_when_it_is_due_to_end_and_when_overdue():
    bedside = Bedside()
    hung_at = timezone.now()
    assert bedside.hang().status_code == 201  # 1000 mL at 125 mL/h: ends 8 h later

    assert ending(bedside, hung_at + timedelta(hours=7)) == []
    (soon,) = ending(bedside, hung_at + timedelta(hours=7, minutes=40))
    (late,) = ending(bedside, hung_at + timedelta(hours=8, minutes=10))

    assert (soon.state, soon.detail) == ("bag_ending", "1")
    assert late.state == "bag_overdue"
    assert abs(late.due_at - (hung_at + timedelta(hours=8))) < timedelta(seconds=5)
    assert "125 mL/h" in late.medication


def test_a_paused_or_completed_bag_is_not_due_to_end():
    bedside = Bedside()
    hung_at = timezone.now()
    bedside.hang()
    bedside.act("pause")

    assert ending(bedside, hung_at + timedelta(hours=9)) == []
    bedside.act("complete")
    assert ending(bedside, hung_at + timedelta(hours=9)) == []


def test_the_iv_bag_report_counts_bags_by_medication():
    bedside = Bedside()
    bedside.hang(
        rate="150",
        overrides=[{"code": "INFUSION_RATE_OUTSIDE_ORDER", "reason": "PRESCRIBER_AWARE"}],
    )
    bedside.act("complete", volume_infused_ml="980")
    today = timezone.localdate()

    content = REPORTS["iv-bags"].build(ReportFilter(date_from=today, date_to=today), timezone.now())

    table = content.table("medications")
    (row, total) = table.rows
    assert row[:8] == ("Natri clorid 0,9% 1000 mL", 1, 1, 0, 0, 980, 0, 1)
    assert total[0] == "Tổng" or total[0] == "Total"
    assert content.table("infusing").rows == []


def test_the_iv_bag_report_page_csv_and_chart(client, django_user_model):
    from tests.factories import PharmacistFactory

    bedside = Bedside()
    bedside.hang()
    pharmacist = PharmacistFactory(is_staff=True)
    client.force_login(pharmacist)
    today = timezone.localdate()

    page = client.get(f"/pharmacy/reports/iv-bags/?date_from={today}&date_to={today}")
    csv = client.get(
        f"/pharmacy/reports/iv-bags/csv/?date_from={today}&date_to={today}&table=infusing"
    )
    chart = client.get(f"/pharmacy/reports/iv-bags/chart/?date_from={today}&date_to={today}")

    assert page.status_code == csv.status_code == chart.status_code == 200
    assert "Natri clorid 0,9% 1000 mL" in csv.content.decode("utf-8-sig")


def test_the_pharmacists_review_shows_the_infusion(client):
    from django.urls import reverse

    from tests.factories import PharmacistFactory

    bedside = Bedside()
    client.force_login(PharmacistFactory(is_staff=True))

    page = client.get(reverse("pharmacy:verification-review", args=[bedside.order.external_id]))

    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="order-infusion"' in text
    assert "1000 mL · 125 mL/h" in text
    assert "KCl 20 mmol" in text
