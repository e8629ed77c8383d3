"""A check that said GO or WARN and that nothing followed is "scanned but not recorded"
(issue 13, item 2): scanning.selectors.checks_unrecorded and its acknowledgement."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hospital.exceptions import ApplicationError
from hospital.models import User
from scanning.models import ScanEvent
from scanning.scans import ScanInput
from scanning.selectors import checks_unrecorded
from scanning.services import (
    CheckRequest,
    administration_check,
    administration_not_given,
    administration_record,
    unrecorded_check_acknowledge,
)
from tests.demo_copy import demo_hospital_copy
from tests.scanning.conftest import DEMO_NOW
from wards.models import Ward

pytestmark = pytest.mark.django_db

INDEX = json.loads((settings.BASE_DIR / "fixtures/barcodes/index.json").read_text("utf-8"))
N = timedelta(minutes=10)
DAY = timedelta(hours=24)


def wedge(name: str, prefix: str = "]d2") -> ScanInput:
    return ScanInput(code=prefix + INDEX[name]["element_string"])


AN = wedge("wristband-BN2026000101.png", "]C1")  # NOI: paracetamol 1 g due 08:00
UNITS = (
    wedge("unit-dose-08936012345001-PCM2611AS001.png"),
    wedge("unit-dose-08936012345001-PCM2611AS002.png"),
)
EXPIRED = wedge("unit-dose-08936012345001-PCM2409XS001.png")


@pytest.fixture
def clock(db):
    with time_machine.travel(DEMO_NOW, tick=False) as traveller:
        demo_hospital_copy()
        yield traveller


def hoa():
    return User.objects.get(username="dieuduong.hoa")


def check(nurse, units=UNITS):
    request = CheckRequest(patient=AN, medications=units, cart="NOI-1", ward_code="NOI")
    with transaction.atomic():
        return administration_check(performer=nurse, request=request)


def listed(clock, *, ward="NOI", minutes=11, **kwargs):
    clock.shift(timedelta(minutes=minutes))
    return checks_unrecorded(
        now=timezone.now(),
        older_than=N,
        lookback=DAY,
        ward=Ward.objects.get(code=ward),
        **kwargs,
    )


def test_a_go_followed_by_nothing_for_n_minutes_is_listed(clock):
    outcome = check(hoa())
    assert outcome.result.verdict == "go"

    assert [e.pk for e in listed(clock, minutes=9)] == []  # she may still be recording
    rows = listed(clock, minutes=2)

    assert [e.pk for e in rows] == [outcome.event.pk]
    assert rows[0].checked_dose.scheduled_dose.due_at.hour == 1  # 08:00 in UTC+7


def test_a_recorded_dose_is_not_listed(clock):
    nurse = hoa()
    check(nurse)
    request = CheckRequest(patient=AN, medications=UNITS, cart="NOI-1", ward_code="NOI")
    with transaction.atomic():
        assert administration_record(performer=nurse, request=request).administration

    assert listed(clock) == []


def test_a_dose_documented_as_not_given_is_not_listed(clock):
    nurse = hoa()
    outcome = check(nurse)
    order = outcome.context.orders[outcome.result.order.id]
    dose = outcome.context.doses[outcome.result.dose.id]
    with transaction.atomic():
        administration_not_given(
            performer=nurse, patient=AN, order=order, reason="refused", scheduled_dose=dose
        )

    assert listed(clock) == []


def test_a_newer_check_of_the_dose_replaces_the_older_one(clock):
    nurse = hoa()
    check(nurse)
    clock.shift(timedelta(minutes=1))
    newer = check(nurse, units=(EXPIRED,))  # the same dose, now a STOP
    assert newer.result.verdict == "stop"

    assert listed(clock) == []


def test_the_newest_go_is_the_one_listed(clock):
    nurse = hoa()
    check(nurse)
    clock.shift(timedelta(minutes=1))
    newer = check(nurse)

    assert [e.pk for e in listed(clock)] == [newer.event.pk]


def test_another_wards_dashboard_does_not_list_it(clock):
    check(hoa())

    assert listed(clock, ward="NGOAI") == []


def test_the_nurses_own_list_and_another_nurses(clock):
    outcome = check(hoa())
    binh = User.objects.get(username="dieuduong.binh")
    clock.shift(N * 2)
    mine = checks_unrecorded(now=timezone.now(), older_than=N, lookback=DAY, performer=hoa())
    hers = checks_unrecorded(now=timezone.now(), older_than=N, lookback=DAY, performer=binh)

    assert [e.pk for e in mine] == [outcome.event.pk]
    assert hers == []


def test_an_acknowledged_check_leaves_the_list_once_and_is_kept(clock):
    nurse = hoa()
    outcome = check(nurse)
    with transaction.atomic():
        answer = unrecorded_check_acknowledge(
            by=nurse, scan_event=outcome.event, reason="given_on_paper"
        )

    assert listed(clock) == []
    assert answer.acknowledged_by == nurse
    with pytest.raises(ApplicationError) as again, transaction.atomic():
        unrecorded_check_acknowledge(by=nurse, scan_event=outcome.event, reason="not_given")
    assert again.value.code == "ALREADY_ACKNOWLEDGED"


def test_only_she_or_a_charge_nurse_of_the_ward_may_answer_for_it(clock):
    outcome = check(hoa())
    binh = User.objects.get(username="dieuduong.binh")
    lan = User.objects.get(username="dieuduong.lan")  # charge nurse, NOI and NGOAI

    with pytest.raises(ApplicationError) as refused:
        unrecorded_check_acknowledge(by=binh, scan_event=outcome.event, reason="not_given")
    assert refused.value.code == "ACKNOWLEDGE_NOT_ALLOWED"
    with pytest.raises(ApplicationError) as no_comment:
        unrecorded_check_acknowledge(by=lan, scan_event=outcome.event, reason="other")
    assert no_comment.value.code == "COMMENT_REQUIRED"
    with transaction.atomic():
        unrecorded_check_acknowledge(
            by=lan, scan_event=outcome.event, reason="other", comment="hỏi lại điều dưỡng Hoa"
        )
    assert listed(clock) == []


def test_a_stop_is_never_listed(clock):
    check(hoa(), units=(EXPIRED,))

    assert listed(clock) == []
    assert ScanEvent.objects.filter(verdict="stop").exists()
