"""The life of an infusion bag told to other systems: HL7 v2 RXA (RXA-3/4 start and end, RXA-6/7
with RXA-12 the rate, RXA-20 completion, RXA-21 A then U) and FHIR MedicationAdministration
(status in-progress → completed/stopped, occurencePeriod/effectivePeriod, dosage.rateQuantity
then dose). One golden file per kind of bag record, validated as the other golden files are."""

import json
import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import hl7
import pytest

from interop.fhir import R4, R4B, R5, medication_administration
from interop.hl7v2 import message_control_id, ras_o17, ras_o17_message
from interop.snapshot import InfusionState, Unit, snapshot_from_json, snapshot_to_json
from tests.interop import fhir_validator
from tests.interop.conftest import GIVEN, HCMC, HL7_CONFIG
from tests.interop.golden import assert_golden
from tests.interop.test_fhir import CONFIG, MODELS, dumped
from tests.interop.test_hl7v2 import KNOWN_TABLE_WARNINGS, segments, strict_report

HUNG_AT = datetime(2026, 11, 24, 8, 0, 0, tzinfo=HCMC)
BAG = replace(
    GIVEN,
    id=uuid.UUID("6b2f0c1e-3a4d-4e5f-8a9b-0c1d2e3f4a51"),
    administered_at=HUNG_AT,
    recorded_at=HUNG_AT,
    order_id=uuid.UUID("6b2f0c1e-3a4d-4e5f-8a9b-0c1d2e3f4a52"),
    medication_code="nacl-0.9-1000-inf",
    medication_name="Natri clorid 0,9% 1000 mL túi dịch truyền",
    order_route="IV",
    order_dose_unit="mL",
    amount=Decimal("1000.0000"),
    unit="mL",
    route="IV",
    administration_number=1,
    units=(Unit("09520003000145", "NS2611", None, "NS2611S001"),),
)


def _event(n: int) -> uuid.UUID:
    return uuid.UUID(f"6b2f0c1e-3a4d-4e5f-8a9b-0c1d2e3f4b{n:02d}")


HANG = replace(
    BAG,
    infusion=InfusionState(
        event_id=_event(1),
        event="started",
        at=HUNG_AT,
        started_at=HUNG_AT,
        line="1",
        rate_ml_h=Decimal("125"),
    ),
)
RATE_CHANGE = replace(
    BAG,
    infusion=InfusionState(
        event_id=_event(2),
        event="rate_changed",
        at=datetime(2026, 11, 24, 10, 0, 0, tzinfo=HCMC),
        started_at=HUNG_AT,
        line="1",
        rate_ml_h=Decimal("100"),
    ),
)
ENDED_AT = datetime(2026, 11, 24, 17, 30, 0, tzinfo=HCMC)
COMPLETE = replace(
    BAG,
    infusion=InfusionState(
        event_id=_event(3),
        event="completed",
        at=ENDED_AT,
        started_at=HUNG_AT,
        line="1",
        ended_at=ENDED_AT,
        volume_infused_ml=Decimal("1000"),
    ),
)
STOPPED = replace(
    COMPLETE,
    infusion=replace(
        COMPLETE.infusion, event_id=_event(4), event="stopped", volume_infused_ml=Decimal("640")
    ),
)
BAG_KINDS = {
    "infusion_hang": HANG,
    "infusion_rate_change": RATE_CHANGE,
    "infusion_complete": COMPLETE,
}


@pytest.mark.parametrize("kind", BAG_KINDS)
def test_each_bag_record_matches_its_hl7_golden_file(kind):
    er7 = ras_o17(BAG_KINDS[kind], HL7_CONFIG)

    assert_golden(f"{kind}.hl7", er7.replace("\r", "\n"))


@pytest.mark.parametrize("kind", [*BAG_KINDS, "stopped"])
def test_each_bag_record_passes_hl7apy_strict_parsing_and_validation(kind, tmp_path):
    snapshot = {**BAG_KINDS, "stopped": STOPPED}[kind]
    er7 = ras_o17(snapshot, HL7_CONFIG)

    assert set(strict_report(er7, tmp_path)) <= KNOWN_TABLE_WARNINGS
    assert ras_o17_message(snapshot, HL7_CONFIG).validate() is True


@pytest.mark.parametrize(
    ("snapshot", "rxa_6", "rxa_12", "rxa_20", "rxa_21"),
    [
        pytest.param(HANG, "125", "H1", "", "A", id="hang"),
        pytest.param(RATE_CHANGE, "100", "H1", "", "U", id="rate-change"),
        pytest.param(COMPLETE, "1000", "", "CP", "U", id="complete"),
        pytest.param(STOPPED, "640", "", "PA", "U", id="stopped"),
    ],
)
def test_rxa_carries_the_life_of_the_bag(snapshot, rxa_6, rxa_12, rxa_20, rxa_21):
    rxa = segments(ras_o17(snapshot, HL7_CONFIG))["RXA"]

    assert rxa[3] == "20261124080000+0700"  # hung
    assert (rxa[6], rxa[7].split("^")[0], rxa[12]) == (rxa_6, "mL", rxa_12)
    assert (rxa[20], rxa[21]) == (rxa_20, rxa_21)


def test_each_event_is_its_own_message_about_the_same_administration():
    ids = {str(hl7.parse(ras_o17(s, HL7_CONFIG)).segment("MSH")(10)) for s in BAG_KINDS.values()}

    assert ids == {message_control_id(s.infusion.event_id) for s in BAG_KINDS.values()}


