from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from hospital.exceptions import ApplicationError
from pharmacy.models import DoseState, MedicationOrder, OrderStatus, ScheduledDose, ScheduleKind
from pharmacy.services import (
    OrderStateError,
    VerbalOrderInput,
    order_create_from_his,
    order_create_verbal,
    order_discontinue,
    order_hold,
    order_resume,
    order_verify,
    scheduled_doses_generate,
)
from tests.factories import (
    AdmissionFactory,
    HospitalFactory,
    MedicationFactory,
    NurseFactory,
    OrderFactory,
    WardFactory,
)

pytestmark = pytest.mark.django_db


def pending_order(**fields):
    return OrderFactory(
        status=OrderStatus.PENDING_VERIFICATION, verified_by=None, verified_at=None, **fields
    )


def test_pharmacist_verifies_a_pending_order_and_its_doses_appear(pharmacist):
    # given
    order = pending_order(
        schedule_kind=ScheduleKind.INTERVAL,
        times_of_day=[],
        interval_hours=6,
        start_at=timezone.now() - timedelta(hours=1),
    )
    # when
    verified = order_verify(order=order, pharmacist=pharmacist)
    # then
    assert verified.status == OrderStatus.ACTIVE
    assert verified.verified_by == pharmacist and verified.verified_at is not None
    assert ScheduledDose.objects.filter(order=order).count() >= 8  # 48 h horizon / 6 h


def test_a_nurse_cannot_verify(nurse):
    with pytest.raises(ApplicationError) as refused:
        order_verify(order=pending_order(), pharmacist=nurse)
    assert refused.value.code == "NOT_A_PHARMACIST"


def test_an_active_order_cannot_be_verified_twice(pharmacist):
    order = OrderFactory()
    with pytest.raises(OrderStateError):
        order_verify(order=order, pharmacist=pharmacist)


def test_hold_and_resume_need_the_right_state_and_a_reason():
    order = OrderFactory()
    with pytest.raises(ApplicationError):
        order_hold(order=order, reason=" ")
    held = order_hold(order=order, reason="Huyết áp thấp")
    assert held.status == OrderStatus.ON_HOLD and held.status_reason == "Huyết áp thấp"
    with pytest.raises(OrderStateError):
        order_hold(order=order, reason="again")
    assert order_resume(order=order).status == OrderStatus.ACTIVE


def test_discontinue_cancels_future_doses_but_keeps_past_ones():
    order = OrderFactory(
        schedule_kind=ScheduleKind.INTERVAL,
        times_of_day=[],
        interval_hours=4,
        start_at=timezone.now() - timedelta(hours=10),
    )
    scheduled_doses_generate(order=order)
    past = order.scheduled_doses.filter(due_at__lte=timezone.now()).count()
    order_discontinue(order=order, reason="Đổi kháng sinh")
    assert order.scheduled_doses.filter(state=DoseState.SCHEDULED).count() == past
    assert (
        order.scheduled_doses.filter(state=DoseState.CANCELLED, due_at__lte=timezone.now()).count()
        == 0
    )
    with pytest.raises(OrderStateError):
        order_discontinue(order=order, reason="again")


def test_generating_doses_twice_adds_nothing():
    order = OrderFactory(
        times_of_day=["08:00", "20:00"], start_at=timezone.now() - timedelta(days=2)
    )
    scheduled_doses_generate()
    first = ScheduledDose.objects.filter(order=order).count()
    scheduled_doses_generate()
    assert ScheduledDose.objects.filter(order=order).count() == first
    # 24 h back and 48 h ahead, twice a day: 6 doses, give or take the one nearest each edge
    assert 5 <= first <= 7


def test_discontinued_orders_get_no_new_doses():
    order = OrderFactory(status=OrderStatus.DISCONTINUED, status_reason="x")
    scheduled_doses_generate()
    assert not ScheduledDose.objects.filter(order=order).exists()


def test_pending_orders_get_doses_so_the_nurse_sees_what_awaits_verification():
    order = pending_order()
    scheduled_doses_generate()
    assert ScheduledDose.objects.filter(order=order).exists()
    assert NurseFactory().may_administer


def test_scheduled_doses_command_fills_the_window(capsys):
    from django.core.management import call_command

    order = OrderFactory(
        times_of_day=["08:00", "20:00"], start_at=timezone.now() - timedelta(days=2)
    )
    call_command("scheduled_doses")
    assert ScheduledDose.objects.filter(order=order).count() >= 5
    assert "Scheduled doses up to 48 h ahead" in capsys.readouterr().out


# --- verifying against a documented allergy (issue 13, item 11) -----------------------------


def allergic_order():
    from tests.factories import AllergyFactory

    order = pending_order()
    AllergyFactory(
        patient=order.admission.patient,
        allergen_code=order.medication.substance.code,
        allergen_name="Paracetamol",
        severity="moderate",
        reaction="Mày đay",
    )
    return order


