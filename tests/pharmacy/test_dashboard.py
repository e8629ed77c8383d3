"""The ward dashboard at /dashboard/, read at NOW (D3 10:00) in tests/pharmacy/report_data.py."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pharmacy.models import ScheduledDose
from pharmacy.reports.selectors import ward_dashboard_get
from tests.factories import (
    AdmissionFactory,
    BedFactory,
    OrderFactory,
    PatientFactory,
    WristbandFactory,
)
from tests.pharmacy.report_data import NOW, at, report_data_loaded

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
            r'id="tile-([a-z-]+)"><div class="number">(\d+)</div>', response.content.decode()
        )
    }


def cart_login(client, user, ward: str):
    response = client.post(
        "/cart/login/",
        {"badge": f"]C18017{user.badge_gsrn}", "pin": "1234", "cart": "NOI-1", "ward": ward},
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
    assert (dashboard.late_today, dashboard.not_given_today, dashboard.overrides_today) == (1, 1, 2)
    assert [a.patient.full_name for a in dashboard.band_not_scanned] == ["Lê Hoàng Phúc"]
    assert [a.patient.full_name for a in dashboard.without_band] == ["Tạ Thị Xuân"]

    ngoai = ward_dashboard_get(ward=data.ngoai, now=NOW)
    # C's D2 20:00 dose: its not-given record was withdrawn, so it is missed.
    assert [item["dose"] for item in ngoai.missed] == [data.doses["C-D2-20"]]
    assert (ngoai.due_now, ngoai.overdue, ngoai.high_alert_due) == ([], [], [])
    assert (ngoai.late_today, ngoai.not_given_today, ngoai.overrides_today) == (0, 0, 0)
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
    assert tiles(ngoai) == {name: 0 for name in NOI_TILES} | {"missed": 1}
    assert 'href="/pharmacy/reports/"' in ngoai.content.decode()


def test_the_page_refreshes_itself_without_scripts_and_is_not_cached(client, data, frozen):
    client.force_login(data.pharmacist)
    response = client.get("/dashboard/?ward=NOI")
    page = response.content.decode()
    assert '<meta http-equiv="refresh" content="60">' in page
    assert "<script" not in page  # the CSP allows no inline script
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Language"] == "vi"
    assert '<html lang="vi">' in page


def test_red_and_amber_follow_the_numbers(client, data, frozen):
    client.force_login(data.pharmacist)
    page = client.get("/dashboard/?ward=NOI").content.decode()
    assert 'class="tile bad" id="tile-overdue"' in page
    assert 'class="tile warn" id="tile-due-now"' in page
    page = client.get("/dashboard/?ward=NGOAI").content.decode()
    assert 'class="tile ok" id="tile-overdue"' in page
    assert 'class="tile bad" id="tile-missed"' in page


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
        )
        for hours in (0, 2, 6):
            ScheduledDose.objects.create(order=order, due_at=NOW - timedelta(hours=hours))
    busier = client.get("/dashboard/?ward=NOI")
    assert tiles(busier)["high-alert"] == 1 + 5 * 2  # due now and overdue, each bed
    assert queries() == before


def test_the_cart_login_returns_a_charge_nurse_to_the_dashboard(client, data, frozen):
    response = client.post(
        "/cart/login/?next=/dashboard/%3Fward%3DNOI",
        {"badge": f"]C18017{data.lan.badge_gsrn}", "pin": "1234", "ward": "NOI", "cart": "NOI-1"},
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/?ward=NOI"
    assert client.get(response["Location"]).status_code == 200


def test_the_cart_login_ignores_a_next_to_another_site(client, data, frozen):
    response = client.post(
        "/cart/login/?next=https://evil.example/",
        {"badge": f"]C18017{data.lan.badge_gsrn}", "pin": "1234", "ward": "NOI", "cart": "NOI-1"},
    )
    assert response.status_code == 302 and response["Location"] == "/cart/"
