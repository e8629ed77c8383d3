"""The pharmacy reports against a data set worked out by hand (tests/backoffice/report_data.py: every
record there is numbered, and the comments below name the records behind each figure)."""

import csv
import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape
from PIL import Image

from backoffice.reports import charts, selectors
from backoffice.reports.definitions import REPORTS
from backoffice.reports.selectors import ReportFilter
from tests.backoffice.report_data import D0, D1, D2, D3, HCMC, NOW, at, report_data_loaded

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def data(django_db_setup, django_db_blocker):
    with report_data_loaded(django_db_blocker) as loaded:
        yield loaded


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def pharmacist_client(client, data, frozen):
    client.force_login(data.pharmacist)
    return client


def period(date_from=D1, date_to=D2, **kwargs) -> ReportFilter:
    return ReportFilter(date_from=date_from, date_to=date_to, **kwargs)


def compliance(row: selectors.ComplianceRow) -> tuple:
    return (row.given, row.band_scanned, row.medication_scanned, row.fully_scanned)


def timing(row: selectors.TimingRow) -> dict:
    return {
        name: getattr(row, name)
        for name in ("due", "on_time", "early", "late", "not_given", "missed", "open")
    }


def svg_ids(svg: bytes, prefix: str) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return [e.get("id") for e in root.iter() if (e.get("id") or "").startswith(prefix)]


def read_csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel needs the BOM to read Vietnamese
    return list(csv.reader(io.StringIO(text[1:])))


# --- 1. Scan compliance -----------------------------------------------------------------------


def test_scan_compliance_counts_each_dose_given_once_with_how_it_was_identified(data):
    report = selectors.report_scan_compliance(filters=period())

    # 14 doses given on D1–D2: NOI #1 #2 #3 #5 #7 #A9 #8 #9 #11 (its replacement counts once,
    # through the bedside record) and NGOAI #13 #14 #17 #19 #20; #6 and #16 were withdrawn.
    # Wristband typed: #7, #14. Tablet typed: #3, #14 (#16's typed tablet was withdrawn).
    assert compliance(report.total) == (14, 12, 12, 11)
    assert [(r.key, r.label, *compliance(r)) for r in report.by_ward] == [
        ("NGOAI", "NGOAI – Khoa Ngoại tổng hợp", 5, 4, 4, 4),
        ("NOI", "NOI – Khoa Nội tổng hợp", 9, 8, 8, 7),
    ]
    assert [(r.key, r.label, *compliance(r)) for r in report.by_nurse] == [
        ("dd.mai", "Lê Thị Mai", 5, 4, 4, 4),
        ("dd.hoa", "Nguyễn Thị Hoa", 5, 5, 5, 5),
        ("dd.binh", "Trần Văn Bình", 4, 3, 3, 2),
    ]
    assert report.total.band_not_scanned == 2
    assert report.total.medication_keyed == 2
    assert report.total.band_rate == Decimal("85.7")  # 12 / 14
    assert report.by_nurse[2].full_rate == Decimal("50.0")  # Bình: 2 / 4


def test_a_corrected_dose_counts_once_and_a_withdrawn_one_not_at_all(data):
    replacement = data.records["#11-replacement"]
    assert replacement.replaces_id == data.records["#11"].pk
    assert not replacement.units.exists()  # the bedside record holds the units and the scan

    noi = selectors.report_scan_compliance(filters=period(D2, D2, ward=data.noi)).total
    # NOI on D2: #3, #7, #A9 and #11 (given 1 g, corrected to 0.5 g: one dose, scanned).
    assert compliance(noi) == (4, 3, 3, 2)
    ngoai = selectors.report_scan_compliance(filters=period(D2, D2, ward=data.ngoai)).total
    # NGOAI on D2: #17, #19, #20; #16 (typed tablet) was withdrawn as the wrong patient.
    assert compliance(ngoai) == (3, 3, 3, 3)


# --- 2. Overrides -----------------------------------------------------------------------------


