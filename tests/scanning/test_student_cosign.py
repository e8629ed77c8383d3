"""A student nurse gives a dose only with her clinical instructor's badge + PIN co-sign on the
record (scanning/rules/cosign.py): through the API, on the demo hospital (Thư, student, NOI; Nga,
nurse and instructor, NOI)."""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from hospital.models import LoginThrottle, Role, User
from interop.fhir import medication_administration
from interop.hl7v2 import ras_o17
from interop.selectors import administration_snapshot
from interop.snapshot import snapshot_from_json, snapshot_to_json
from scanning.audit import administration_hash
from scanning.models import Administration, ScanEvent
from tests.scanning.conftest import (
    AN_BAND,
    BINH_BADGE,
    HOA_BADGE,
    PARACETAMOL,
    badge_client,
    code,
    image,
)

THU_BADGE = "8017952000200000000174"  # student nurse, NOI, PIN 777777
NGA_BADGE = "8017952000200000000167"  # nurse and clinical instructor, NOI, PIN 666666
NGA_GSRN = "952000200000000167"


@pytest.fixture
def student_client(frozen_demo):
    return badge_client(THU_BADGE, "777777")


def dose(**cosign) -> dict:
    return {
        "patient": image(AN_BAND),
        "medications": [image(name) for name in PARACETAMOL],
        **cosign,
    }


def cosigned(badge=NGA_BADGE, pin="666666") -> dict:
    return dose(cosigner=code(badge), cosigner_pin=pin)


def record(client, body, key):
    return client.post("/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def cosign_problem(response) -> str | None:
    findings = response.json()["error"]["details"]["findings"]
    return next(
        (f["data"]["problem"] for f in findings if f["code"] == "STUDENT_COSIGN_REQUIRED"), None
    )


def test_a_students_dose_alone_is_a_stop_asking_for_the_instructor(student_client):
    checked = student_client.post("/api/v1/scan/check/", dose(), format="json").json()
    refused = record(student_client, dose(), "alone")

    assert checked["verdict"] == "stop"
    assert [f["code"] for f in checked["findings"]] == ["STUDENT_COSIGN_REQUIRED"]
    assert refused.status_code == 422
    assert cosign_problem(refused) == "missing"
    assert not Administration.objects.exists()


def test_the_instructors_badge_and_pin_cosign_the_record_and_its_hash(student_client):
    # when
    checked = student_client.post("/api/v1/scan/check/", cosigned(), format="json").json()
    response = record(student_client, cosigned(), "cosigned")

    # then
    assert checked["verdict"] == "go"
    assert checked["cosigner"] == {"name": "Đỗ Thị Nga"}
    assert response.status_code == 201, response.content
    assert response.json()["cosigner"] == "giangvien.nga"
    record_ = Administration.objects.get()
    assert (record_.performer.username, record_.cosigner.username) == (
        "sinhvien.thu",
        "giangvien.nga",
    )
    assert record_.cosigned_at == record_.administered_at
    # the co-sign is sealed in the record's hash: another co-signer would not verify
    units, overrides = list(record_.units.all()), list(record_.overrides.all())
    assert administration_hash(record_, units, overrides) == record_.content_hash
    record_.cosigner_id = User.objects.get(username="dieuduong.binh").pk
    assert administration_hash(record_, units, overrides) != record_.content_hash
    # and the badge scanned is in the record's scan event
    event = ScanEvent.objects.get(administration__isnull=False)
    assert [scan["slot"] for scan in event.scans][-1] == "cosigner"


def test_a_retry_with_the_same_key_records_the_cosigned_dose_once(student_client):
    first = record(student_client, cosigned(), "same-key")
    again = record(student_client, cosigned(), "same-key")

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert Administration.objects.count() == 1


def test_the_student_cannot_cosign_her_own_dose(student_client):
    response = record(student_client, cosigned(THU_BADGE, "777777"), "self")

    assert response.status_code == 422
    assert cosign_problem(response) == "same_person"
    assert not Administration.objects.exists()


def test_a_nurse_who_is_no_instructor_cannot_cosign(student_client):
    response = record(student_client, cosigned(BINH_BADGE, "222222"), "binh")

    assert cosign_problem(response) == "not_instructor"
    assert not Administration.objects.exists()


def test_a_wrong_pin_is_refused_and_counted_like_a_failed_login(student_client):
    response = record(student_client, cosigned(pin="000000"), "wrong-pin")

    assert response.status_code == 422
    assert cosign_problem(response) == "pin"
    assert not Administration.objects.exists()
    assert LoginThrottle.objects.filter(credential=NGA_GSRN, failures=1).exists()


def test_an_inactive_instructor_cannot_cosign(student_client):
    User.objects.filter(username="giangvien.nga").update(is_active=False)

    response = record(student_client, cosigned(), "inactive")

    assert cosign_problem(response) == "inactive"
    assert not Administration.objects.exists()


def test_an_instructor_whose_logins_are_delayed_cannot_cosign(student_client, settings):
    # given: her badge held back at this source after failed PINs
    settings.LOGIN_FREE_FAILURES = 1
    for key in ("g1", "g2"):
        record(student_client, cosigned(pin="000000"), key)

    # when: the right PIN, too soon
    response = record(student_client, cosigned(), "locked")

    # then: refused as a login would be, and nothing recorded
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "LOGIN_THROTTLED"
    assert not Administration.objects.exists()


def test_a_licensed_nurses_cosign_slot_is_neither_checked_nor_recorded(frozen_demo):
    nurse = badge_client(HOA_BADGE, "111111")

    response = record(nurse, cosigned(pin="000000"), "nurse")

    assert response.status_code == 201
    assert response.json()["cosigner"] is None


def test_an_instructor_is_a_licensed_nurse_in_the_instructor_group(frozen_demo):
    nga = User.objects.get(username="giangvien.nga")
    assert nga.is_instructor
    nga.groups.set([Group.objects.get(name=Role.INSTRUCTOR)])  # the marker alone
    del nga.roles
    assert not nga.is_instructor
    assert not User.objects.get(username="sinhvien.thu").is_instructor


def test_the_cosigner_goes_out_in_hl7_and_fhir(student_client):
    record(student_client, cosigned(), "interop")
    snapshot = administration_snapshot(Administration.objects.get().pk)

    message = ras_o17(snapshot)
    resource = medication_administration(snapshot)

    cosign_obx = [s for s in message.split("\r") if "COSIGNER" in s]
    assert len(cosign_obx) == 1 and "Đỗ" in cosign_obx[0]
    functions = {p["function"]["coding"][0]["code"] for p in resource["performer"]}
    assert functions == {"performer", "verifier"}
    assert snapshot_from_json(snapshot_to_json(snapshot)) == snapshot


@pytest.mark.parametrize("change", ["herself", "no-time", "time-alone"])
def test_the_database_refuses_a_cosign_by_the_performer_or_without_its_time(student_client, change):
    # given: a co-signed record, copied as a new row (what code skipping the services might write)
    record(student_client, cosigned(), "copied")
    row = Administration.objects.get()
    row.pk, row.external_id, row.chain_seq = None, uuid.uuid4(), 999
    if change == "herself":
        row.cosigner = row.performer
    elif change == "no-time":
        row.cosigned_at = None
    else:
        row.cosigner = None

    # then
    with pytest.raises(ValidationError, match="ký xác nhận"):
        row.full_clean(exclude=["scheduled_dose", "corrects", "replaces"])
    with pytest.raises(IntegrityError, match="cosign_by_another_with_time"), transaction.atomic():
        row.save()
