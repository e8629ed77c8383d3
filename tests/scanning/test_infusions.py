"""The life of an infusion bag through the bedside API and its services (scanning/infusions.py):
hung as an administration, then rate changed, paused, resumed, completed or stopped, each a new
append-only event. The races (two carts on one bag) run on PostgreSQL at the end."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

import gs1
from pharmacy.models import ScheduleKind
from pharmacy.services import order_discontinue
from scanning import audit
from scanning.chains import infusion_event_links
from scanning.models import Administration, InfusionEvent
from tests.factories import (
    AdmissionFactory,
    MedicationFactory,
    NurseFactory,
    OrderFactory,
    PackageFactory,
    PharmacistFactory,
    ScheduledDoseFactory,
    SubstanceFactory,
    WardFactory,
    WristbandFactory,
)
from tests.scanning.test_concurrency import run_together


class Bedside:
    """An admitted patient with a band, an order for saline 1000 mL at 125 mL/h, and a cart."""

    def __init__(self, *, max_concurrent_bags=1):
        self.ward = WardFactory()
        self.nurse = NurseFactory()
        self.ward.staff.add(self.nurse)
        self.pharmacist = PharmacistFactory()
        saline = MedicationFactory(
            name="Natri clorid 0,9% 1000 mL",
            substance=SubstanceFactory(code="sodium-chloride", name="Natri clorid"),
            strength_value=Decimal("9"),
            strength_unit="mg",
            per_value=Decimal("1"),
            per_unit="mL",
            dose_form="infusion",
            routes=["IV"],
            divisible=True,
        )
        self.package = PackageFactory(
            medication=saline, quantity=Decimal("1000"), quantity_unit="mL"
        )
        admission = AdmissionFactory(ward=self.ward)
        self.band = WristbandFactory(admission=admission, instance=1, printed_by=self.pharmacist)
        self.order = OrderFactory(
            admission=admission,
            medication=saline,
            dose_value=Decimal("1000"),
            dose_unit="mL",
            route="IV",
            schedule_kind=ScheduleKind.INTERVAL,
            times_of_day=[],
            interval_hours=8,
            volume_ml=Decimal("1000"),
            rate_ml_h=Decimal("125"),
            additives="KCl 20 mmol",
            max_concurrent_bags=max_concurrent_bags,
            verified_by=self.pharmacist,
        )
        ScheduledDoseFactory(order=self.order, due_at=timezone.now())

    def client(self, nurse=None) -> APIClient:
        client = APIClient()
        client.force_login(nurse or self.nurse)
        session = client.session
        session["ward"] = self.ward.code
        session.save()
        return client

    def band_scan(self) -> dict:
        return {
            "code": gs1.wristband_element_string(
                gs1.WristbandPayload(gsrn=self.band.patient.gsrn, instance=self.band.instance)
            )
        }

    def bag_scan(self, serial: str | None) -> dict:
        return {
            "code": gs1.medication_element_string(
                gs1.MedicationPayload(
                    gtin=self.package.gtin, expiry=date(2030, 1, 31), lot="NS1", serial=serial
                )
            )
        }

    def hang(self, serial="BAG1", *, rate="125", line="1", key=None, client=None, **extra):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        body = {
            "patient": self.band_scan(),
            "medications": [self.bag_scan(serial)],
            "rate_ml_h": rate,
            "line": line,
            **extra,
        }
        return (client or self.client()).post(
            "/api/v1/infusions/hang/", body, format="json", **headers
        )

    def act(self, action, serial="BAG1", *, key=None, client=None, **extra):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        body = {"patient": self.band_scan(), "bag": self.bag_scan(serial), "action": action}
        body.update(extra)  # a test may send another patient scan (typed, another band)
        return (client or self.client()).post(
            "/api/v1/infusions/events/", body, format="json", **headers
        )


def codes(response) -> set[str]:
    return {f["code"] for f in response.json()["error"]["details"].get("findings", [])}


# --- SQLite (and PostgreSQL): the life of a bag, unhappy paths first --------------------------


@pytest.mark.django_db
class TestBagLife:
    def test_a_second_bag_on_the_same_order_and_line_is_a_stop(self):
        bedside = Bedside()
        assert bedside.hang("BAG1").status_code == 201

        response = bedside.hang("BAG2")

        assert response.status_code == 422, response.json()
        assert "INFUSION_ALREADY_RUNNING" in codes(response)
        assert Administration.objects.filter(order=bedside.order).count() == 1

    def test_a_bag_hung_twice_is_refused_with_a_409(self):
        bedside = Bedside()
        assert bedside.hang("BAG1", line="1").status_code == 201

        response = bedside.hang("BAG1", line="2")

        assert response.status_code == 409, response.json()
        assert response.json()["error"]["code"] == "INFUSION_BAG_ALREADY_HUNG"

    def test_a_bag_without_serial_cannot_be_hung(self):
        response = Bedside().hang(None)

        assert response.status_code == 422
        assert "INFUSION_BAG_NOT_SERIALISED" in codes(response)

    def test_an_infusion_order_is_not_recorded_as_a_plain_dose(self):
        bedside = Bedside()
        body = {"patient": bedside.band_scan(), "medications": [bedside.bag_scan("BAG1")]}

        response = bedside.client().post("/api/v1/administrations/", body, format="json")

        assert response.status_code == 422
        assert response.json()["error"]["code"] == "INFUSION_NEEDS_BAG"

    def test_a_rate_far_outside_the_order_is_a_stop_and_a_near_one_needs_a_reason(self):
        bedside = Bedside()
        assert "INFUSION_RATE_FAR_OUTSIDE_ORDER" in codes(bedside.hang(rate="200"))
        warned = bedside.hang(rate="150")
        assert warned.json()["error"]["code"] == "OVERRIDE_REQUIRED"

        response = bedside.hang(
            rate="150",
            overrides=[{"code": "INFUSION_RATE_OUTSIDE_ORDER", "reason": "PRESCRIBER_AWARE"}],
        )

        assert response.status_code == 201, response.json()
        assert response.json()["bag"]["rate_ml_h"] == "150.0"

    def test_a_bag_of_a_discontinued_order_cannot_be_hung(self):
        bedside = Bedside()
        order_discontinue(order=bedside.order, reason="Stop", by=bedside.pharmacist)

        response = bedside.hang()

        assert response.status_code == 422
        assert "ORDER_DISCONTINUED" in codes(response)

    def test_a_bag_of_another_patient_is_a_stop(self):
        bedside, other = Bedside(), Bedside()
        assert other.hang("OTHER1").status_code == 201
        other_bag = other.bag_scan("OTHER1")
        body = {"patient": bedside.band_scan(), "bag": other_bag, "action": "rate_change"}

        response = bedside.client().post(
            "/api/v1/infusions/events/", {**body, "rate_ml_h": "100"}, format="json"
        )

        assert response.status_code == 422
        assert "INFUSION_BAG_OTHER_PATIENT" in codes(response)

    def test_an_event_on_a_bag_never_hung_is_a_stop(self):
        response = Bedside().act("rate_change", rate_ml_h="100")

        assert response.status_code == 422
        assert "INFUSION_BAG_NOT_HUNG" in codes(response)

    def test_a_rate_change_needs_a_rate(self):
        bedside = Bedside()
        bedside.hang()

        response = bedside.act("rate_change")

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "RATE_REQUIRED"

    def test_hang_change_rate_pause_resume_complete(self, time_machine):
        bedside = Bedside()
        start = timezone.now()
        time_machine.move_to(start, tick=False)
        hung = bedside.hang()
        assert hung.status_code == 201, hung.json()
        assert hung.json()["bag"]["state"] == "running"
        assert hung.json()["bag"]["additives"] == "KCl 20 mmol"

        time_machine.move_to(start + timedelta(hours=2), tick=False)  # 250 mL at 125
        changed = bedside.act(
            "rate_change",
            rate_ml_h="100",
            override={"code": "INFUSION_RATE_OUTSIDE_ORDER", "reason": "PRESCRIBER_AWARE"},
        )
        assert changed.status_code == 201, changed.json()
        time_machine.move_to(start + timedelta(hours=3), tick=False)  # +100 mL at 100
        assert bedside.act("pause").json()["bag"]["state"] == "paused"
        time_machine.move_to(start + timedelta(hours=4), tick=False)  # paused: nothing
        resumed = bedside.act("resume")
        assert resumed.json()["bag"]["rate_ml_h"] == "100.0"
        time_machine.move_to(start + timedelta(hours=5), tick=False)  # +100 mL at 100

        completed = bedside.act("complete")

        assert completed.status_code == 201, completed.json()
        assert completed.json()["event"]["volume_infused_ml"] == "450.0"
        assert completed.json()["bag"]["state"] == "ended"
        kinds = list(
            InfusionEvent.objects.filter(administration__order=bedside.order).values_list(
                "kind", flat=True
            )
        )
        assert kinds == ["started", "rate_changed", "paused", "resumed", "completed"]
        again = bedside.act("complete")
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "INFUSION_BAG_ENDED"

    def test_a_completed_bag_frees_the_line_for_the_next(self, time_machine):
        bedside = Bedside()
        bedside.hang("BAG1")
        bedside.act("complete", volume_infused_ml="1000")
        next_bag_due = timezone.now() + timedelta(hours=8)
        ScheduledDoseFactory(order=bedside.order, due_at=next_bag_due)
        time_machine.move_to(next_bag_due, tick=False)

        response = bedside.hang("BAG2")

        assert response.status_code == 201, response.json()

    def test_an_order_that_allows_two_bags_takes_two(self, time_machine):
        bedside = Bedside(max_concurrent_bags=2)
        bedside.hang("BAG1")
        next_bag_due = timezone.now() + timedelta(hours=8)
        ScheduledDoseFactory(order=bedside.order, due_at=next_bag_due)
        time_machine.move_to(next_bag_due, tick=False)

        response = bedside.hang("BAG2")

        assert response.status_code == 201, response.json()

    def test_a_discontinued_orders_bag_may_be_stopped_not_resumed(self):
        bedside = Bedside()
        bedside.hang()
        bedside.act("pause")
        order_discontinue(order=bedside.order, reason="Stop", by=bedside.pharmacist)

        assert "INFUSION_ORDER_ENDED" in codes(bedside.act("resume"))
        assert bedside.act("stop").status_code == 201

    def test_a_retried_rate_change_records_once(self):
        bedside = Bedside()
        bedside.hang()
        rate = {
            "rate_ml_h": "130",
            "override": {"code": "INFUSION_RATE_OUTSIDE_ORDER", "reason": "PRESCRIBER_AWARE"},
        }

        first = bedside.act("rate_change", key="rate-1", **rate)
        retry = bedside.act("rate_change", key="rate-1", **rate)

        assert first.status_code == retry.status_code == 201
        assert first.json() == retry.json()
        assert InfusionEvent.objects.filter(kind="rate_changed").count() == 1

    def test_the_patients_bags_infusing_now_are_listed(self):
        bedside = Bedside()
        bedside.hang()

        response = bedside.client().get(f"/api/v1/patients/{bedside.band.patient.mrn}/infusions/")

        assert response.status_code == 200
        (bag,) = response.json()["bags"]
        assert bag["medication"] == "Natri clorid 0,9% 1000 mL"
        assert bag["expected_end_at"] is not None

    def test_a_pharmacist_may_not_act_on_a_bag(self):
        bedside = Bedside()
        bedside.hang()

        response = bedside.act("pause", client=bedside.client(PharmacistFactory()))

        assert response.status_code == 403

    def test_a_nurse_of_another_ward_acting_on_a_bag_is_logged_as_break_the_glass(self):
        from scanning.models import AccessLog

        bedside = Bedside()
        bedside.hang()
        elsewhere = NurseFactory()
        WardFactory().staff.add(elsewhere)
        client = bedside.client(elsewhere)  # her cart session names this ward, not hers

        typed = bedside.act("pause", client=client, patient={**bedside.band_scan(), "keyed": True})
        scanned = bedside.act("pause", client=client)

        assert typed.status_code == 403, typed.json()
        assert scanned.status_code == 201, scanned.json()
        assert AccessLog.objects.filter(user=elsewhere).count() == 1

    def test_events_are_hash_chained_per_bag(self):
        bedside = Bedside()
        bedside.hang()
        bedside.act("pause")
        bedside.act("stop")

        links = list(infusion_event_links())

        assert [link.seq for link in links] == [1, 2, 3]
        assert all(link.content_hash == link.recomputed_hash for link in links)
        assert links[0].previous_hash == audit.GENESIS

    def test_the_database_lets_a_bag_end_only_once(self):
        bedside = Bedside()
        bedside.hang()
        bedside.act("complete")
        bag = Administration.objects.get(order=bedside.order)

        with pytest.raises(IntegrityError), transaction.atomic():
            InfusionEvent.objects.create(
                administration=bag,
                kind="stopped",
                at=timezone.now(),
                nurse=bedside.nurse,
                volume_infused_ml=Decimal("0"),
            )


# --- PostgreSQL: two carts on one bag ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestTwoCartsOnOneBag:
    def test_two_carts_hanging_one_bag_hang_it_once(self):
        bedside = Bedside()
        other_nurse = NurseFactory()
        bedside.ward.staff.add(other_nurse)
        nurses = [bedside.nurse, other_nurse]

        results = run_together(
            2, lambda i: bedside.hang("RACE1", line=str(i + 1), client=bedside.client(nurses[i]))
        )

        statuses = sorted(r.status_code for r in results)
        assert statuses == [201, 409], [r.json() for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json()["error"]["code"] in {"INFUSION_BAG_ALREADY_HUNG", "ALREADY_GIVEN"}
        assert InfusionEvent.objects.filter(kind="started").count() == 1

    def test_two_carts_completing_one_bag_complete_it_once(self):
        bedside = Bedside()
        assert bedside.hang("RACE2").status_code == 201
        other_nurse = NurseFactory()
        bedside.ward.staff.add(other_nurse)
        nurses = [bedside.nurse, other_nurse]

        results = run_together(
            2, lambda i: bedside.act("complete", "RACE2", client=bedside.client(nurses[i]))
        )

        statuses = sorted(r.status_code for r in results)
        assert statuses == [201, 409], [r.json() for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json()["error"]["code"] == "INFUSION_BAG_ENDED"
        assert InfusionEvent.objects.filter(kind__in=["completed", "stopped"]).count() == 1

    def test_two_carts_hanging_two_bags_on_one_line_hang_one(self):
        bedside = Bedside()
        other_nurse = NurseFactory()
        bedside.ward.staff.add(other_nurse)
        nurses = [bedside.nurse, other_nurse]

        results = run_together(
            2, lambda i: bedside.hang(f"LINE{i}", client=bedside.client(nurses[i]))
        )

        statuses = sorted(r.status_code for r in results)
        assert statuses[0] == 201 and statuses[1] in (409, 422), [r.json() for r in results]
        assert InfusionEvent.objects.filter(kind="started").count() == 1
