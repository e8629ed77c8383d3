"""Recording racing the writes that would make it wrong, on PostgreSQL with real connections:
an order discontinued, a wristband reprinted, other PRN doses. Each race runs many times: whoever
wins, the outcome is one of the two serial orders (never a record that the loser's write should
have stopped), and no run ends in a deadlock. (Many carts recording one dose, one key retried at
once and one unit for two patients are in test_concurrency.py.)"""

import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

import gs1
from pharmacy.models import MedicationOrder, OrderStatus, ScheduleKind
from pharmacy.services import order_discontinue
from scanning.models import Administration, AdministrationStatus
from tests.factories import (
    AdmissionFactory,
    NurseFactory,
    OrderFactory,
    PackageFactory,
    PharmacistFactory,
    ScheduledDoseFactory,
    WardFactory,
    WristbandFactory,
)
from tests.scanning.test_concurrency import run_together
from wards.models import Wristband
from wards.services import wristband_issue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ITERATIONS = 20
# The other write starts up to this much later, so that both orders happen: a bare service call
# is quicker than an HTTP request and would otherwise nearly always win.
JITTER_SECONDS = 0.015


@dataclass
class Bedside:
    """One admitted patient with a band, an order for one tablet and what a nurse scans."""

    nurse: object
    pharmacist: object
    band: Wristband
    order: MedicationOrder
    package: object

    def body(self, *serials: str) -> dict:
        units = [
            gs1.medication_element_string(
                gs1.MedicationPayload(
                    gtin=self.package.gtin, expiry=date(2030, 1, 31), lot="RACE", serial=serial
                )
            )
            for serial in serials
        ]
        band = gs1.wristband_element_string(
            gs1.WristbandPayload(gsrn=self.band.patient.gsrn, instance=self.band.instance)
        )
        body = {"patient": {"code": band}, "medications": [{"code": unit} for unit in units]}
        if self.order.schedule_kind == ScheduleKind.PRN:
            body["prn_reason"] = self.order.prn_indications_offered[0]
        return body

    def record(self, *serials: str):
        client = APIClient()
        client.force_login(self.nurse)
        session = client.session
        session["ward"] = self.band.admission.ward.code  # a cart session names its ward
        session.save()
        return client.post("/api/v1/administrations/", self.body(*serials), format="json")


@pytest.fixture
def bedside():
    ward = WardFactory()
    nurse = NurseFactory()
    ward.staff.add(nurse)
    pharmacist = PharmacistFactory()
    package = PackageFactory()

    def make(**order_fields) -> Bedside:
        admission = AdmissionFactory(ward=ward)
        band = WristbandFactory(admission=admission, instance=1, printed_by=pharmacist)
        order = OrderFactory(
            admission=admission,
            medication=package.medication,
            verified_by=pharmacist,
            **order_fields,
        )
        return Bedside(nurse=nurse, pharmacist=pharmacist, band=band, order=order, package=package)

    return make


def later(rng: random.Random, write):
    time.sleep(rng.uniform(0, JITTER_SECONDS))
    return write()


def settled(work):
    """The thread's answer, or the exception it ended with (a deadlock must fail the test, not
    vanish in a thread)."""

    def run(index):
        try:
            return work(index)
        except Exception as error:
            return error

    return run


def codes(response) -> set[str]:
    return {finding["code"] for finding in response.json()["error"]["details"]["findings"]}


def assert_no_errors(results) -> None:
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert not any(isinstance(r, OperationalError) for r in results)


