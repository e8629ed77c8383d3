"""The ward dashboard at /dashboard/, read at NOW (D3 10:00) in tests/backoffice/report_data.py."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backoffice.reports.selectors import ward_dashboard_get
from pharmacy.models import ScheduledDose
from scanning.services import CheckRequest, administration_check, unrecorded_check_acknowledge
from tests.backoffice.report_data import NOW, at, report_data_loaded
from tests.factories import (
    AdmissionFactory,
    BedFactory,
    OrderFactory,
    PatientFactory,
    WristbandFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def data(django_db_setup, django_db_blocker):
    with report_data_loaded(django_db_blocker) as loaded:
        yield loaded


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def tiles(response) -> dict[str, int]:
    """The big numbers as the page shows them."""
    return {
        name: int(number)
        for name, number in re.findall(
            r'id="tile-([a-z-]+)"[^>]*><div class="number">(\d+)</div>', response.content.decode()
        )
    }


def cart_login(client, user, ward: str):
    response = client.post(
        "/cart/login/",
        {"badge": f"]C18017{user.badge_gsrn}", "pin": "123456", "cart": "NOI-1", "ward": ward},
    )
    assert response.status_code == 302, response.content


NOI_TILES = {
    "overdue": 1,  # A's paracetamol due 08:00 (window to 09:00, missed after 13:00)
    "missed": 1,  # A's paracetamol due D2 20:00, nothing recorded
    "high-alert": 1,  # B's heparin due 10:00
    "due-now": 1,  # the same heparin
    "late-today": 1,  # B's ceftriaxone due 06:00 given 06:45 (time-critical window ±30)
    "not-given-today": 1,  # A's 12:00 paracetamol, NPO
    "overrides-today": 2,  # #B3: late and wristband typed
    "band-not-scanned": 1,  # B, #B3
    "without-band": 1,  # E, admitted this morning
    "unrecorded": 0,  # every check in the data set was followed by its record
    "infusions-ending": 0,  # no bag hung in the data set
    "overdue-removal": 0,  # no patch in the data set
    # A's tramadol #A9 (D2 23:50, PO: due D3 00:50), never reassessed; #7 (D2 09:00) was due
    # exactly 24 h before now and has left the list
    "reassessment-due": 1,
}


def test_a_charge_nurse_logged_in_at_the_cart_sees_her_ward(client, data, frozen):
    cart_login(client, data.lan, "NOI")
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["ward"] == data.noi
    assert tiles(response) == NOI_TILES
    page = response.content.decode()
    assert "Lê Hoàng Phúc" in page  # band not scanned
    assert "Tạ Thị Xuân" in page  # no wristband
    assert 'id="ward-picker"' not in page  # one ward: nothing to pick


def test_the_dashboard_figures(data):
    dashboard = ward_dashboard_get(ward=data.noi, now=NOW)
    assert [item["dose"] for item in dashboard.due_now] == [data.doses["B-hep-D3-10"]]
    assert [item["dose"] for item in dashboard.overdue] == [data.doses["A-D3-08"]]
    assert [item["dose"] for item in dashboard.missed] == [data.doses["A-D2-20"]]
    assert [item["dose"] for item in dashboard.high_alert_due] == [data.doses["B-hep-D3-10"]]
    assert [len(dashboard.late_today), len(dashboard.not_given_today)] == [1, 1]
    assert len(dashboard.overrides_today) == 2
    assert [a.patient.full_name for a in dashboard.band_not_scanned] == ["Lê Hoàng Phúc"]
    assert [a.patient.full_name for a in dashboard.without_band] == ["Tạ Thị Xuân"]

    ngoai = ward_dashboard_get(ward=data.ngoai, now=NOW)
    # C's D2 20:00 dose: its not-given record was withdrawn, so it is missed.
    assert [item["dose"] for item in ngoai.missed] == [data.doses["C-D2-20"]]
    assert (ngoai.due_now, ngoai.overdue, ngoai.high_alert_due) == ([], [], [])
    assert (ngoai.late_today, ngoai.not_given_today, ngoai.overrides_today) == ([], [], [])
    assert (ngoai.band_not_scanned, ngoai.without_band) == ([], [])


def test_the_figures_move_with_the_clock(data):
    # At 08:30 A's 08:00 dose is due (inside ±60), not overdue; the heparin is not due yet.
    dashboard = ward_dashboard_get(ward=data.noi, now=at(NOW.date(), "08:30"))
    assert [item["dose"] for item in dashboard.due_now] == [data.doses["A-D3-08"]]
    assert dashboard.overdue == []
    assert dashboard.high_alert_due == []
    assert [item["dose"] for item in dashboard.missed] == [data.doses["A-D2-20"]]
    # At 00:30 A's D2 20:00 dose was still overdue (missed from D3 01:00).
    earlier = ward_dashboard_get(ward=data.noi, now=at(NOW.date(), "00:30"))
    assert [item["dose"] for item in earlier.overdue] == [data.doses["A-D2-20"]]
    assert earlier.missed == []


def test_another_ward_is_refused_to_a_charge_nurse(client, data, frozen):
    cart_login(client, data.lan, "NOI")
    assert client.get("/dashboard/?ward=NGOAI").status_code == 403
    assert client.get("/dashboard/?ward=NOWHERE").status_code == 404


def test_plain_nurses_are_refused(client, data, frozen):
    cart_login(client, data.hoa, "NOI")
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/?ward=NOI").status_code == 403


def test_anonymous_users_are_sent_to_the_cart_login(client, data, frozen):
    response = client.get("/dashboard/?ward=NOI")
    assert response.status_code == 302
    assert response["Location"] == "/cart/login/?next=/dashboard/%3Fward%3DNOI"


def test_a_pharmacist_may_watch_any_ward(client, data, frozen):
    client.force_login(data.pharmacist)
    default = client.get("/dashboard/")
    assert default.status_code == 200
    assert default.context["ward"] == data.ngoai  # the first ward by code
    assert 'id="ward-picker"' in default.content.decode()
    noi = client.get("/dashboard/?ward=NOI")
    assert tiles(noi) == NOI_TILES
    ngoai = client.get("/dashboard/?ward=NGOAI")
    # C's tramadol #19, #20 and #C3, none reassessed, due within the last 24 h
    assert tiles(ngoai) == {name: 0 for name in NOI_TILES} | {"missed": 1, "reassessment-due": 3}
    assert 'href="/pharmacy/reports/"' in ngoai.content.decode()


def test_the_page_refreshes_by_its_own_script_and_is_not_cached(client, data, frozen):
    client.force_login(data.pharmacist)
    response = client.get("/dashboard/?ward=NOI")
    page = response.content.decode()
    assert 'http-equiv="refresh"' not in page  # a reload would restart the idle lock's clock
    assert '<script src="/static/dashboard/dashboard.js" nonce="' in page
    assert response.context["config"]["refreshSeconds"] == 60
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Language"] == "vi"
    assert '<html lang="vi">' in page


def test_the_logout_button_logs_out_and_returns_to_the_dashboard_after_login(client, data, frozen):
    cart_login(client, data.lan, "NOI")

    response = client.post("/dashboard/logout/", {"next": "/dashboard/?ward=NOI"})

    assert response.status_code == 302
    assert response["Location"] == "/cart/login/?next=%2Fdashboard%2F%3Fward%3DNOI"
    assert client.get("/dashboard/").status_code == 302  # logged out


def test_the_idle_lock_says_so_at_the_login_and_never_sends_elsewhere(client, data, frozen):
    cart_login(client, data.lan, "NOI")

    response = client.post(
        "/dashboard/logout/", {"reason": "idle", "next": "https://evil.example/dashboard/"}
    )

    assert response["Location"] == "/cart/login/?next=%2Fdashboard%2F&locked=1"
    assert client.get("/dashboard/logout/").status_code == 405


def test_red_and_amber_follow_the_numbers(client, data, frozen):
    client.force_login(data.pharmacist)
    page = client.get("/dashboard/?ward=NOI").content.decode()
    assert 'class="tile bad" id="tile-overdue"' in page
    assert 'class="tile warn" id="tile-due-now"' in page
    page = client.get("/dashboard/?ward=NGOAI").content.decode()
    assert 'class="tile ok" id="tile-overdue"' in page
    assert 'class="tile bad" id="tile-missed"' in page
    assert 'aria-controls="list-missed"' in page and 'id="list-missed"' in page


def test_the_dashboard_takes_the_same_queries_for_a_busier_ward(client, data, frozen):
    client.force_login(data.pharmacist)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/dashboard/?ward=NOI")
        assert response.status_code == 200
        return len(captured)

    before = queries()
    for bed in range(5):
        admission = AdmissionFactory(
            patient=PatientFactory(),
            ward=data.noi,
            bed=BedFactory(ward=data.noi, code=f"1{bed}"),
            admitted_at=NOW - timedelta(days=1),
        )
        WristbandFactory(admission=admission, instance=1, printed_by=data.pharmacist)
        order = OrderFactory(
            admission=admission,
            medication=data.heparin.medication,
            dose_value=5000,
            dose_unit="IU",
            route="SC",
            start_at=NOW - timedelta(days=1),
            verified_by=data.pharmacist,
            verified_at=NOW - timedelta(days=1),
        )
        for hours in (0, 2, 6):
            ScheduledDose.objects.create(order=order, due_at=NOW - timedelta(hours=hours))
    busier = client.get("/dashboard/?ward=NOI")
    assert tiles(busier)["high-alert"] == 1 + 5 * 2  # due now and overdue, each bed
    assert queries() == before


def test_the_cart_login_returns_a_charge_nurse_to_the_dashboard(client, data, frozen):
    response = client.post(
        "/cart/login/?next=/dashboard/%3Fward%3DNOI",
        {"badge": f"]C18017{data.lan.badge_gsrn}", "pin": "123456", "ward": "NOI", "cart": "NOI-1"},
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/?ward=NOI"
    assert client.get(response["Location"]).status_code == 200


def test_the_cart_login_ignores_a_next_to_another_site(client, data, frozen):
    response = client.post(
        "/cart/login/?next=https://evil.example/",
        {"badge": f"]C18017{data.lan.badge_gsrn}", "pin": "123456", "ward": "NOI", "cart": "NOI-1"},
    )
    assert response.status_code == 302 and response["Location"] == "/cart/"


# --- only doses that were due count (issue 13, item 10) -------------------------------------


def open_dose_ids(dashboard) -> set:
    return {item["dose"].pk for item in dashboard.due_now + dashboard.overdue + dashboard.missed}


def test_a_deceased_patients_doses_are_neither_due_overdue_nor_missed(data):
    from wards.models import Patient

    patient = data.admissions["A"].patient
    Patient.objects.filter(pk=patient.pk).update(deceased_at=at(NOW.date(), "07:00"))

    dashboard = ward_dashboard_get(ward=data.noi, now=NOW)

    assert not {
        item["dose"].order.admission.patient_id
        for item in dashboard.due_now + dashboard.overdue + dashboard.missed
    } & {patient.pk}
    assert data.doses["A-D3-08"].pk not in open_dose_ids(dashboard)
    assert data.doses["A-D2-20"].pk not in open_dose_ids(dashboard)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "pending_verification", "verified_by": None, "verified_at": None},
        {"status": "on_hold"},
        # verified after the dose was due: it was never due under a verified order
        {"verified_at": at(NOW.date(), "09:30")},
    ],
    ids=["unverified", "on-hold", "verified-after-it-was-due"],
)
def test_doses_of_an_order_that_was_not_verified_and_active_do_not_count(data, change):
    from pharmacy.models import MedicationOrder

    MedicationOrder.objects.filter(pk=data.orders["A-para"].pk).update(**change)

    dashboard = ward_dashboard_get(ward=data.noi, now=NOW)

    assert data.doses["A-D3-08"].pk not in open_dose_ids(dashboard)
    assert data.doses["A-D2-20"].pk not in open_dose_ids(dashboard)
    # the heparin of an active, verified order still counts
    assert data.doses["B-hep-D3-10"].pk in open_dose_ids(dashboard)


def test_a_discharged_patients_doses_do_not_count(data):
    from wards.models import Admission

    Admission.objects.filter(pk=data.admissions["A"].pk).update(
        discharged_at=at(NOW.date(), "07:00")
    )

    dashboard = ward_dashboard_get(ward=data.noi, now=NOW)

    assert data.doses["A-D3-08"].pk not in open_dose_ids(dashboard)


def test_every_tile_has_its_list_of_patient_bed_drug_due_time_and_state(data):
    dashboard = ward_dashboard_get(ward=data.noi, now=NOW)

    lists = dashboard.lists()
    assert {key: len(rows) for key, rows in lists.items()} == NOI_TILES
    (missed,) = lists["missed"]
    assert (missed.patient, missed.bed, missed.state) == ("Nguyễn Văn An", "01", "missed")
    assert missed.medication.startswith("Paracetamol")
    assert missed.due_at == data.doses["A-D2-20"].due_at
    (late,) = lists["late-today"]
    assert (late.patient, late.state) == ("Lê Hoàng Phúc", "late")
    assert late.detail == "06:45"  # given at
    (not_given,) = lists["not-given-today"]
    assert (not_given.state, not_given.detail) == ("not_given", "npo")
    assert {row.detail for row in lists["overrides-today"]} == {
        "TOO_LATE:PATIENT_UNAVAILABLE",
        "KEYED_ENTRY:DAMAGED_BARCODE",
    }
    (no_band,) = lists["without-band"]
    assert (no_band.patient, no_band.bed, no_band.medication) == ("Tạ Thị Xuân", "03", "")


# --- scanned but not recorded (issue 13, item 2) ------------------------------------------------


def bedside_check(data, *, nurse, patient: str, package, when, ward: str):
    """What a cart's scan of a band and one unit leaves behind, at a frozen local time."""
    request = CheckRequest(
        patient=data.band(patient),
        medications=(data.unit(package),),
        cart=f"{ward}-1",
        ward_code=ward,
        prn_reason="đau",  # ignored for a scheduled order
    )
    with time_machine.travel(when, tick=False), transaction.atomic():
        outcome = administration_check(performer=nurse, request=request)
    assert outcome.result.verdict in ("go", "warn"), outcome.result.codes()
    return outcome.event


