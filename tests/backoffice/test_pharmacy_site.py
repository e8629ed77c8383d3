import pytest
from django.urls import reverse

from pharmacy.demo import demo_hospital_load
from tests.factories import NurseFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "pharmacy:pharmacy_medication_changelist",
    "pharmacy:pharmacy_package_changelist",
    "pharmacy:pharmacy_medicationorder_changelist",
    "pharmacy:wards_patient_changelist",
    "pharmacy:wards_wristband_changelist",
    "pharmacy:wards_admission_changelist",
    "pharmacy:pharmacy_lotrecall_changelist",
]


@pytest.fixture
def demo(db):
    demo_hospital_load()


@pytest.mark.parametrize("page", PAGES)
def test_demo_pharmacist_sees_formulary_patients_orders_and_wristbands(client, demo, page):
    assert client.login(username="duocsi.tuan", password="duocsi-demo-2026")
    response = client.get(reverse(page))
    assert response.status_code == 200


def test_formulary_lists_demo_medications(client, demo):
    client.login(username="duocsi.tuan", password="duocsi-demo-2026")
    body = client.get(reverse("pharmacy:pharmacy_medication_changelist")).content.decode()
    assert "Paracetamol 500 mg viên nén" in body and "Insulin" in body


def test_patients_list_shows_vietnamese_names(client, demo):
    client.login(username="duocsi.tuan", password="duocsi-demo-2026")
    body = client.get(reverse("pharmacy:wards_patient_changelist")).content.decode()
    assert "Nguyễn Văn An" in body and "BN2026000101" in body


def test_a_nurse_cannot_reach_the_pharmacy_site(client):
    nurse = NurseFactory(is_staff=True)
    nurse.set_password("x-long-password-1")
    nurse.save()
    client.login(username=nurse.username, password="x-long-password-1")
    response = client.get(reverse("pharmacy:index"))
    assert response.status_code == 302 and "/pharmacy/login/" in response["Location"]


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("pharmacy:pharmacy_medicationorder_changelist"))
    assert response.status_code == 302 and "/pharmacy/login/" in response["Location"]


def test_reprint_action_issues_a_new_band_and_voids_the_old(client, demo):
    from wards.models import Admission

    client.login(username="duocsi.tuan", password="duocsi-demo-2026")
    admission = Admission.objects.get(patient__mrn="BN2026000101")
    response = client.post(
        reverse("pharmacy:wards_admission_changelist"),
        {"action": "print_new_wristband", "_selected_action": [admission.pk]},
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    bands = list(admission.wristbands.order_by("instance").values_list("instance", "voided_at"))
    assert [instance for instance, _ in bands] == [1, 2]
    assert bands[0][1] is not None and bands[1][1] is None


def test_api_schema_requires_login(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("NOT_AUTHENTICATED", "AUTHENTICATION_FAILED")
