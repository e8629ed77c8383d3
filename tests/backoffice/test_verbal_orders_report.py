"""The report "Unsigned verbal orders" (backoffice/reports): verbal orders by ward and prescriber,
co-signed or not, with their age, as a page, CSV and chart. On the demo hospital: Phan Văn
Thành's telephone order (NOI, documented 30 h before 08:10), and one documented at the cart now."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from pharmacy.models import MedicationOrder
from pharmacy.services import order_cosign
from tests.scanning.conftest import DEMO_NOW, frozen_demo, nurse_client  # noqa: F401
from tests.scanning.test_verbal_orders import document, stat_paracetamol

pytestmark = pytest.mark.django_db

QUERY = (
    f"date_from={(DEMO_NOW - timedelta(days=2)).date().isoformat()}"
    f"&date_to={DEMO_NOW.date().isoformat()}"
)


@pytest.fixture
def pharmacy(frozen_demo):  # noqa: F811
    client = Client()
    client.force_login(get_user_model().objects.get(username="duocsi.tuan"))
    return client


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff"))))


def test_the_report_counts_by_ward_and_prescriber_with_the_age_of_each(pharmacy, nurse_client):  # noqa: F811
    # given: the demo's telephone order (unsigned 30 h), and a verbal STAT order now, co-signed
    response = document(nurse_client, stat_paracetamol())
    order = MedicationOrder.objects.get(external_id=response.json()["id"])
    tuan = get_user_model().objects.get(username="duocsi.tuan")
    order_cosign(order=order, by=tuan, signed_at=timezone.now())
    # when
    page = pharmacy.get(f"/pharmacy/reports/verbal-orders/?{QUERY}")
    by_ward = rows(pharmacy.get(f"/pharmacy/reports/verbal-orders/csv/?{QUERY}"))
    by_prescriber = rows(
        pharmacy.get(f"/pharmacy/reports/verbal-orders/csv/?{QUERY}&table=by-prescriber")
    )
    every = rows(pharmacy.get(f"/pharmacy/reports/verbal-orders/csv/?{QUERY}&table=orders"))
    chart = pharmacy.get(f"/pharmacy/reports/verbal-orders/chart/?{QUERY}")
    other_ward = rows(pharmacy.get(f"/pharmacy/reports/verbal-orders/csv/?{QUERY}&ward=NGOAI"))
    # then
    assert page.status_code == 200
    assert by_ward[1] == ["NOI", "2", "1", "1"]
    assert by_prescriber[1:] == [["BS. Phạm Quốc Việt", "2", "1", "1"]]
    ages = {row[2]: row[-1] for row in every[1:]}
    assert ages == {"BN2026000121": "30", "BN2026000102": ""}
    assert chart.status_code == 200
    assert other_ward[1:] == []