def test_a_check_followed_by_nothing_for_n_minutes_is_a_tile_of_its_ward(client, data, frozen):
    # given: Hoa's check of A's paracetamol 15 minutes ago, Bình's of A's tramadol 5 minutes ago
    # (she may still be recording), Mai's on the other ward
    hoa_check = bedside_check(
        data,
        nurse=data.hoa,
        patient="A",
        package=data.paracetamol,
        when=at(NOW.date(), "09:45"),
        ward="NOI",
    )
    bedside_check(
        data,
        nurse=data.binh,
        patient="A",
        package=data.tramadol,
        when=at(NOW.date(), "09:55"),
        ward="NOI",
    )
    bedside_check(
        data,
        nurse=data.mai,
        patient="C",
        package=data.paracetamol,
        when=at(NOW.date(), "09:40"),
        ward="NGOAI",
    )

    # when
    cart_login(client, data.lan, "NOI")
    response = client.get("/dashboard/")

    # then: one on NOI, older than UNRECORDED_CHECK_MINUTES (10), with who and when
    assert tiles(response) == {**NOI_TILES, "unrecorded": 1}
    assert 'class="tile bad" id="tile-unrecorded"' in response.content.decode()
    (row,) = ward_dashboard_get(ward=data.noi, now=NOW).lists()["unrecorded"]
    assert (row.patient, row.mrn, row.bed, row.state) == (
        "Nguyễn Văn An",
        data.admissions["A"].patient.mrn,
        "01",
        "unrecorded",
    )
    assert row.medication.startswith("Paracetamol 500 mg")
    assert row.due_at == data.doses["A-D3-08"].due_at
    assert (row.detail, row.by) == ("09:45", "Nguyễn Thị Hoa")
    (listed,) = [tile for tile in response.context["tiles"] if tile["id"] == "unrecorded"]
    assert listed["rows"][0]["state"] == "Đã quét lúc 09:45 (Nguyễn Thị Hoa), chưa ghi nhận"
    ngoai = ward_dashboard_get(ward=data.ngoai, now=NOW).lists()["unrecorded"]
    assert [r.patient for r in ngoai] == ["Đỗ Minh Khôi"]
    # and Bình's, once it is N minutes old too
    later = ward_dashboard_get(ward=data.noi, now=at(NOW.date(), "10:06")).lists()["unrecorded"]
    assert [r.by for r in later] == ["Nguyễn Thị Hoa", "Trần Văn Bình"]
    assert later[1].due_at is None  # PRN: no scheduled dose
    # and an answered one leaves the tile
    with transaction.atomic():
        unrecorded_check_acknowledge(by=data.hoa, scan_event=hoa_check, reason="given_on_paper")
    assert tiles(client.get("/dashboard/"))["unrecorded"] == 0


def test_the_minutes_of_scanned_but_not_recorded_are_a_setting(data, settings):
    bedside_check(
        data,
        nurse=data.hoa,
        patient="A",
        package=data.paracetamol,
        when=at(NOW.date(), "09:45"),
        ward="NOI",
    )

    settings.UNRECORDED_CHECK_MINUTES = 20

    assert ward_dashboard_get(ward=data.noi, now=NOW).lists()["unrecorded"] == []
