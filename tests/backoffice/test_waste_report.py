"""The controlled-drug waste report (backoffice/reports: selectors.report_waste, build_waste): by
drug, nurse and ward, every waste with its witness, as a page, CSV and chart. Wastes are made the
way the cart makes them, through the API."""

import csv
import io

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from tests.scanning.conftest import DEMO_NOW, frozen_demo, nurse_client  # noqa: F401
from tests.scanning.test_waste import half_ampoule, record

pytestmark = pytest.mark.django_db

DAY = DEMO_NOW.date().isoformat()
QUERY = f"date_from={DAY}&date_to={DAY}"


@pytest.fixture
def pharmacy(frozen_demo):  # noqa: F811
    client = Client()
    client.force_login(get_user_model().objects.get(username="duocsi.tuan"))
    return client


@pytest.fixture
def one_waste(nurse_client):  # noqa: F811
    response = record(nurse_client, half_ampoule(), "report-waste")
    assert response.status_code == 201, response.json()


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff"))))


def test_an_empty_period_says_so(pharmacy):
    page = pharmacy.get(f"/pharmacy/reports/controlled-drug-waste/?{QUERY}")
    chart = pharmacy.get(f"/pharmacy/reports/controlled-drug-waste/chart/?{QUERY}")

    assert page.status_code == 200
    assert chart.status_code == 200
    assert rows(pharmacy.get(f"/pharmacy/reports/controlled-drug-waste/csv/?{QUERY}"))[1:] == []


def test_a_nurse_cannot_read_the_register(nurse_client):  # noqa: F811
    response = Client().get(f"/pharmacy/reports/controlled-drug-waste/?{QUERY}")

    assert response.status_code in (302, 403)


def test_the_morphine_waste_is_in_the_register_with_its_witness(pharmacy, one_waste):
    with time_machine.travel(DEMO_NOW, tick=False):
        page = pharmacy.get(f"/pharmacy/reports/controlled-drug-waste/?{QUERY}")
        grouped = rows(pharmacy.get(f"/pharmacy/reports/controlled-drug-waste/csv/?{QUERY}"))
        register = rows(
            pharmacy.get(f"/pharmacy/reports/controlled-drug-waste/csv/?{QUERY}&table=register")
        )
        chart = pharmacy.get(f"/pharmacy/reports/controlled-drug-waste/chart/?{QUERY}")

    assert page.status_code == 200
    assert "Morphin 10 mg/mL ống tiêm" in page.content.decode()
    (medication, ward, _nurse, wastes, unwitnessed, amount) = grouped[1]
    assert (medication, ward, wastes, unwitnessed) == ("Morphin 10 mg/mL ống tiêm", "NOI", "1", "0")
    assert amount.replace(",", ".") == "5 mg"
    assert len(register) == 2
    assert register[1][3] == "BN2026000103"
    assert register[1][5]  # the witness is named
    assert chart.status_code == 200
    assert b"Morphin" in chart.content


def test_the_ward_filter_leaves_out_other_wards(pharmacy, one_waste):
    response = pharmacy.get(f"/pharmacy/reports/controlled-drug-waste/csv/?{QUERY}&ward=NGOAI")

    assert rows(response)[1:] == []


def test_the_waste_ledger_is_read_only_in_the_pharmacy_site(pharmacy, one_waste):
    listing = pharmacy.get("/pharmacy/scanning/waste/")
    adding = pharmacy.get("/pharmacy/scanning/waste/add/")

    assert listing.status_code == 200
    assert "BN2026000103" in listing.content.decode()
    assert adding.status_code == 403
