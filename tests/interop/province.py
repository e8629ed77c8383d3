"""What the interop tests of the province's hospitals share.

The demo province at 07:00 on 24 November: BVDKT (MSH-4 "HOSPITAL", wards NOI and NGOAI) and
BVBC Bãi Cháy (MSH-4 "BAICHAY", ward BC-NOI, patients BC2026000001 and BC2026000002 admitted
there). HL7 goes in through the inbox as the MLLP listener hands it over, or over a real MLLP
socket; FHIR goes in with a service account of one hospital, or of two."""

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import hl7
import hl7.client
import time_machine
from django.test import Client

from hospital.models import Hospital, User
from hospital.service_accounts import service_account_create
from interop.inbound import his_day as h
from interop.inbound.inbox import inbox_receive
from interop.inbound.server import InboundServer
from interop.models import CodeMapKind, InboundCodeMap, InboundMessage
from pharmacy.demo import demo_hospital_load
from pharmacy.models import Medication
from tests.demo_copy import demo_hospital_copy

START = datetime(2026, 11, 24, 7, 0, tzinfo=h.HCMC)
HAI = "BC2026000001"  # a Bãi Cháy patient, admitted on BC-NOI
# Both HISes number their patients and visits from the same vendor's sequence.
MRN = "BN2026009101"
VISIT = "V0001"


def hospital(code: str) -> Hospital:
    return Hospital.objects.get(code=code)


@contextmanager
def province_at_start(**drug_maps: str) -> Iterator[time_machine.Traveller]:
    """The demo province with the clock stopped at START, and the HIS's drug codes given mapped
    province-wide (`TT01="paracetamol-500-tab"`)."""
    with time_machine.travel(START, tick=False) as traveller:
        demo_hospital_copy()
        for his_code, medication in drug_maps.items():
            InboundCodeMap.objects.create(
                kind=CodeMapKind.MEDICATION,
                his_code=his_code,
                medication=Medication.objects.get(code=medication),
            )
        yield traveller


@contextmanager
def province_listener() -> Iterator[InboundServer]:
    """The demo province from START with the clock running (so loaded, not copied), and the HL7
    listener on a free port of 127.0.0.1. Its threads have connections of their own: a test that
    uses it is a transactional one."""
    with time_machine.travel(START, tick=True):
        demo_hospital_load()
        server = InboundServer("127.0.0.1", 0).start()
        try:
            yield server
        finally:
            server.stop()


def from_bvdkt(event: str, control_id: str, pid: str, pv1: str) -> str:
    return h.adt(event, control_id, START, pid, pv1)


def from_bai_chay(event: str, control_id: str, pid: str, pv1: str) -> str:
    return h.adt(event, control_id, START, pid, pv1, facility="BAICHAY")


def an(mrn: str = MRN) -> str:
    """BVDKT's patient."""
    return h.pid(mrn, "Nguyễn", "An", "Văn")


def binh(given: str = "Bình") -> str:
    """Bãi Cháy's patient, under the same number."""
    return h.pid(MRN, "Trần", given, "Thị", birth="19700505", sex="F", facility="BAICHAY")


def problem(control_id: str) -> str:
    """The problem code the inbox gave a message."""
    return InboundMessage.objects.get(control_id=control_id).problem_code


def inbox_send(message: str) -> tuple[str, str]:
    """(MSA-1, ERR-8) of the ACK, read with python-hl7."""
    ack = inbox_receive(message)
    assert ack is not None
    parsed = hl7.parse(ack.replace("\n", "\r").strip())
    text = str(parsed.segment("ERR")[8]) if "ERR" in [str(s[0]) for s in parsed] else ""
    return str(parsed.segment("MSA")[1]), text


def mllp_send(listener: InboundServer, *messages: str) -> list[tuple[str, str]]:
    """(MSA-1, ERR-8) of each ACK, over one MLLP connection."""
    answers = []
    with hl7.client.MLLPClient("127.0.0.1", listener.port) as client:
        for message in messages:
            ack = hl7.parse(client.send_message(message).strip(b"\x0b\x1c\r").decode("utf-8"))
            names = [str(segment[0]) for segment in ack]
            error = str(ack.segment("ERR")[8]) if "ERR" in names else ""
            answers.append((str(ack.segment("MSA")[1]), error))
    return answers


def _token(name: str, scopes: list[str], hospitals: list[Hospital]) -> str:
    account, secret = service_account_create(
        name=name, scopes=scopes, by=User.objects.get(username="quantri"), hospitals=hospitals
    )
    basic = base64.b64encode(f"{account.client_id}:{secret}".encode()).decode()
    answer = Client().post(
        "/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["access_token"]


def bearer(hospital_code: str, scopes: str) -> str:
    """A token of a service account of one hospital."""
    return _token(f"his-{hospital_code.lower()}", scopes.split(), [hospital(hospital_code)])


def two_hospital_bearer() -> str:
    """A token of a service account that writes for BVDKT and Bãi Cháy both."""
    hospitals = list(Hospital.objects.filter(code__in=["BVDKT", "BVBC"]))
    return _token("his-province", ["system/*.write"], hospitals)


def post(bundle: dict, token: str):
    return Client().post(
        "/api/v1/fhir/",
        json.dumps(bundle),
        content_type="application/fhir+json; fhirVersion=5.0",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def issue(response) -> tuple[str, str]:
    """(code, diagnostics) of an OperationOutcome's first issue."""
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    first = body["issue"][0]
    return first["details"]["coding"][0]["code"], first["diagnostics"]
