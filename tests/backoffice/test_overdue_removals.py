"""Patches overdue for removal in the back office: the report (page, CSV) and the ward
dashboard's tile, both read through scanning.selectors.removals_overdue."""

from datetime import date, timedelta

import time_machine
from django.utils import translation

from backoffice.reports.definitions import REPORTS
from backoffice.reports.selectors import ReportFilter, ward_dashboard_get
from tests.factories import PharmacistFactory
from tests.scanning.test_patches import T0, fentanyl  # noqa: F401

DUE = T0 + timedelta(hours=72)


def test_a_patch_is_not_overdue_before_its_wear_time(fentanyl):  # noqa: F811
    fentanyl.apply("LUA")
    ward = fentanyl.band.admission.ward

    report = REPORTS["overdue-removals"].build(
        ReportFilter(date_from=date(2026, 11, 24), date_to=date(2026, 11, 24)),
        DUE - timedelta(minutes=1),
    )

    assert report.headlines[0].value == 0
    assert (
        ward_dashboard_get(ward=ward, now=DUE - timedelta(minutes=1)).lists()["overdue-removal"]
        == []
    )


def test_the_report_and_the_dashboard_list_a_patch_past_its_removal_time(fentanyl):  # noqa: F811
    fentanyl.apply("LUA")
    ward = fentanyl.band.admission.ward
    now = DUE + timedelta(hours=5)

    with translation.override("vi"):
        report = REPORTS["overdue-removals"].build(
            ReportFilter(date_from=date(2026, 11, 27), date_to=date(2026, 11, 27), ward=ward), now
        )
    rows = ward_dashboard_get(ward=ward, now=now).lists()["overdue-removal"]

    assert report.headlines[0].value == 1
    (row,) = report.tables[0].rows
    assert row[2] == fentanyl.band.patient.mrn
    assert row[4:] == ("cánh tay trái", "2026-11-24 08:00", "2026-11-27 08:00", 5)
    assert [(r.mrn, r.state, r.detail) for r in rows] == [
        (fentanyl.band.patient.mrn, "overdue_removal", "LUA")
    ]


def test_the_csv_and_the_dashboard_page_show_it(fentanyl, client):  # noqa: F811
    fentanyl.apply("LUA")
    pharmacist = PharmacistFactory(is_staff=True)

    with time_machine.travel(DUE + timedelta(hours=1), tick=False):
        client.force_login(pharmacist)  # a session of that day
        csv = client.get("/pharmacy/reports/overdue-removals/csv/")
        page = client.get(f"/dashboard/?ward={fentanyl.band.admission.ward.code}")

    assert csv.status_code == 200
    assert fentanyl.band.patient.mrn in csv.content.decode()
    assert page.status_code == 200
    assert fentanyl.band.patient.mrn in page.content.decode()
