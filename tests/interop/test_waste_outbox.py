"""Waste documented after the record goes to the HIS, the way a patch's removal does: one RAS^O17
per enabled destination in the waste's transaction, an update of the record (its own MSH-10,
RXA-21 U, the waste OBX), sent after the record's own message. A waste written with the record
goes out in the record's message and nothing more; a retry of the later waste queues nothing."""

import hl7
import pytest

from interop.hl7v2 import message_control_id, ras_o17
from interop.models import Destination, OutboundMessage
from interop.snapshot import snapshot_from_json
from scanning.models import Waste
from tests.interop.conftest import HL7_CONFIG, destination, free_port  # noqa: F401
from tests.scanning.conftest import frozen_demo, nurse_client  # noqa: F401
from tests.scanning.test_waste import LATER, half_ampoule, record, waste_later

pytestmark = pytest.mark.django_db


@pytest.fixture
def destinations(destination):  # noqa: F811
    """Two enabled destinations (the HIS and the LIS) and one disabled."""
    lis = Destination.objects.create(name="LIS", host="127.0.0.1", port=free_port())
    Destination.objects.create(name="Old HIS", host="127.0.0.1", port=free_port(), enabled=False)
    return [destination, lis]


@pytest.fixture
def given(nurse_client, destinations):  # noqa: F811
    body = half_ampoule()
    del body["waste"]
    response = record(nurse_client, body, "given")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_refused_later_waste_queues_nothing(nurse_client, given):  # noqa: F811
    refused = waste_later(nurse_client, given, {**LATER, "witness_pin": "000000"}, "wrong-pin")

    assert refused.status_code == 422
    assert not OutboundMessage.objects.filter(waste__isnull=False).exists()
    assert OutboundMessage.objects.count() == 2  # the record's own, one per destination


def test_a_later_waste_is_queued_once_per_destination_after_the_record(
    nurse_client,  # noqa: F811
    destinations,
    given,
):
    response = waste_later(nurse_client, given, LATER, "later")

    assert response.status_code == 201, response.json()
    waste = Waste.objects.get()
    own = {m.destination_id: m for m in OutboundMessage.objects.filter(waste__isnull=True)}
    updates = list(OutboundMessage.objects.filter(waste=waste).order_by("destination_id"))
    assert [m.destination_id for m in updates] == [d.pk for d in destinations]
    for update in updates:
        assert update.administration_id == waste.administration_id
        assert update.depends_on == own[update.destination_id]
        assert update.message_id == message_control_id(waste.external_id)
        assert update.message_id != own[update.destination_id].message_id


def test_the_later_waste_message_is_an_update_with_the_waste_obx(nurse_client, given):  # noqa: F811
    waste_later(nurse_client, given, LATER, "later")
    waste = Waste.objects.get()
    message = OutboundMessage.objects.filter(waste=waste).first()

    parsed = hl7.parse(ras_o17(snapshot_from_json(message.snapshot), HL7_CONFIG))

    assert str(parsed.segment("MSH")(10)) == message_control_id(waste.external_id)
    rxa = parsed.segment("RXA")
    assert str(rxa(21)) == "U"
    assert str(rxa(6)) == "5"  # what was given stays what was given
    wastes = [obx for obx in parsed.segments("OBX") if str(obx(3)(1)(1)) == "WASTE"]
    assert len(wastes) == 1
    (obx,) = wastes
    assert (str(obx(2)), str(obx(5)), str(obx(17)(1)(1))) == ("NM", "5", "dropped")
    assert str(obx(16)(1)(1)) == "dieuduong.binh"


def test_a_waste_written_with_the_record_queues_no_second_message(
    nurse_client,  # noqa: F811
    destinations,
):
    response = record(nurse_client, half_ampoule(), "with-waste")

    assert response.status_code == 201, response.json()
    messages = list(OutboundMessage.objects.all())
    assert len(messages) == len(destinations)
    assert all(m.waste_id is None for m in messages)
    snapshot = snapshot_from_json(messages[0].snapshot)
    assert snapshot.waste is not None and snapshot.waste_update is None
    rxa = hl7.parse(ras_o17(snapshot, HL7_CONFIG)).segment("RXA")
    assert str(rxa(21)) == "A"


def test_a_retry_of_the_later_waste_queues_nothing_more(nurse_client, given):  # noqa: F811
    first = waste_later(nurse_client, given, LATER, "later")
    retry = waste_later(nurse_client, given, LATER, "later")

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert OutboundMessage.objects.filter(waste__isnull=False).count() == 2


def test_a_withdrawal_after_a_later_waste_is_sent_after_the_waste(nurse_client, given):  # noqa: F811
    waste_later(nurse_client, given, LATER, "later")
    withdrawn = nurse_client.post(
        f"/api/v1/administrations/{given}/correct/",
        {"reason": "duplicate"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="withdraw",
    )

    assert withdrawn.status_code == 201, withdrawn.json()
    updates = {m.destination_id: m for m in OutboundMessage.objects.filter(waste__isnull=False)}
    withdrawals = OutboundMessage.objects.filter(
        administration__external_id=withdrawn.json()["entered_in_error"]["id"]
    )
    assert withdrawals.count() == 2
    for withdrawal in withdrawals:
        assert withdrawal.depends_on == updates[withdrawal.destination_id]


def test_fhir_shows_a_waste_documented_later(nurse_client, given):  # noqa: F811
    before = nurse_client.get(f"/api/v1/fhir/MedicationAdministration/{given}")
    waste_later(nurse_client, given, LATER, "later")

    after = nurse_client.get(f"/api/v1/fhir/MedicationAdministration/{given}")
    search = nurse_client.get(f"/api/v1/fhir/MedicationAdministration?_id={given}")

    assert before.status_code == after.status_code == search.status_code == 200
    assert not _waste_extensions(before.json())
    (extension,) = _waste_extensions(after.json())
    parts = {part["url"]: part for part in extension["extension"]}
    assert parts["amount"]["valueQuantity"]["value"] == 5
    (entry,) = search.json()["entry"]
    assert len(_waste_extensions(entry["resource"])) == 1


def _waste_extensions(resource: dict) -> list[dict]:
    return [
        e for e in resource.get("extension", []) if e["url"].endswith("/StructureDefinition/waste")
    ]
