"""A dose recorded with its waste goes out with it: the outbox snapshot taken in the recording
transaction carries the waste, and the HL7 and FHIR read APIs show it (their golden files are
tests/interop/golden/half_ampoule_wasted.*)."""

import pytest

from interop.models import OutboundMessage
from interop.snapshot import snapshot_from_json
from tests.scanning.conftest import frozen_demo, nurse_client  # noqa: F401
from tests.scanning.test_waste import half_ampoule, record

pytestmark = pytest.mark.django_db


def test_the_record_and_its_waste_go_out_together(nurse_client, destination):  # noqa: F811
    response = record(nurse_client, half_ampoule(), "outbox-waste")
    record_id = response.json()["id"]
    hl7 = nurse_client.get(f"/api/v1/administrations/{record_id}/hl7/")
    fhir = nurse_client.get(f"/api/v1/fhir/MedicationAdministration/{record_id}")

    assert response.status_code == 201, response.json()
    snapshot = snapshot_from_json(OutboundMessage.objects.get().snapshot)
    assert (str(snapshot.waste.amount), snapshot.waste.unit) == ("5.0000", "mg")
    assert snapshot.waste.witness.username == "dieuduong.binh"
    assert hl7.status_code == 200
    assert "|NM|WASTE^" in hl7.content.decode()
    assert fhir.status_code == 200, fhir.content
    urls = [extension["url"] for extension in fhir.json()["extension"]]
    assert any(url.endswith("/StructureDefinition/waste") for url in urls)