def test_an_allergy_conflicting_order_is_not_verified_without_an_acknowledgement(pharmacist):
    order = allergic_order()

    with pytest.raises(ApplicationError) as refused:
        order_verify(order=order, pharmacist=pharmacist)

    assert refused.value.code == "ALLERGY_ACKNOWLEDGEMENT_REQUIRED"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION
    assert not ScheduledDose.objects.filter(order=order).exists()


def test_the_acknowledgement_is_recorded_with_who_when_why_and_what_was_seen(pharmacist):
    from pharmacy.models import AllergyAcknowledgement
    from pharmacy.services import AllergyAcknowledgementInput

    order = allergic_order()

    verified = order_verify(
        order=order,
        pharmacist=pharmacist,
        allergy_acknowledgement=AllergyAcknowledgementInput(
            reason="tolerated_before", comment="Đã dùng 2024 không phản ứng"
        ),
    )

    assert verified.status == OrderStatus.ACTIVE
    ack = AllergyAcknowledgement.objects.get(order=order)
    assert ack.acknowledged_by == pharmacist and ack.acknowledged_at == verified.verified_at
    assert ack.reason == "tolerated_before" and ack.comment == "Đã dùng 2024 không phản ứng"
    assert ack.allergies == [
        {
            "code": order.medication.substance.code,
            "name": "Paracetamol",
            "severity": "moderate",
            "reaction": "Mày đay",
        }
    ]


def test_other_as_the_reason_needs_words(pharmacist):
    from pharmacy.services import AllergyAcknowledgementInput

    order = allergic_order()

    with pytest.raises(ApplicationError) as refused:
        order_verify(
            order=order,
            pharmacist=pharmacist,
            allergy_acknowledgement=AllergyAcknowledgementInput(reason="other", comment=" "),
        )

    assert refused.value.code == "COMMENT_REQUIRED"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION


def test_an_order_without_an_allergy_conflict_records_no_acknowledgement(pharmacist):
    from pharmacy.models import AllergyAcknowledgement
    from pharmacy.services import AllergyAcknowledgementInput

    order = pending_order()

    order_verify(
        order=order,
        pharmacist=pharmacist,
        allergy_acknowledgement=AllergyAcknowledgementInput(reason="tolerated_before"),
    )

    assert not AllergyAcknowledgement.objects.exists()


def test_an_order_by_a_route_the_medication_cannot_go_by_is_not_verified(pharmacist):
    from tests.factories import MedicationFactory

    vincristine = MedicationFactory(dose_form="injection", routes=["IV"])
    order = pending_order(medication=vincristine, route="IT", dose_value=1)

    with pytest.raises(ApplicationError) as refused:
        order_verify(order=order, pharmacist=pharmacist)

    assert refused.value.code == "ROUTE_NOT_ALLOWED"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION


# --- an order's hospital: its admission's, whose HIS issued its numbers -------------------------


def his_values(admission, **more):
    return {
        "admission": admission,
        "medication": MedicationFactory(routes=["PO"]),
        "dose_value": Decimal("500"),
        "dose_unit": "mg",
        "route": "PO",
        "schedule_kind": ScheduleKind.TIMES_OF_DAY,
        "times_of_day": ["08:00"],
        "start_at": timezone.now(),
        "prescriber_name": "BS. Lê Văn Tâm",
        "placer_order_number": "DH0001",
        **more,
    }


def test_an_order_from_the_his_is_in_its_admissions_hospital():
    admission = AdmissionFactory(
        ward=WardFactory(code="B-NOI", hospital=HospitalFactory(code="BVB"))
    )

    order = order_create_from_his(values=his_values(admission))

    assert order.hospital.code == "BVB"


def test_an_order_from_the_his_for_another_hospital_than_its_admissions_is_refused():
    admission = AdmissionFactory(
        ward=WardFactory(code="B-NOI", hospital=HospitalFactory(code="BVB"))
    )
    elsewhere = HospitalFactory(code="BVA")

    with pytest.raises(ValidationError) as refused:
        order_create_from_his(values=his_values(admission, hospital=elsewhere))

    assert list(refused.value.message_dict) == ["admission"]
    assert not MedicationOrder.objects.exists()


def test_a_verbal_order_is_in_its_admissions_hospital():
    admission = AdmissionFactory(
        ward=WardFactory(code="B-NOI", hospital=HospitalFactory(code="BVB"))
    )

    order = order_create_verbal(
        nurse=NurseFactory(),
        values=VerbalOrderInput(
            admission=admission,
            medication=MedicationFactory(routes=["PO"]),
            dose_value=Decimal("500"),
            dose_unit="mg",
            route="PO",
            schedule_kind=ScheduleKind.STAT,
            prescriber_name="BS. Đinh Văn Quang",
            verbal_kind="telephone",
            read_back_confirmed=True,
        ),
    )

    assert order.hospital.code == "BVB"
