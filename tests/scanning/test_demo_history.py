"""The demo's bedside history (scanning/demo_history.py): `manage.py demo_load`, run twice, shows a
patch on a patient due off now and an insulin patient whose last site warns."""

import pytest
import time_machine
from django.core.management import call_command

from scanning.anchors import audit_walk
from scanning.missing_doses import missing_dose_queue
from scanning.models import Administration, MissingDoseRequest
from scanning.selectors import removals_overdue, worn_list
from tests.scanning.conftest import DEMO_NOW, badge_client, code
from wards.models import Patient

pytestmark = pytest.mark.django_db

MAI_BADGE = "8017952000200000000136"  # nurse, NGOAI, PIN 333333
LAN_BADGE = "8017952000200000000143"  # charge nurse, PIN 444444
DUNG_BAND = "8018952000100000001204" + "80191"
INSULIN_VIAL = "0109520003000056" + "17270430" + "10INS2607"


@pytest.fixture
def demo_loaded_twice():
    with time_machine.travel(DEMO_NOW, tick=False):
        call_command("demo_load", quiet_logins=True)
        call_command("demo_load", quiet_logins=True)
        yield


def test_loading_twice_writes_the_history_once_and_chains_it(demo_loaded_twice):
    assert Administration.objects.filter(cart="DEMO").count() == 3
    assert audit_walk(None).sound


def test_loading_twice_leaves_one_open_missing_dose_request(demo_loaded_twice):
    (request,) = MissingDoseRequest.objects.all()

    assert request.state == "requested"
    assert request.order.admission.patient.mrn == "BN2026000108"
    assert request in missing_dose_queue()


def test_the_patch_patient_has_a_patch_due_off_now(demo_loaded_twice):
    hau = Patient.objects.get(mrn="BN2026000119")

    (patch,) = worn_list(patient=hau)

    assert patch["site"] == "LUA"
    assert patch["overdue"] is True
    assert [row["patient"].mrn for row in removals_overdue(now=DEMO_NOW)] == ["BN2026000119"]


def test_the_insulin_patients_last_site_warns(demo_loaded_twice):
    with time_machine.travel(DEMO_NOW, tick=False):
        client = badge_client(MAI_BADGE, "333333", ward="NGOAI")
        body = {"patient": code(DUNG_BAND), "medications": [code(INSULIN_VIAL)]}
        same = client.post("/api/v1/scan/check/", {**body, "site": "LLAQ"}, format="json")
        other = client.post("/api/v1/scan/check/", {**body, "site": "LUAQ"}, format="json")

    assert "SITE_RECENTLY_USED" in {f["code"] for f in same.json()["findings"]}
    assert "SITE_RECENTLY_USED" not in {f["code"] for f in other.json()["findings"]}