def test_a_record_racing_a_discontinuation_never_lands_on_a_discontinued_order(bedside):
    outcomes, rng = Counter(), random.Random(1)
    for iteration in range(ITERATIONS):
        # given: a dose due now on an active order
        case = bedside()
        ScheduledDoseFactory(order=case.order, due_at=timezone.now())

        # when: the nurse records while the prescriber's discontinuation arrives
        results = run_together(
            2,
            settled(
                lambda i, case=case, n=iteration: (
                    case.record(f"D{n}")
                    if i == 0
                    else later(
                        rng,
                        lambda: order_discontinue(
                            order=case.order, reason="Stop", by=case.pharmacist
                        ),
                    )
                )
            ),
        )

        # then: either the record came first, or it was refused because the order had ended
        assert_no_errors(results)
        response = results[0]
        order = MedicationOrder.objects.get(pk=case.order.pk)
        assert order.status == OrderStatus.DISCONTINUED
        if response.status_code == 201:
            given = Administration.objects.get(order=order)
            assert given.administered_at < order.status_changed_at
            outcomes["recorded, then discontinued"] += 1
        else:
            assert response.status_code == 422, response.json()
            assert response.json()["error"]["code"] == "CHECK_STOP"
            assert "ORDER_DISCONTINUED" in codes(response)
            assert not Administration.objects.filter(order=order).exists()
            outcomes["discontinued, then refused"] += 1
    assert sum(outcomes.values()) == ITERATIONS, outcomes


def test_a_record_racing_a_wristband_reprint_never_uses_a_void_band(bedside):
    outcomes, rng = Counter(), random.Random(2)
    for iteration in range(ITERATIONS):
        case = bedside()
        ScheduledDoseFactory(order=case.order, due_at=timezone.now())

        # when: the nurse scans band 1 while the ward reprints it as band 2
        results = run_together(
            2,
            settled(
                lambda i, case=case, n=iteration: (
                    case.record(f"W{n}")
                    if i == 0
                    else later(
                        rng,
                        lambda: wristband_issue(
                            admission=case.band.admission, printed_by=case.pharmacist
                        ),
                    )
                )
            ),
        )

        # then
        assert_no_errors(results)
        response = results[0]
        old = Wristband.objects.get(pk=case.band.pk)
        assert old.voided_at is not None
        assert results[1].instance == 2
        if response.status_code == 201:
            given = Administration.objects.get(order=case.order)
            assert given.administered_at < old.voided_at
            outcomes["recorded with band 1, then reprinted"] += 1
        else:
            assert response.status_code == 422, response.json()
            assert "WRISTBAND_VOID" in codes(response)
            assert not Administration.objects.filter(order=case.order).exists()
            outcomes["reprinted, then refused as a void band"] += 1
    assert sum(outcomes.values()) == ITERATIONS, outcomes


def test_prn_doses_racing_each_other_never_pass_the_24_hour_maximum(bedside):
    racers = 4
    outcomes = Counter()
    for iteration in range(ITERATIONS):
        # given: 500 mg as needed, at least an hour apart, at most 2 g a day; 1.5 g already given
        case = bedside(
            schedule_kind=ScheduleKind.PRN,
            times_of_day=[],
            prn_indication="Đau",
            prn_min_interval_minutes=60,
            prn_max_per_24h=Decimal("2000"),
        )
        for hours_ago in (10, 7, 4):
            Administration.objects.create(
                patient=case.band.patient,
                admission=case.band.admission,
                order=case.order,
                status=AdministrationStatus.COMPLETED,
                performer=case.nurse,
                administered_at=timezone.now() - timedelta(hours=hours_ago),
                amount=Decimal("500"),
                unit="mg",
                route="PO",
            )

        # when: four carts give one more tablet each, at once
        results = run_together(
            racers, settled(lambda i, case=case, n=iteration: case.record(f"P{n}-{i}"))
        )

        # then: one is recorded and the total stays at the maximum
        assert_no_errors(results)
        statuses = Counter(r.status_code for r in results)
        assert statuses == {201: 1, 422: racers - 1}, statuses
        for refused in (r for r in results if r.status_code == 422):
            assert codes(refused) & {"PRN_TOO_SOON", "PRN_MAX_EXCEEDED"}, codes(refused)
            outcomes.update(codes(refused) & {"PRN_TOO_SOON", "PRN_MAX_EXCEEDED"})
        day = Administration.objects.filter(
            order=case.order,
            status=AdministrationStatus.COMPLETED,
            administered_at__gt=timezone.now() - timedelta(hours=24),
        )
        assert sum(a.amount for a in day) == Decimal("2000")
    assert outcomes["PRN_MAX_EXCEEDED"] == ITERATIONS * (racers - 1), outcomes