def test_overrides_by_finding_code_and_reason(data):
    report = selectors.report_overrides(filters=period())

    # #2 late, #3 early + typed, #7 typed, #8 late, #14 late + typed, #17 early; #16's typed
    # override was withdrawn with its record.
    assert report.doses_given == 14
    assert report.doses_with_override == 6
    assert report.doses_with_override_rate == Decimal("42.9")
    assert report.total == 8
    assert [(r.code, r.count, r.reasons, r.rate) for r in report.rows] == [
        ("KEYED_ENTRY", 3, {"DAMAGED_BARCODE": 2, "SCANNER_FAILURE": 1}, Decimal("21.4")),
        ("TOO_LATE", 3, {"CLINICAL_DELAY": 2, "PATIENT_UNAVAILABLE": 1}, Decimal("21.4")),
        ("TOO_EARLY", 2, {"PATIENT_LEAVING_UNIT": 1, "PROCEDURE_SCHEDULED": 1}, Decimal("14.3")),
    ]


# --- 3. Missed and late doses -----------------------------------------------------------------


@pytest.mark.parametrize("change", ["verified-later", "deceased"])
def test_a_dose_that_was_never_due_is_not_missed(data, change):
    from pharmacy.models import MedicationOrder
    from wards.models import Patient

    # given: A's D2 20:00 paracetamol, nothing recorded, is missed; now say it was never due
    if change == "verified-later":
        MedicationOrder.objects.filter(pk=data.orders["A-para"].pk).update(
            verified_at=at(D2, "21:00")
        )
    else:
        Patient.objects.filter(pk=data.admissions["A"].patient_id).update(
            deceased_at=at(D2, "19:00")
        )

    report = selectors.report_dose_timing(filters=period(), now=NOW)

    noi = next(row for row in report.by_ward if row.key == "NOI")
    assert (noi.missed, noi.due) == (0, 7)
    # the doses given before still count as given
    assert noi.on_time + noi.early + noi.late == 6


def test_dose_timing_against_each_wards_window(data):
    report = selectors.report_dose_timing(filters=period(), now=NOW)

    # NOI (±60, time-critical ±30): on time A D1-08, B D1-18 (18:30, on the edge), B D2-18
    # (replacement); early A D2-08 (06:50); late A D1-20 (21:30), B D1-06 (06:40); not given
    # B D2-06; missed A D2-20.
    # NGOAI (±30): on time C D1-08 (08:30, on the edge); early C D2-14 (13:20); late C D1-14
    # (14:45); not given C D1-20; missed C D2-08 (given, withdrawn) and C D2-20 (not given,
    # withdrawn).
    assert [(r.key, timing(r)) for r in report.by_ward] == [
        ("NGOAI", dict(due=6, on_time=1, early=1, late=1, not_given=1, missed=2, open=0)),
        ("NOI", dict(due=8, on_time=3, early=1, late=2, not_given=1, missed=1, open=0)),
    ]
    assert timing(report.total) == dict(
        due=14, on_time=4, early=2, late=3, not_given=2, missed=3, open=0
    )
    assert report.total.on_time_rate == Decimal("44.4")  # 4 of 9 given
    assert [
        (
            line.due_at.astimezone(HCMC).strftime("%d %H:%M"),
            line.ward_code,
            line.bed,
            line.outcome,
            line.minutes_late,
            line.nurse,
            line.time_critical,
        )
        for line in report.exceptions
    ] == [
        ("23 06:00", "NOI", "02", "late", 40, "Nguyễn Thị Hoa", True),
        ("23 14:00", "NGOAI", "01", "late", 45, "Lê Thị Mai", False),
        ("23 20:00", "NOI", "01", "late", 90, "Nguyễn Thị Hoa", False),
        ("24 08:00", "NGOAI", "01", "missed", None, "", False),
        ("24 20:00", "NOI", "01", "missed", None, "", False),
        ("24 20:00", "NGOAI", "01", "missed", None, "", False),
    ]


def test_a_dose_is_open_until_four_hours_past_its_window_then_missed(data):
    # A's D2 20:00 dose (window ±60): open until D3 01:00, missed after.
    def outcome(now):
        noi = selectors.report_dose_timing(filters=period(D2, D2, ward=data.noi), now=now)
        return noi.total.open, noi.total.missed

    window_end_plus_4h = NOW.replace(day=25, hour=1, minute=0)
    assert outcome(window_end_plus_4h) == (1, 0)
    assert outcome(window_end_plus_4h + timedelta(seconds=1)) == (0, 1)