@pytest.mark.parametrize("version", [R5, R4B, R4])
@pytest.mark.parametrize("kind", BAG_KINDS)
def test_each_bag_record_matches_its_fhir_golden_file(kind, version):
    resource = medication_administration(BAG_KINDS[kind], CONFIG, version)

    MODELS[version].model_validate(resource)
    assert_golden(f"{kind}.{version.lower()}.json", dumped(resource))


@pytest.mark.parametrize("version", [R5, R4B, R4])
def test_bag_records_pass_the_validator_that_checks_invariants(version):
    snapshots = [*BAG_KINDS.values(), STOPPED]
    resources = [medication_administration(s, CONFIG, version) for s in snapshots]

    assert fhir_validator.errors(resources, version) == [[] for _ in resources]


@pytest.mark.parametrize(
    ("snapshot", "status", "period", "dosage"),
    [
        pytest.param(HANG, "in-progress", {"start": "2026-11-24T08:00:00+07:00"}, "rateQuantity"),
        pytest.param(
            RATE_CHANGE, "in-progress", {"start": "2026-11-24T08:00:00+07:00"}, "rateQuantity"
        ),
        pytest.param(
            COMPLETE,
            "completed",
            {"start": "2026-11-24T08:00:00+07:00", "end": "2026-11-24T17:30:00+07:00"},
            "dose",
        ),
        pytest.param(
            STOPPED,
            "stopped",
            {"start": "2026-11-24T08:00:00+07:00", "end": "2026-11-24T17:30:00+07:00"},
            "dose",
        ),
    ],
)
def test_fhir_status_period_and_dosage_follow_the_bag(snapshot, status, period, dosage):
    r5 = medication_administration(snapshot, CONFIG, R5)
    r4 = medication_administration(snapshot, CONFIG, R4)

    assert r5["status"] == r4["status"] == status
    assert r5["occurencePeriod"] == r4["effectivePeriod"] == period
    assert dosage in r5["dosage"] and dosage in r4["dosage"]


def test_the_rate_is_in_ucum_millilitres_per_hour():
    rate = medication_administration(RATE_CHANGE, CONFIG, R5)["dosage"]["rateQuantity"]

    assert json.loads(json.dumps(rate, default=str)) == {
        "value": 100,
        "unit": "mL/h",
        "system": "http://unitsofmeasure.org",
        "code": "mL/h",
    }


@pytest.mark.parametrize("snapshot", [HANG, RATE_CHANGE, COMPLETE, STOPPED])
def test_the_outbox_snapshot_of_a_bag_record_round_trips(snapshot):
    assert snapshot_from_json(json.loads(json.dumps(snapshot_to_json(snapshot)))) == snapshot


@pytest.mark.django_db
def test_each_event_of_a_bag_is_queued_after_the_one_before(destination):
    from interop.models import OutboundMessage
    from tests.scanning.test_infusions import Bedside

    bedside = Bedside()
    assert bedside.hang().status_code == 201
    assert bedside.act("pause").status_code == 201
    assert bedside.act("complete", volume_infused_ml="300").status_code == 201

    messages = list(OutboundMessage.objects.filter(destination=destination).order_by("pk"))

    assert len(messages) == 3
    assert len({m.message_id for m in messages}) == 3
    assert [m.depends_on_id for m in messages] == [None, messages[0].pk, messages[1].pk]
    states = [snapshot_from_json(m.snapshot).infusion for m in messages]
    assert [s.event for s in states] == ["started", "paused", "completed"]
    assert states[2].volume_infused_ml == Decimal("300.0")
    final = snapshot_from_json(messages[2].snapshot)
    assert segments(ras_o17(final, HL7_CONFIG))["RXA"][20] == "CP"
    assert medication_administration(final, CONFIG, R5)["status"] == "completed"


@pytest.mark.django_db
def test_a_bag_read_back_for_fhir_tells_where_its_life_stands():
    from interop.selectors import administration_snapshot
    from scanning.models import Administration
    from tests.scanning.test_infusions import Bedside

    bedside = Bedside()
    bedside.hang()
    bag = Administration.objects.get(order=bedside.order)

    running = medication_administration(administration_snapshot(bag.pk), CONFIG, R5)
    bedside.act("stop", volume_infused_ml="250")
    stopped = medication_administration(administration_snapshot(bag.pk), CONFIG, R5)

    assert running["status"] == "in-progress"
    assert running["dosage"]["rateQuantity"]["value"] == 125
    assert stopped["status"] == "stopped"
    assert "end" in stopped["occurencePeriod"]
    assert stopped["dosage"]["dose"]["value"] == 250


@pytest.mark.django_db
def test_a_fhir_search_by_status_finds_a_bag_by_where_its_life_stands():
    from interop.selectors import administration_snapshots_search
    from tests.scanning.test_infusions import Bedside

    bedside = Bedside()
    bedside.hang()
    patient = bedside.band.patient.pk

    def found(*codes):
        return administration_snapshots_search(patient_id=patient, statuses=frozenset(codes))[0]

    assert (found("in-progress"), found("completed"), found("on-hold")) == (1, 0, 0)
    bedside.act("pause")
    assert (found("in-progress"), found("on-hold")) == (0, 1)
    bedside.act("complete")
    assert (found("completed"), found("on-hold"), found("stopped")) == (1, 0, 0)
