"""Verbal and telephone orders (pharmacy.services.order_create_verbal and order_cosign, the cart's
`POST patients/{mrn}/verbal-orders/`, the co-sign page in /pharmacy/) and one-time orders at the
bedside. On the demo hospital at 08:10: Trần Thị Bích Ngọc (NOI 02) has no paracetamol order;
the doctor gives one by word, STAT."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from hospital.exceptions import ApplicationError
from pharmacy.models import MedicationOrder, OrderStatus, ScheduledDose, ScheduleKind
from pharmacy.selectors import order_list_awaiting_verification, verbal_orders_unsigned
from pharmacy.services import order_cosign, order_verify
from scanning.models import Administration
from tests.scanning.conftest import DEMO_NOW, NGOC_BAND, PARACETAMOL, image

pytestmark = pytest.mark.django_db

NGOC = "BN2026000102"
URL = f"/api/v1/patients/{NGOC}/verbal-orders/"


def ngoc_verbal():
    return MedicationOrder.objects.filter(admission__patient__mrn=NGOC).exclude(verbal_kind="")


def user(username: str):
    return get_user_model().objects.get(username=username)


def stat_paracetamol(**changes) -> dict:
    return {
        "kind": "verbal",
        "prescriber": "BS. Phạm Quốc Việt",
        "medication": "paracetamol-500-tab",
        "dose": "1000",
        "dose_unit": "mg",
        "route": "PO",
        "schedule": "stat",
        "read_back_confirmed": True,
        **changes,
    }


def document(client, body: dict, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, body, format="json", **headers)


def give(client, units=PARACETAMOL, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        "/api/v1/administrations/",
        {"patient": image(NGOC_BAND), "medications": [image(name) for name in units]},
        format="json",
        **headers,
    )


# --- documenting the order at the cart ---------------------------------------------------------


def test_a_verbal_stat_order_is_active_unsigned_with_one_dose_due_now(nurse_client):
    # when
    response = document(nurse_client, stat_paracetamol())
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["schedule"], body["status"]) == ("stat", "active")
    assert body["verbal"]["cosigned_at"] is None
    assert body["verbal"]["prescriber"] == "BS. Phạm Quốc Việt"
    order = MedicationOrder.objects.get(external_id=body["id"])
    assert (order.verbal_kind, order.read_back_confirmed) == ("verbal", True)
    assert order.documented_by.username == "dieuduong.hoa"
    assert order.verified_at is None
    assert list(order.scheduled_doses.values_list("due_at", flat=True)) == [order.start_at]
    # the pharmacist still verifies it, afterwards
    assert order in order_list_awaiting_verification()


def test_the_stat_dose_is_given_through_the_same_checks_and_a_second_is_refused(nurse_client):
    # given: the verbal STAT order, documented
    assert document(nurse_client, stat_paracetamol()).status_code == 201
    # when: the two tablets are scanned and recorded
    first = give(nurse_client, key="stat-1")
    # then: recorded, with no warning for the unsigned order just given
    assert first.status_code == 201, first.content
    # when: another two tablets for the same one-time order
    second = give(
        nurse_client,
        units=[
            "unit-dose-08936012345001-PCM2611AS003.png",
            "unit-dose-08936012345001-PCM2611AS004.png",
        ],
        key="stat-2",
    )
    # then
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "ALREADY_GIVEN"
    assert Administration.objects.filter(order__in=ngoc_verbal()).count() == 1


def test_without_read_back_it_is_a_400_and_nothing_is_written(nurse_client):
    response = document(nurse_client, stat_paracetamol(read_back_confirmed=False))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "READ_BACK_REQUIRED"
    missing = document(nurse_client, {**stat_paracetamol(), "read_back_confirmed": None})
    assert missing.status_code == 400
    assert not ngoc_verbal().exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"medication": "no-such-drug"},
        {"dose": "-1"},
        {"dose": "abc"},
        {"route": "XX"},
        {"route": "IV"},  # a tablet cannot go IV
        {"schedule": "prn"},
        {"schedule": "on_call"},
        {"schedule": "once"},  # without its time
        {"schedule": "once", "start_at": "2026-11-26T08:00:00+07:00"},  # two days ahead
        {"schedule": "interval"},  # without N
        {"kind": "email"},
        {"prescriber": "   "},
        {"dose_unit": "kg"},
    ],
)
def test_bad_input_is_a_clear_400_never_a_500_and_no_partial_write(nurse_client, changes):
    response = document(nurse_client, stat_paracetamol(**changes), key=f"bad-{changes}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"]
    assert not ngoc_verbal().exists()
    assert not ScheduledDose.objects.filter(order__in=ngoc_verbal()).exists()


def test_a_body_that_is_not_an_object_is_a_400(nurse_client):
    response = nurse_client.post(URL, ["x"], format="json")
    assert response.status_code == 400


def test_a_pharmacist_cannot_document_a_verbal_order_at_the_cart(pharmacist_client):
    response = document(pharmacist_client, stat_paracetamol())
    assert response.status_code == 403
    assert not ngoc_verbal().exists()


def test_a_retry_with_the_same_key_returns_the_first_order_never_a_second(nurse_client):
    first = document(nurse_client, stat_paracetamol(), key="verbal-1")
    again = document(nurse_client, stat_paracetamol(), key="verbal-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert ngoc_verbal().count() == 1


def test_a_verbal_once_order_waits_for_the_pharmacist(nurse_client):
    start = (DEMO_NOW + timedelta(hours=2)).isoformat()
    response = document(nurse_client, stat_paracetamol(schedule="once", start_at=start))
    assert response.status_code == 201, response.content
    order = MedicationOrder.objects.get(external_id=response.json()["id"])
    assert order.status == OrderStatus.PENDING_VERIFICATION
    # when: the pharmacist verifies it
    order_verify(order=order, pharmacist=user("duocsi.tuan"))
    # then: one dose, at the time the doctor said
    assert list(order.scheduled_doses.values_list("due_at", flat=True)) == [order.start_at]


def test_the_mar_and_worklist_flag_the_unsigned_order(nurse_client):
    document(nurse_client, stat_paracetamol())
    mar = nurse_client.get(f"/api/v1/patients/{NGOC}/mar/").json()
    (verbal,) = [o for o in mar["orders"] if o["verbal"]]
    assert verbal["schedule"] == "stat"
    assert verbal["verbal"]["cosigned_at"] is None
    assert [d["timing"] for d in verbal["doses"]] == ["due"]
    worklist = nurse_client.get("/api/v1/wards/NOI/worklist/").json()
    (row,) = [r for r in worklist["rows"] if r["verbal_unsigned"] and r["patient"]["mrn"] == NGOC]
    assert (row["schedule"], row["medication"]) == ("stat", "Paracetamol 500 mg viên nén")


# --- co-signing --------------------------------------------------------------------------------


def documented(nurse_client) -> MedicationOrder:
    response = document(nurse_client, stat_paracetamol())
    return MedicationOrder.objects.get(external_id=response.json()["id"])


def test_a_pharmacist_records_the_co_signature_and_a_second_is_told_who_did(nurse_client):
    order = documented(nurse_client)
    tuan = user("duocsi.tuan")
    # when
    signed = order_cosign(order=order, by=tuan, signed_at=timezone.now())
    # then
    assert signed.cosigned_at is not None and signed.cosign_recorded_by == tuan
    assert order not in verbal_orders_unsigned()
    with pytest.raises(ApplicationError) as again:
        order_cosign(order=order, by=tuan, signed_at=timezone.now())
    assert (again.value.code, again.value.status) == ("ALREADY_COSIGNED", 409)
    assert again.value.details["recorded_by"] == "duocsi.tuan"


def test_only_a_pharmacist_co_signs_and_only_a_verbal_order(nurse_client):
    order = documented(nurse_client)
    with pytest.raises(ApplicationError) as nurse:
        order_cosign(order=order, by=user("dieuduong.hoa"), signed_at=timezone.now())
    assert nurse.value.status == 403
    other = MedicationOrder.objects.filter(verbal_kind="").first()
    with pytest.raises(ApplicationError) as not_verbal:
        order_cosign(order=other, by=user("duocsi.tuan"), signed_at=timezone.now())
    assert not_verbal.value.code == "NOT_A_VERBAL_ORDER"


def test_a_signature_in_the_future_or_before_the_order_is_refused(nurse_client):
    order = documented(nurse_client)
    tuan = user("duocsi.tuan")
    for signed_at in (timezone.now() + timedelta(hours=1), order.created_at - timedelta(hours=1)):
        with pytest.raises(ApplicationError) as refused:
            order_cosign(order=order, by=tuan, signed_at=signed_at)
        assert refused.value.code == "INVALID_COSIGN_TIME"
    order.refresh_from_db()
    assert order.cosigned_at is None


def test_the_co_sign_page_clears_the_flag_and_a_second_post_is_a_409(nurse_client):
    order = documented(nurse_client)
    pharmacy = Client()
    pharmacy.force_login(user("duocsi.tuan"))
    page = pharmacy.get("/pharmacy/verbal-orders/")
    assert page.status_code == 200
    assert "BS. Phạm Quốc Việt" in page.content.decode()
    url = f"/pharmacy/verbal-orders/{order.external_id}/cosign/"
    signed_at = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    # when
    done = pharmacy.post(url, {"signed_at": signed_at})
    # then
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.cosigned_at is not None
    assert pharmacy.post(url, {"signed_at": signed_at}).status_code == 409
    assert pharmacy.post(url, {"signed_at": "yesterday"}).status_code == 400
    # an administrator reads the page but does not record a prescriber's signature
    admin = Client()
    admin.force_login(user("quantri"))
    assert admin.get("/pharmacy/verbal-orders/").status_code == 200
    assert admin.post(url, {"signed_at": signed_at}).status_code == 403


def test_a_verbal_order_left_unsigned_past_the_co_sign_time_warns_at_the_next_dose(
    nurse_client, settings
):
    # given: a telephone order for one dose now, verified, documented two hours ago and never
    # co-signed, where the co-sign time is one hour
    response = document(
        nurse_client,
        stat_paracetamol(kind="telephone", schedule="once", start_at=DEMO_NOW.isoformat()),
    )
    order = MedicationOrder.objects.get(external_id=response.json()["id"])
    order_verify(order=order, pharmacist=user("duocsi.tuan"))
    MedicationOrder.objects.filter(pk=order.pk).update(created_at=DEMO_NOW - timedelta(hours=2))
    settings.VERBAL_ORDER_COSIGN_HOURS = 1
    body = {"patient": image(NGOC_BAND), "medications": [image(name) for name in PARACETAMOL]}
    # when
    check = nurse_client.post("/api/v1/scan/check/", body, format="json").json()
    # then: a WARN, with its reasons, not a STOP
    codes = {finding["code"] for finding in check["findings"]}
    assert codes == {"VERBAL_ORDER_UNSIGNED"}
    assert check["verdict"] == "warn"


# --- one-time orders from the schedule --------------------------------------------------------


@pytest.mark.parametrize("kind", [ScheduleKind.ONCE, ScheduleKind.STAT, ScheduleKind.ON_CALL])
def test_a_one_time_order_has_exactly_one_dose_however_often_doses_are_generated(frozen_demo, kind):
    from pharmacy.services import scheduled_doses_generate

    order = MedicationOrder.objects.filter(schedule_kind=ScheduleKind.TIMES_OF_DAY).first()
    MedicationOrder.objects.filter(pk=order.pk).update(
        schedule_kind=kind, times_of_day=[], start_at=timezone.now() - timedelta(minutes=5)
    )
    order.scheduled_doses.all().delete()
    order.refresh_from_db()
    scheduled_doses_generate(order=order)
    scheduled_doses_generate()
    assert order.scheduled_doses.count() == 1
