"""The HL7 listener over real MLLP sockets on 127.0.0.1, driven by independent senders: python-hl7's
MLLP client and @medplum/hl7's (node). Each asserts what the database holds afterwards."""

import json
import os
import shutil
import socket
import subprocess
from datetime import datetime

import hl7.client
import pytest
import time_machine
from django.conf import settings

from interop.inbound import his_day as h
from interop.inbound.server import InboundServer
from interop.models import CodeMapKind, InboundCodeMap, InboundMessage, InboundState
from pharmacy.demo import demo_hospital_load
from pharmacy.models import Medication, MedicationOrder, OrderStatus
from wards.models import Admission, Patient

pytestmark = pytest.mark.django_db(transaction=True)
START = datetime(2026, 11, 24, 7, 0, tzinfo=h.HCMC)
DRUGS = {"TT01": "paracetamol-500-tab", "TT02": "ceftriaxone-1g-inj", "TT03": "omeprazole-20-cap"}


def map_drugs():
    for code, medication in DRUGS.items():
        InboundCodeMap.objects.get_or_create(
            kind=CodeMapKind.MEDICATION,
            his_code=code,
            defaults={"medication": Medication.objects.get(code=medication)},
        )


@pytest.fixture
def hospital():
    with time_machine.travel(START, tick=True):
        demo_hospital_load()
        map_drugs()
        yield


@pytest.fixture
def listener(hospital):
    server = InboundServer("127.0.0.1", 0).start()
    yield server
    server.stop()


def unframe(data: bytes) -> str:
    return data.strip(b"\x0b\x1c\r").decode("utf-8")


def msa(ack: str) -> list[str]:
    return next(s for s in ack.split("\r") if s.startswith("MSA")).split("|")


def assert_the_ward_day_is_in_the_database():
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {InboundState.APPLIED}
    assert Patient.objects.get(mrn="BN2026000201").full_name == "Nguyễn Văn An"
    assert Admission.objects.get(visit_number="VV2026001").discharged_at is not None
    hong = Admission.objects.get(visit_number="VV2026002")
    assert (hong.ward.code, hong.transferred_from.code) == ("NGOAI", "NOI")
    statuses = dict(
        MedicationOrder.objects.exclude(placer_order_number="").values_list(
            "placer_order_number", "status"
        )
    )
    assert statuses == {
        "YL0001": OrderStatus.PENDING_VERIFICATION,
        "YL0002": OrderStatus.PENDING_VERIFICATION,
        "YL0003": OrderStatus.DISCONTINUED,
        "YL0004": OrderStatus.PENDING_VERIFICATION,
    }


def test_python_hl7_client_sends_a_ward_day(listener):
    day = h.ward_day(START)
    answers = []
    with hl7.client.MLLPClient("127.0.0.1", listener.port) as client:
        for _label, message in day:
            answers.append(unframe(client.send_message(message)))
        # the HIS repeats the last two (it lost our ACKs): the same answers, nothing applied twice
        repeats = [unframe(client.send_message(message)) for _label, message in day[-2:]]

    assert [msa(ack)[1:3] for ack in answers] == [
        ["AA", f"HIS{n:04d}"] for n in range(1, len(day) + 1)
    ]
    assert repeats == answers[-2:]
    assert InboundMessage.objects.filter(times_received=2).count() == 2
    assert_the_ward_day_is_in_the_database()


def test_a_connection_dropped_mid_frame_loses_nothing_and_applies_once(listener):
    day = h.ward_day(START)
    first = day[0][1].encode()
    with socket.create_connection(("127.0.0.1", listener.port)) as raw:
        raw.sendall(b"\x0b" + first[: len(first) // 2])  # the cable is pulled here
    assert not InboundMessage.objects.exists()

    with hl7.client.MLLPClient("127.0.0.1", listener.port) as client:
        ack = unframe(client.send_message(day[0][1]))

    assert msa(ack)[1] == "AA"
    assert Admission.objects.filter(visit_number="VV2026001").count() == 1
    assert InboundMessage.objects.get().times_received == 1


def test_out_of_order_over_the_wire(listener):
    day = dict(h.ward_day(START))
    with hl7.client.MLLPClient("127.0.0.1", listener.port) as client:
        for label in (
            "A03 Nguyễn Văn An discharged",
            "RDE NW paracetamol 1 g PO 08:00/14:00/20:00 for An",
            "A01 Nguyễn Văn An, NOI/10, penicillin allergy",
        ):
            assert msa(unframe(client.send_message(day[label])))[1] == "AA"

    admission = Admission.objects.get(visit_number="VV2026001")
    assert admission.discharged_at is not None
    assert admission.orders.get().placer_order_number == "YL0001"  # before the discharge (MSH-7)
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {InboundState.APPLIED}


def node_modules_ready() -> bool:
    return bool(shutil.which("node")) and (settings.BASE_DIR / "node_modules/@medplum/hl7").exists()


def test_medplum_client_sends_a_ward_day(listener):
    if not node_modules_ready():
        if os.environ.get("CI"):
            pytest.fail("node and `npm ci` are required in CI (the independent HL7 sender)")
        pytest.skip("node_modules missing: run `npm ci`")
    day = h.ward_day(START)
    messages = [message for _label, message in day] + [day[0][1]]  # and a duplicate

    result = subprocess.run(  # noqa: S603 - node runs our own peer script
        [shutil.which("node"), "tests/interop/peers/medplum_send.cjs"],
        input=json.dumps({"host": "127.0.0.1", "port": listener.port, "messages": messages}),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert [a["code"] for a in answers] == ["AA"] * len(messages)
    assert answers[-1]["ack"] == answers[0]["ack"]
    assert_the_ward_day_is_in_the_database()
    assert InboundMessage.objects.get(control_id="HIS0001").times_received == 2
