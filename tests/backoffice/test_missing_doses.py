"""The pharmacy's side of a missing-dose request (backoffice/missing_doses, and the report
"Missing doses" in backoffice/reports): the queue with the patient, ward, bed, drug, dose and due
time; marking sent once, a second time a 409 naming who sent it; the report by ward, medication
and reason as a page, CSV and chart. Requests are made the way the cart makes them, through the
API."""

import csv
import io

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from scanning.models import MissingDoseRequest
from tests.scanning.conftest import DEMO_NOW, frozen_demo, nurse_client  # noqa: F401
from tests.scanning.test_missing_doses import an_paracetamol_dose, ask, mar_request

pytestmark = pytest.mark.django_db

DAY = DEMO_NOW.date().isoformat()
QUERY = f"date_from={DAY}&date_to={DAY}"


@pytest.fixture
def pharmacy(frozen_demo):  # noqa: F811
    client = Client()
    client.force_login(get_user_model().objects.get(username="duocsi.tuan"))
    return client


@pytest.fixture
def one_request(nurse_client):  # noqa: F811
    with time_machine.travel(DEMO_NOW, tick=False):
        response = ask(nurse_client, an_paracetamol_dose(), reason="damaged")
    assert response.status_code == 201, response.json()
    return MissingDoseRequest.objects.get()


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff"))))


def test_the_queue_shows_where_and_what_to_send(pharmacy, one_request):
    page = pharmacy.get("/pharmacy/missing-doses/")
    index = pharmacy.get("/pharmacy/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "Nguyễn Văn An" in text and "BN2026000101" in text
    assert "NOI / 01" in text
    assert "Paracetamol" in text
    assert "08:00" in text
    assert f"/pharmacy/missing-doses/{one_request.external_id}/sent/" in text
    assert 'href="/pharmacy/missing-doses/"' in index.content.decode()


def test_the_ward_filter_leaves_out_other_wards(pharmacy, one_request):
    page = pharmacy.get("/pharmacy/missing-doses/?ward=NGOAI")

    assert "BN2026000101" not in page.content.decode()


def test_marking_sent_takes_it_off_the_queue_and_the_cart_shows_it(
    pharmacy,
    one_request,
    nurse_client,  # noqa: F811
):
    url = f"/pharmacy/missing-doses/{one_request.external_id}/sent/"

    sent = pharmacy.post(url)
    again = pharmacy.post(url)

    assert sent.status_code == 302
    one_request.refresh_from_db()
    assert (one_request.state, one_request.sent_by.username) == ("sent", "duocsi.tuan")
    assert "BN2026000101" not in pharmacy.get("/pharmacy/missing-doses/").content.decode()
    assert again.status_code == 409
    assert "Võ Minh Tuấn" in again.content.decode()  # who sent it, said on the page
    assert mar_request(nurse_client, an_paracetamol_dose())["state"] == "sent"


def test_a_nurse_cannot_open_the_queue(nurse_client, one_request):  # noqa: F811
    nurse = Client()
    nurse.force_login(get_user_model().objects.get(username="dieuduong.hoa"))

    assert nurse.get("/pharmacy/missing-doses/").status_code in (302, 403)
    assert nurse.post(f"/pharmacy/missing-doses/{one_request.external_id}/sent/").status_code in (
        302,
        403,
    )
    assert MissingDoseRequest.objects.get().state == "requested"


def test_the_report_counts_by_ward_medication_and_reason(pharmacy, one_request):
    with time_machine.travel(DEMO_NOW, tick=False):
        page = pharmacy.get(f"/pharmacy/reports/missing-doses/?{QUERY}")
        by_ward = rows(pharmacy.get(f"/pharmacy/reports/missing-doses/csv/?{QUERY}"))
        by_drug = rows(
            pharmacy.get(f"/pharmacy/reports/missing-doses/csv/?{QUERY}&table=by-medication")
        )
        by_reason = rows(
            pharmacy.get(f"/pharmacy/reports/missing-doses/csv/?{QUERY}&table=by-reason")
        )
        every = rows(pharmacy.get(f"/pharmacy/reports/missing-doses/csv/?{QUERY}&table=requests"))
        chart = pharmacy.get(f"/pharmacy/reports/missing-doses/chart/?{QUERY}")
        other_ward = rows(pharmacy.get(f"/pharmacy/reports/missing-doses/csv/?{QUERY}&ward=NGOAI"))

    assert page.status_code == 200
    assert by_ward[1] == ["NOI", "1", "0", "1"]
    assert by_drug[1][0].startswith("Paracetamol") and by_drug[1][1:] == ["1", "0", "1"]
    assert by_reason[1] == ["Bị hỏng", "1", "0", "1"]
    assert len(every) == 2 and every[1][2] == "BN2026000101"
    assert chart.status_code == 200
    assert other_ward[1:] == []


def test_an_empty_period_says_so(pharmacy):
    page = pharmacy.get(f"/pharmacy/reports/missing-doses/?{QUERY}")
    chart = pharmacy.get(f"/pharmacy/reports/missing-doses/chart/?{QUERY}")

    assert page.status_code == 200
    assert chart.status_code == 200
    assert rows(pharmacy.get(f"/pharmacy/reports/missing-doses/csv/?{QUERY}"))[1:] == []