# --- 4. Not given -----------------------------------------------------------------------------


def test_not_given_by_reason_leaves_out_withdrawn_records(data):
    report = selectors.report_not_given(filters=period())
    # #10 refused (NOI), #15 NPO (NGOAI); #18 refused was withdrawn.
    assert report.rows == [("npo", 1), ("refused", 1)]
    assert report.total == 2


# --- 5. Unable to scan ------------------------------------------------------------------------


def test_unable_to_scan_by_reason_and_product(data):
    report = selectors.report_unable_to_scan(filters=period())
    gtin = data.paracetamol.gtin
    # #3 tablet typed (damaged barcode), #7 wristband typed (damaged barcode), #14 wristband and
    # tablet typed (scanner failure); #16 (no barcode) was withdrawn.
    assert sorted((r.reason, r.gtin, r.product, r.doses, r.units) for r in report.rows) == [
        ("DAMAGED_BARCODE", "", "", 1, 0),
        ("DAMAGED_BARCODE", gtin, "Paracetamol 500 mg viên nén", 1, 1),
        ("SCANNER_FAILURE", "", "", 1, 0),
        ("SCANNER_FAILURE", gtin, "Paracetamol 500 mg viên nén", 1, 1),
    ]
    assert report.doses_by_reason == {"DAMAGED_BARCODE": 2, "SCANNER_FAILURE": 1}
    assert report.doses == 3


# --- 6. PRN use -------------------------------------------------------------------------------


def test_prn_use_per_medication_and_patient_day(data):
    report = selectors.report_prn(filters=period())
    # Tramadol: A #5 (D1), #7 and #A9 (D2); C #19 and #20 (D2). #6 withdrawn; #C0 (D0 23:50)
    # and #C3 (D3 00:10) are outside D1–D2 in local time.
    [row] = report.rows
    assert (
        row.medication,
        row.patients_with_order,
        row.patients_treated,
        row.doses,
        row.patient_days,
        row.doses_per_patient_day,
        row.max_per_patient_day,
        row.amounts,
    ) == ("Tramadol 50 mg viên nang", 2, 2, 5, 3, Decimal("1.67"), 2, {"mg": Decimal("250")})


# --- Filters ----------------------------------------------------------------------------------


def test_the_ward_filter_keeps_one_wards_records(data):
    ngoai = period(ward=data.ngoai)
    assert compliance(selectors.report_scan_compliance(filters=ngoai).total) == (5, 4, 4, 4)
    overrides = selectors.report_overrides(filters=ngoai)
    assert [(r.code, r.count) for r in overrides.rows] == [
        ("KEYED_ENTRY", 1),
        ("TOO_EARLY", 1),
        ("TOO_LATE", 1),
    ]
    assert [r.key for r in selectors.report_dose_timing(filters=ngoai, now=NOW).by_ward] == [
        "NGOAI"
    ]
    assert selectors.report_not_given(filters=ngoai).rows == [("npo", 1)]
    ngoai_typed = selectors.report_unable_to_scan(filters=ngoai)
    assert sorted((r.reason, r.gtin, r.doses) for r in ngoai_typed.rows) == [
        ("SCANNER_FAILURE", "", 1),
        ("SCANNER_FAILURE", data.paracetamol.gtin, 1),
    ]
    assert selectors.report_unable_to_scan(filters=period(ward=data.noi)).doses_by_reason == {
        "DAMAGED_BARCODE": 2
    }
    [prn] = selectors.report_prn(filters=ngoai).rows
    assert (prn.doses, prn.patients_with_order, prn.patient_days) == (2, 1, 1)


