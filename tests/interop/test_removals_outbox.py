"""A patch taken off goes to the HIS: one RAS^O17 per destination in the removal's transaction,
an update of the record that applied it (its own MSH-10, RXA-21 U, RXA-4 the removal time), sent
after the record's own message."""

from datetime import timedelta

import time_machine

from interop.hl7v2 import message_control_id, ras_o17
from interop.models import OutboundMessage
from interop.snapshot import snapshot_from_json
from scanning.models import Removal
from tests.interop.conftest import HL7_CONFIG, destination  # noqa: F401
from tests.scanning.test_patches import T0, fentanyl  # noqa: F401


def test_a_removal_is_queued_after_the_record_it_updates(fentanyl, destination):  # noqa: F811
    applied = fentanyl.apply("LUA").json()["id"]
    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        fentanyl.remove(applied, site="LUA")

    removal = Removal.objects.get()
    first, second = OutboundMessage.objects.order_by("pk")
    assert first.removal is None
    assert second.removal == removal
    assert second.administration_id == first.administration_id
    assert second.depends_on == first
    assert second.message_id == message_control_id(removal.external_id) != first.message_id
    er7 = ras_o17(snapshot_from_json(second.snapshot), HL7_CONFIG)
    rxa = next(line for line in er7.split("\r") if line.startswith("RXA")).split("|")
    assert (rxa[4], rxa[21]) == ("20261127080000+0700", "U")
    assert "|LUA^Left Upper Arm^HL70163" in er7


def test_a_refused_removal_queues_nothing(fentanyl, destination):  # noqa: F811
    applied = fentanyl.apply("LUA").json()["id"]
    fentanyl.remove(applied)

    again = fentanyl.remove(applied)

    assert again.status_code == 409
    assert OutboundMessage.objects.filter(removal__isnull=False).count() == 1
