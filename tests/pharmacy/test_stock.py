"""The provincial formulary, stocked per hospital (issue 19): an item that a hospital does not
stock (`Medication.not_stocked_at`) is not offered by its carts' verbal-order form, a verbal
order of it there is refused in the nurse's language, the pharmacist verifying an HIS order of it
is told, and a pharmacist of one hospital who saves the item keeps the other hospitals' choices."""

import pytest
from django.test import Client

from hospital.models import Hospital, User
from pharmacy.models import Medication, MedicationOrder
from tests.factories import OrderFactory
from tests.hospital.test_tenancy import form_as_shown
from tests.scanning.conftest import badge_client, frozen_demo, nurse_client
from tests.scanning.test_verbal_orders import URL, stat_paracetamol

pytestmark = pytest.mark.django_db
__all__ = ["frozen_demo", "nurse_client"]  # fixtures

HA_BADGE = "]C18017952000200000000181"  # nurse, BC-NOI (Bãi Cháy)


@pytest.fixture
def paracetamol_not_at_the_general_hospital(frozen_demo):
    paracetamol = Medication.objects.get(code="paracetamol-500-tab")
    paracetamol.not_stocked_at.add(Hospital.objects.get(code="BVDKT"))
    return paracetamol


def codes(client) -> set[str]:
    response = client.get("/api/v1/medications/")
    assert response.status_code == 200
    return {item["code"] for item in response.json()}


def test_the_carts_form_offers_what_its_hospital_stocks(
    nurse_client, paracetamol_not_at_the_general_hospital
):
    assert "paracetamol-500-tab" not in codes(nurse_client)
    assert "amlodipine-5-tab" in codes(nurse_client)
    bai_chay = badge_client(HA_BADGE, "888888", ward="BC-NOI")
    assert "paracetamol-500-tab" in codes(bai_chay)


def test_a_verbal_order_of_an_item_not_stocked_here_is_refused_and_nothing_written(
    nurse_client, paracetamol_not_at_the_general_hospital
):
    before = MedicationOrder.objects.count()

    response = nurse_client.post(URL, stat_paracetamol(), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "NOT_STOCKED"
    assert "không có trong danh mục" in error["message"]
    assert MedicationOrder.objects.count() == before


def test_the_pharmacist_verifying_an_order_of_it_is_told(paracetamol_not_at_the_general_hospital):
    order = OrderFactory(
        admission=MedicationOrder.objects.filter(admission__ward__code="NOI").first().admission,
        medication=paracetamol_not_at_the_general_hospital,
        status="pending_verification",
        verified_by=None,
        verified_at=None,
    )
    pharmacist = Client()
    pharmacist.force_login(User.objects.get(username="duocsi.tuan"))

    page = pharmacist.get(f"/pharmacy/verify/{order.external_id}/").content.decode()

    assert 'id="not-stocked-warning"' in page
    other = MedicationOrder.objects.filter(admission__ward__code="NOI").exclude(pk=order.pk)
    stocked = other.exclude(medication=paracetamol_not_at_the_general_hospital).first()
    assert (
        'id="not-stocked-warning"'
        not in pharmacist.get(f"/pharmacy/verify/{stocked.external_id}/").content.decode()
    )


def test_saving_the_item_at_one_hospital_keeps_the_others_choice(frozen_demo):
    # given: Bãi Cháy does not stock an item of the formulary
    item = Medication.objects.filter(packages__isnull=False).first()
    item.not_stocked_at.add(Hospital.objects.get(code="BVBC"))
    pharmacist = Client()
    pharmacist.force_login(User.objects.get(username="duocsi.tuan"))
    url = f"/pharmacy/pharmacy/medication/{item.pk}/change/"

    # when: the provincial hospital's pharmacist saves the item as shown
    data = form_as_shown(pharmacist.get(url).content.decode(), form_id="medication_form")
    response = pharmacist.post(url, data)

    # then: saved, and Bãi Cháy still does not stock it
    assert response.status_code == 302, response.content[:3000]
    assert list(item.not_stocked_at.values_list("code", flat=True)) == ["BVBC"]