def test_the_nurse_filter_keeps_what_that_nurse_recorded(data):
    binh = period(nurse=data.binh)
    assert compliance(selectors.report_scan_compliance(filters=binh).total) == (4, 3, 3, 2)
    assert selectors.report_overrides(filters=binh).total == 3  # #3 early + typed, #7 typed
    assert selectors.report_not_given(filters=binh).rows == [("refused", 1)]
    timing_report = selectors.report_dose_timing(filters=binh, now=NOW)
    # Doses Bình documented: A D2-08 early (#3), B D2-06 not given (#10), B D2-18 on time (#11,
    # whose replacement keeps her as the performer). Missed doses have no nurse.
    assert timing(timing_report.total) == dict(
        due=3, on_time=1, early=1, late=0, not_given=1, missed=0, open=0
    )
    assert timing_report.nurse_filtered
    [prn] = selectors.report_prn(filters=binh).rows
    assert (prn.doses, prn.patient_days) == (2, 1)  # #7 and #A9, both A on D2


@pytest.mark.parametrize(
    ("date_from", "date_to", "prn_doses", "prn_patient_days"),
    [
        (D0, D0, 1, 1),  # #C0 at 23:50 (16:50 UTC)
        (D1, D1, 1, 1),  # #5 (#6 withdrawn)
        (D2, D2, 4, 2),  # #7, #A9 at 23:50; not #C3 at D3 00:10, though it is D2 in UTC
        (D3, D3, 1, 1),  # #C3
        (D2, D3, 5, 3),  # C's doses fall on two local days: D2 and D3
    ],
)
def test_date_ranges_are_local_days_with_both_ends_included(
    data, date_from, date_to, prn_doses, prn_patient_days
):
    [prn] = selectors.report_prn(filters=period(date_from, date_to)).rows
    assert (prn.doses, prn.patient_days) == (prn_doses, prn_patient_days)


def test_a_single_local_day_of_every_report(data):
    day = period(D1, D1)
    # D1: #8, #1, #13, #5, #14, #9, #2 given; #14's wristband and tablet typed.
    assert compliance(selectors.report_scan_compliance(filters=day).total) == (7, 6, 6, 6)
    assert timing(selectors.report_dose_timing(filters=day, now=NOW).total) == dict(
        due=7, on_time=3, early=0, late=3, not_given=1, missed=0, open=0
    )
    assert selectors.report_not_given(filters=day).rows == [("npo", 1)]
    d3 = period(D3, D3)
    # D3: #C3 at 00:10 and #B3 at 06:45 (wristband typed).
    assert compliance(selectors.report_scan_compliance(filters=d3).total) == (2, 1, 2, 1)


# --- Query counts -----------------------------------------------------------------------------

QUERIES = {
    "scan-compliance": 1,
    "overrides": 2,
    "dose-timing": 2,
    "not-given": 1,
    "unable-to-scan": 3,
    "prn": 2,
    "prn-effectiveness": 1,
    "allergy-acknowledgements": 1,
    "iv-bags": 3,
    "overdue-removals": 1,
    "controlled-drug-waste": 1,
    "missing-doses": 4,
    "verbal-orders": 3,
    "variances": 4,  # one per kind of variance
}


@pytest.mark.parametrize("slug", list(REPORTS))
def test_each_report_takes_a_fixed_number_of_queries_whatever_the_data(data, slug):
    build = REPORTS[slug].build
    counts = []
    for filters in (
        period(D0 - timedelta(days=30), D0 - timedelta(days=20)),
        period(D1, D1),
        period(D0, D3),
        period(D0, D3, ward=data.noi, nurse=data.hoa),
    ):
        with CaptureQueriesContext(connection) as queries:
            build(filters, NOW)
        counts.append(len(queries))
    assert counts == [QUERIES[slug]] * 4


# --- Pages, CSV and charts --------------------------------------------------------------------


def test_the_index_lists_every_report(pharmacist_client):
    response = pharmacist_client.get("/pharmacy/reports/")
    assert response.status_code == 200
    for slug in REPORTS:
        assert f'href="/pharmacy/reports/{slug}/"'.encode() in response.content
    assert b'href="/dashboard/"' in response.content


@pytest.mark.parametrize("slug", list(REPORTS))
def test_each_report_page_shows_its_figures_definitions_and_chart(pharmacist_client, slug):
    response = pharmacist_client.get(f"/pharmacy/reports/{slug}/?date_from={D1}&date_to={D2}")
    assert response.status_code == 200
    assert response["Content-Language"] == "vi"
    definition = REPORTS[slug]
    page = response.content.decode()
    for term, _meaning in definition.definitions:
        assert f"<dt>{escape(term)}</dt>" in page
    assert f'src="/pharmacy/reports/{slug}/chart/?' in page
    assert f'href="/pharmacy/reports/{slug}/csv/?' in page
    assert 'id="site-name"' in page  # inside the pharmacy site's frame
    content = response.context["content"]
    for table in content.tables:
        assert f'id="table-{table.slug}"' in page or not table.rows


def test_the_scan_compliance_page_shows_the_total_figures(pharmacist_client):
    response = pharmacist_client.get(
        f"/pharmacy/reports/scan-compliance/?date_from={D1}&date_to={D2}"
    )
    headlines = [(h.value, h.percent) for h in response.context["content"].headlines]
    assert headlines == [
        (14, False),
        (Decimal("85.7"), True),
        (Decimal("85.7"), True),
        (Decimal("78.6"), True),
    ]
    # Vietnamese number format on the page (decimal comma).
    assert "85,7 %" in response.content.decode()


def test_the_form_defaults_to_the_last_seven_local_days(pharmacist_client):
    response = pharmacist_client.get("/pharmacy/reports/prn/")
    form = response.context["form"]
    assert (form.cleaned_data["date_from"], form.cleaned_data["date_to"]) == (
        D3 - timedelta(days=6),
        D3,
    )
    [row] = response.context["content"].tables[0].rows
    assert row[3] == 7  # every tramadol dose from D0 23:50 to D3 00:10 except #6


def test_scan_compliance_csv(pharmacist_client, data):
    query = f"date_from={D1}&date_to={D2}"
    response = pharmacist_client.get(f"/pharmacy/reports/scan-compliance/csv/?{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="scan-compliance_wards_{D1}_{D2}.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert len(rows[0]) == 10
    assert rows[1:] == [
        ["NGOAI – Khoa Ngoại tổng hợp", "5", "4", "1", "80.0", "4", "1", "80.0", "4", "80.0"],
        ["NOI – Khoa Nội tổng hợp", "9", "8", "1", "88.9", "8", "1", "88.9", "7", "77.8"],
        [rows[3][0], "14", "12", "2", "85.7", "12", "2", "85.7", "11", "78.6"],
    ]
    nurses = read_csv(
        pharmacist_client.get(f"/pharmacy/reports/scan-compliance/csv/?{query}&table=nurses")
    )
    assert [row[:2] for row in nurses[1:]] == [
        ["Lê Thị Mai", "5"],
        ["Nguyễn Thị Hoa", "5"],
        ["Trần Văn Bình", "4"],
    ]


def test_filtered_csv_names_the_filter_and_holds_its_rows(pharmacist_client, data):
    response = pharmacist_client.get(
        f"/pharmacy/reports/dose-timing/csv/?date_from={D1}&date_to={D2}&ward=NOI&table=doses"
    )
    assert f'filename="dose-timing_doses_{D1}_{D2}_NOI.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert [(r[0], r[1], r[2], r[9], r[10]) for r in rows[1:]] == [
        ("2026-11-23 06:00", "NOI", "02", "40", "Nguyễn Thị Hoa"),
        ("2026-11-23 20:00", "NOI", "01", "90", "Nguyễn Thị Hoa"),
        ("2026-11-24 20:00", "NOI", "01", "", ""),
    ]
    nurse = pharmacist_client.get(
        f"/pharmacy/reports/not-given/csv/?date_from={D1}&date_to={D2}&nurse=dd.binh"
    )
    assert f"not-given_reasons_{D1}_{D2}_dd.binh.csv" in nurse["Content-Disposition"]
    _header, refused, total = read_csv(nurse)
    assert refused == ["refused", refused[1], "1", "100.0"]
    assert total[2:] == ["1", ""]


@pytest.mark.parametrize(
    ("slug", "table", "expected"),
    [
        ("overrides", "codes", [["KEYED_ENTRY", "3"], ["TOO_LATE", "3"], ["TOO_EARLY", "2"]]),
        ("not-given", "reasons", [["npo", "1"], ["refused", "1"]]),
        ("unable-to-scan", "reasons", [["DAMAGED_BARCODE", "2"], ["SCANNER_FAILURE", "1"]]),
        ("prn", "medications", [["Tramadol 50 mg viên nang", "5"]]),
    ],
)
def test_every_report_downloads_as_csv(pharmacist_client, slug, table, expected):
    response = pharmacist_client.get(
        f"/pharmacy/reports/{slug}/csv/?date_from={D1}&date_to={D2}&table={table}"
    )
    rows = read_csv(response)[1:]
    value_column = {"overrides": 2, "not-given": 2, "unable-to-scan": 2, "prn": 3}[slug]
    figures = [[row[0], row[value_column]] for row in rows if row[0] in {e[0] for e in expected}]
    assert figures == expected


def test_the_scan_compliance_chart_has_a_bar_per_nurse_and_measure(pharmacist_client):
    response = pharmacist_client.get(
        f"/pharmacy/reports/scan-compliance/chart/?date_from={D1}&date_to={D2}"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    # Three nurses × (wristband, medication, both).
    assert len(svg_ids(response.content, "bar-")) == 9
    assert svg_ids(response.content, "label-") == ["label-0", "label-1", "label-2"]


@pytest.mark.parametrize(
    ("slug", "bars", "labels"),
    [
        ("overrides", 3, 3),  # three finding codes
        ("dose-timing", 10, 2),  # two wards × on time, early, late, not given, missed
        ("not-given", 2, 2),
        ("unable-to-scan", 4, 2),  # (paracetamol, wristband) × (damaged, scanner failure)
        ("prn", 2, 1),  # tramadol: doses and patient-days
    ],
)
def test_every_chart_draws_its_figures(pharmacist_client, slug, bars, labels):
    response = pharmacist_client.get(f"/pharmacy/reports/{slug}/chart/?date_from={D1}&date_to={D2}")
    assert len(svg_ids(response.content, "bar-")) == bars
    assert len(svg_ids(response.content, "label-")) == labels


def test_a_chart_as_png(pharmacist_client):
    response = pharmacist_client.get(
        f"/pharmacy/reports/dose-timing/chart/?date_from={D1}&date_to={D2}&format=png"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.width > 600 and image.height > 200


def test_an_empty_period_draws_a_chart_that_says_so(pharmacist_client):
    empty = D0 - timedelta(days=30)
    response = pharmacist_client.get(
        f"/pharmacy/reports/overrides/chart/?date_from={empty}&date_to={empty}"
    )
    assert svg_ids(response.content, "bar-") == []
    assert svg_ids(response.content, "empty") == ["empty"]


@pytest.mark.parametrize(
    "query",
    [
        f"date_from={D2}&date_to={D1}",  # backwards
        "date_from=2026-13-01",
        f"date_from={D0 - timedelta(days=400)}&date_to={D0}",  # more than a year
        "ward=NOWHERE",
        "nurse=duocsi.tuan",  # not a nurse
    ],
)
def test_bad_filters_are_a_400(pharmacist_client, query):
    for path in ("", "csv/", "chart/"):
        response = pharmacist_client.get(f"/pharmacy/reports/prn/{path}?{query}")
        assert response.status_code == 400, (path, query)


def test_unknown_reports_tables_and_formats(pharmacist_client):
    assert pharmacist_client.get("/pharmacy/reports/nothing/").status_code == 404
    assert pharmacist_client.get("/pharmacy/reports/prn/csv/?table=nothing").status_code == 404
    assert pharmacist_client.get("/pharmacy/reports/prn/chart/?format=gif").status_code == 400


# --- Who may read them ------------------------------------------------------------------------

REPORT_URLS = ["/pharmacy/reports/"] + [
    f"/pharmacy/reports/{slug}/{part}" for slug in REPORTS for part in ("", "csv/", "chart/")
]


def test_anonymous_users_are_sent_to_the_pharmacy_login(client, data, frozen):
    for url in REPORT_URLS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/pharmacy/login/?next="), url


def test_nurses_and_charge_nurses_are_refused(client, data, frozen):
    for user in (data.hoa, data.lan):
        client.force_login(user)
        for url in REPORT_URLS:
            response = client.get(url)
            # The pharmacy site refuses by sending back to its login, which says so.
            assert response.status_code == 302, url
            assert response["Location"].startswith("/pharmacy/login/"), url
        page = client.get("/pharmacy/reports/prn/", follow=True)
        assert b"report-filters" not in page.content


def test_an_administrator_reads_them_too(client, data, frozen):
    from tests.factories import UserFactory

    client.force_login(UserFactory(role="admin", is_staff=True))
    assert client.get("/pharmacy/reports/overrides/").status_code == 200


# --- Charts without a writable home -----------------------------------------------------------


def test_charts_render_when_home_is_not_writable(tmp_path):
    # /proc cannot hold a directory even for root: matplotlib must fall back on its own.
    script = (
        "from backoffice.reports import charts\n"
        "chart = charts.BarChart(title='Tuân thủ', categories=('Nguyễn Thị Hoa',),"
        " series=(charts.Series('Vòng tay', (90.0,)),), percent=True)\n"
        "assert charts.chart_render(chart, 'svg').startswith(b'<?xml')\n"
        "assert charts.chart_render(chart, 'png').startswith(b'\\x89PNG')\n"
        "print('ok')\n"
    )
    env = {
        "HOME": "/proc/no-such-home",
        "PATH": "/usr/bin:/bin",
        "TMPDIR": str(tmp_path),
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_chart_needs_one_value_per_category():
    with pytest.raises(ValueError, match="one value per category"):
        charts.BarChart(title="x", categories=("a", "b"), series=(charts.Series("s", (1.0,)),))
    with pytest.raises(ValueError, match="unknown chart format"):
        charts.chart_render(charts.BarChart(title="x", categories=(), series=()), "gif")


@pytest.mark.parametrize(
    "query",
    [
        "date_to=9999-12-31",
        "date_to=0001-01-03",
        "date_from=0001-01-01&date_to=0001-01-02",
        "date_from=2026-11-01&date_to=9999-12-31",
    ],
)
def test_dates_out_of_range_are_a_form_error_not_a_500(client, data, query):
    client.force_login(data.pharmacist)
    for url in [
        f"/pharmacy/reports/prn/?{query}",
        f"/pharmacy/reports/prn/csv/?table=by_medication&{query}",
        f"/pharmacy/reports/prn/chart/?{query}",
    ]:
        assert client.get(url).status_code == 400, url


# --- Verified despite an allergy (issue 13, item 11) ------------------------------------------


def test_an_allergy_acknowledgement_is_reported_with_who_when_and_why(pharmacist_client, data):
    from pharmacy.models import AllergyAcknowledgement, MedicationOrder

    order = MedicationOrder.objects.filter(admission__ward=data.noi).first()
    AllergyAcknowledgement.objects.create(
        order=order,
        allergies=[{"code": "penicillins", "name": "Penicillin", "severity": "severe"}],
        reason="prescriber_confirmed",
        comment="BS. Thắng xác nhận",
        acknowledged_by=data.pharmacist,
        acknowledged_at=at(D2, "09:15"),
    )
    query = f"?date_from={D1}&date_to={D2}"

    page = pharmacist_client.get(f"/pharmacy/reports/allergy-acknowledgements/{query}")
    csv_text = pharmacist_client.get(
        f"/pharmacy/reports/allergy-acknowledgements/csv/{query}"
    ).content.decode("utf-8-sig")
    other_ward = pharmacist_client.get(
        f"/pharmacy/reports/allergy-acknowledgements/{query}&ward=NGOAI"
    )

    content = page.context["content"]
    assert [h.value for h in content.headlines] == [1, 1]
    (row,) = content.tables[0].rows
    assert row[0] == f"{D2} 09:15" and row[3] == order.admission.patient.full_name
    assert row[6] == "Penicillin" and row[8] == "BS. Thắng xác nhận"
    assert "Bác sĩ đã xác nhận" in row[7]
    assert "BS. Thắng xác nhận" in csv_text
    assert other_ward.context["content"].tables[0].rows == []
