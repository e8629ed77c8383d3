"""The pharmacist's verification queue and the formulary's scan search, through the pharmacy site."""

import json
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from pharmacy.demo import demo_hospital_load
from pharmacy.models import MedicationOrder, OrderStatus, ScheduledDose
from tests.factories import AllergyFactory, NurseFactory, OrderFactory, PharmacistFactory

pytestmark = pytest.mark.django_db

PHARMACIST = {"username": "duocsi.tuan", "password": "duocsi-demo-2026"}


@pytest.fixture
def pharmacist_client(client):
    demo_hospital_load()
    assert client.login(**PHARMACIST)
    return client


def reviewed(client, order: MedicationOrder) -> dict:
    """The verify form's fields as the review page renders them."""
    page = client.get(reverse("pharmacy:verification-review", args=[order.external_id]))
    return {"version": page.context["version"]}


def active_order(**filters) -> MedicationOrder:
    """An active order of the pharmacist's hospital (BVDKT). Orders sort by their start, and the
    demo starts several at one moment, Bãi Cháy's among them: `.first()` alone took any of them on
    PostgreSQL, and a Bãi Cháy order is out of her reach (the discontinue test once failed so)."""
    return (
        MedicationOrder.objects.filter(
            status=OrderStatus.ACTIVE, admission__ward__code="NOI", **filters
        )
        .order_by("pk")
        .first()
    )


def pending(key: str) -> MedicationOrder:
    return MedicationOrder.objects.get(
        status=OrderStatus.PENDING_VERIFICATION, admission__patient__mrn=key
    )


def test_queue_lists_every_pending_order_oldest_first_with_allergies(pharmacist_client):
    # given: the demo has four orders awaiting verification; make one of them the oldest
    newest_first = list(
        MedicationOrder.objects.filter(status=OrderStatus.PENDING_VERIFICATION).order_by("-pk")
    )
    for age, order in enumerate(newest_first):
        MedicationOrder.objects.filter(pk=order.pk).update(
            created_at=order.created_at - timedelta(minutes=age)
        )
    # when
    response = pharmacist_client.get(reverse("pharmacy:verification-queue"))
    # then
    assert response.status_code == 200
    shown = [order.pk for order in response.context["page"].object_list]
    assert shown == [order.pk for order in reversed(newest_first)]
    assert response.context["total"] == 4
    body = response.content.decode()
    assert "Châu Ngọc Yến" in body and "Amoxicillin" in body


def test_queue_filters_by_ward(pharmacist_client):
    response = pharmacist_client.get(reverse("pharmacy:verification-queue"), {"ward": "NGOAI"})
    wards = {order.admission.ward.code for order in response.context["page"].object_list}
    assert wards == {"NGOAI"} and response.context["total"] == 2


def test_review_shows_the_matching_allergy_and_the_patients_other_orders(pharmacist_client):
    order = pending("BN2026000115")
    response = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[order.external_id])
    )
    assert response.status_code == 200
    review = response.context["review"]
    assert [a.allergen_code for a in review.matching_allergies] == ["amoxicillin"]
    assert 'id="allergy-warning"' in response.content.decode()


def test_review_flags_another_live_order_of_the_same_substance(pharmacist_client):
    order = pending("BN2026000111")  # PRN paracetamol; give him a scheduled paracetamol too
    existing = OrderFactory(
        admission=order.admission, medication=order.medication, status=OrderStatus.ACTIVE
    )
    response = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[order.external_id])
    )
    assert response.context["review"].overlapping_orders == [existing]


def test_verify_records_who_and_when_generates_doses_and_opens_the_next(pharmacist_client):
    # given
    order = pending("BN2026000105")
    # when
    response = pharmacist_client.post(
        reverse("pharmacy:verification-transition", args=[order.external_id, "verify"]),
        reviewed(pharmacist_client, order),
    )
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.ACTIVE
    assert order.verified_by.username == "duocsi.tuan" and order.verified_at is not None
    assert order.status_changed_by == order.verified_by
    assert ScheduledDose.objects.filter(order=order).exists()
    following = MedicationOrder.objects.filter(status=OrderStatus.PENDING_VERIFICATION)
    assert response.status_code == 302
    assert any(str(o.external_id) in response["Location"] for o in following)
    history = list(order.history.order_by("history_date"))
    assert history[-1].status == OrderStatus.ACTIVE
    assert history[-1].history_user.username == "duocsi.tuan"


def test_hold_needs_a_reason_and_records_who(pharmacist_client):
    order = active_order()
    url = reverse("pharmacy:verification-transition", args=[order.external_id, "hold"])

    refused = pharmacist_client.post(url, {"reason": "  "}, follow=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.ACTIVE
    assert "Give a reason" in refused.content.decode() or "Hãy nêu lý do" in (
        refused.content.decode()
    )

    pharmacist_client.post(url, {"reason": "Creatinin tăng"})
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD and order.status_reason == "Creatinin tăng"
    assert order.status_changed_by.username == "duocsi.tuan"


def test_discontinue_cancels_future_doses(pharmacist_client):
    order = active_order(scheduled_doses__isnull=False)
    url = reverse("pharmacy:verification-transition", args=[order.external_id, "discontinue"])
    response = pharmacist_client.post(url, {"reason": "Đổi thuốc"})
    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert response.status_code == 302, (response.status_code, said)
    order.refresh_from_db()
    assert order.status == OrderStatus.DISCONTINUED, said
    assert not order.scheduled_doses.filter(
        state="scheduled", due_at__gt=order.status_changed_at
    ).exists()


def test_verifying_an_order_twice_is_refused_without_a_500(pharmacist_client):
    order = pending("BN2026000105")
    url = reverse("pharmacy:verification-transition", args=[order.external_id, "verify"])
    form = reviewed(pharmacist_client, order)
    pharmacist_client.post(url, form)
    response = pharmacist_client.post(url, form, follow=True)
    assert response.status_code == 200
    assert MedicationOrder.history.filter(id=order.pk, status=OrderStatus.ACTIVE).count() == 1


def test_an_administrator_may_view_but_not_verify(client):
    demo_hospital_load()
    assert client.login(username="quantri", password="quantri-demo-2026")
    order = pending("BN2026000105")
    assert client.get(reverse("pharmacy:verification-queue")).status_code == 200
    client.post(reverse("pharmacy:verification-transition", args=[order.external_id, "verify"]))
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION


def test_nurses_and_strangers_cannot_reach_the_queue(client):
    order = OrderFactory(
        status=OrderStatus.PENDING_VERIFICATION, verified_by=None, verified_at=None
    )
    urls = [
        reverse("pharmacy:verification-queue"),
        reverse("pharmacy:verification-review", args=[order.external_id]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/pharmacy/login/" in response["Location"]
    nurse = NurseFactory(is_staff=True)
    client.force_login(nurse)
    for url in urls:
        assert client.get(url).status_code == 302
    client.post(reverse("pharmacy:verification-transition", args=[order.external_id, "verify"]))
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION


def test_unknown_order_or_action_is_404(pharmacist_client):
    order = pending("BN2026000105")
    missing = "00000000-0000-0000-0000-000000000000"
    assert (
        pharmacist_client.get(reverse("pharmacy:verification-review", args=[missing])).status_code
        == 404
    )
    url = reverse("pharmacy:verification-transition", args=[order.external_id, "approve"])
    assert pharmacist_client.post(url).status_code == 404
    assert pharmacist_client.get(url.replace("approve", "verify")).status_code == 405


def test_the_order_form_cannot_change_status_or_a_verified_dose(pharmacist_client):
    order = active_order()
    response = pharmacist_client.get(
        reverse("pharmacy:pharmacy_medicationorder_change", args=[order.pk])
    )
    form = response.context["adminform"].form
    assert "status" not in form.fields and "dose_value" not in form.fields


def test_the_order_form_sets_per_kg_doses_until_the_order_is_verified(pharmacist_client):
    pending_order = pending("BN2026000115")
    active = active_order()

    def form(order):
        url = reverse("pharmacy:pharmacy_medicationorder_change", args=[order.pk])
        return pharmacist_client.get(url).context["adminform"].form

    assert {"dose_per_kg", "max_dose_per_kg"} <= set(form(pending_order).fields)
    assert not {"dose_per_kg", "max_dose_per_kg"} & set(form(active).fields)


def test_the_order_page_shows_the_dose_per_kg_and_its_maximum(pharmacist_client):
    from decimal import Decimal

    order = pending("BN2026000115")
    MedicationOrder.objects.filter(pk=order.pk).update(
        dose_per_kg=Decimal("10"), max_dose_per_kg=Decimal("12.5")
    )

    page = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[order.external_id])
    ).content.decode()

    assert '<span id="order-dose-per-kg">10 mg/kg theo cân nặng hiện tại</span>' in page
    assert '<span id="order-max-per-kg">tối đa 12,5 mg/kg mỗi lần</span>' in page


def test_site_index_counts_the_queue(pharmacist_client):
    response = pharmacist_client.get(reverse("pharmacy:index"))
    assert response.context["awaiting_verification"] == 4
    assert reverse("pharmacy:verification-queue") in response.content.decode()


@pytest.mark.parametrize(
    "search",
    [
        "\x1d0108936012345001172811301" + "0PCM2611AS\x1d21001",
        "]d20108936012345001172811301" + "0PCM2611AS\x1d21001",
        "(01)08936012345001(17)281130(10)PCM2611AS(21)001",
        "08936012345001",
    ],
)
def test_formulary_search_takes_a_scanned_pack(pharmacist_client, search):
    response = pharmacist_client.get(
        reverse("pharmacy:pharmacy_medication_changelist"), {"q": search}
    )
    names = [m.name for m in response.context["cl"].result_list]
    assert names == ["Paracetamol 500 mg viên nén"]


def test_formulary_search_by_name_still_works(pharmacist_client):
    response = pharmacist_client.get(
        reverse("pharmacy:pharmacy_package_changelist"), {"q": "Paracetamol"}
    )
    assert len(response.context["cl"].result_list) >= 2


def test_allergy_by_class_is_matched(db):
    from pharmacy.selectors import allergy_matches

    order = OrderFactory()
    substance = order.medication.substance
    substance.allergy_class_code = "penicillins"
    substance.save()
    hit = AllergyFactory(patient=order.admission.patient, allergen_code="Penicillins")
    AllergyFactory(patient=order.admission.patient, allergen_code="sulfonamides")
    assert allergy_matches(order, list(order.admission.patient.allergies.all())) == [hit]


def test_pharmacist_factory_has_no_queue_items_without_orders(client):
    client.force_login(PharmacistFactory(is_staff=True))
    response = client.get(reverse("pharmacy:verification-queue"))
    assert response.status_code == 200 and response.context["total"] == 0


def test_the_history_page_cannot_revert_a_discontinued_order(pharmacist_client):
    # given: an order discontinued through the service
    order = active_order()
    active_version = order.history.order_by("-history_id").first()
    pharmacist_client.post(
        reverse("pharmacy:verification-transition", args=[order.external_id, "discontinue"]),
        {"reason": "Bác sĩ ngừng thuốc"},
    )
    url = reverse(
        "pharmacy:pharmacy_medicationorder_simple_history",
        args=[order.pk, active_version.history_id],
    )
    # when: the old version's page is posted back as it stands
    form = pharmacist_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    if "times_of_day" in data:
        data["times_of_day"] = json.dumps(data["times_of_day"])
    data.update(
        {
            f"scheduled_doses-{name}": value
            for name, value in [("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0")]
        }
    )
    pharmacist_client.post(url, data)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.DISCONTINUED


def test_an_order_changed_after_the_review_page_opened_is_not_verified(pharmacist_client):
    # given: the pharmacist opens the order, then someone edits its dose
    order = pending("BN2026000105")
    form = reviewed(pharmacist_client, order)
    order.dose_value = 40
    order.save()
    # when
    response = pharmacist_client.post(
        reverse("pharmacy:verification-transition", args=[order.external_id, "verify"]),
        form,
        follow=True,
    )
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION
    assert "review it again" in response.content.decode() or "xem lại" in (
        response.content.decode()
    )
    # and a form without the version verifies nothing either
    pharmacist_client.post(
        reverse("pharmacy:verification-transition", args=[order.external_id, "verify"])
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION


# --- allergy acknowledgement, age, weight and the dose in units (issue 13, item 11) ----------


def verify(client, order, **fields):
    return client.post(
        reverse("pharmacy:verification-transition", args=[order.external_id, "verify"]),
        {**reviewed(client, order), **fields},
        follow=True,
    )


def test_yens_amoxicillin_is_not_verified_with_one_click(pharmacist_client):
    # given: Yến (8) has a moderate amoxicillin allergy; the order awaits verification
    order = pending("BN2026000115")

    # when: the pharmacist presses Verify without acknowledging the allergy
    response = verify(pharmacist_client, order)

    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION and order.verified_at is None
    assert "chọn lý do vẫn duyệt" in response.content.decode()


def test_an_acknowledged_allergy_verifies_and_is_shown_with_who_and_why(pharmacist_client):
    from pharmacy.models import AllergyAcknowledgement

    order = pending("BN2026000115")
    page = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[order.external_id])
    ).content.decode()
    assert 'id="allergy-acknowledgement"' in page

    verify(
        pharmacist_client,
        order,
        allergy_reason="prescriber_confirmed",
        allergy_comment="BS. Thắng xác nhận qua điện thoại 09:12",
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.ACTIVE
    ack = AllergyAcknowledgement.objects.get(order=order)
    assert ack.acknowledged_by.username == "duocsi.tuan"
    assert [a["code"] for a in ack.allergies] == ["amoxicillin"]
    page = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[order.external_id])
    ).content.decode()
    assert 'id="allergy-acknowledged"' in page and "BS. Thắng xác nhận" in page


def test_the_order_page_shows_age_and_weight(pharmacist_client):
    from django.utils import timezone

    from wards.models import Patient

    yen = pending("BN2026000115")  # born 03/09/2015, weighed 24.5 kg on admission
    duc = pending("BN2026000105")  # born 09/09/1982, never weighed
    yen_page = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[yen.external_id])
    ).content.decode()
    duc_url = reverse("pharmacy:verification-review", args=[duc.external_id])
    duc_page = pharmacist_client.get(duc_url).content.decode()

    assert '<span id="patient-age">11 tuổi</span>' in yen_page
    assert "<strong>24,5 kg</strong>" in yen_page
    assert '<span id="patient-age">44 tuổi</span>' in duc_page
    assert "Cân nặng: chưa ghi nhận" in duc_page

    Patient.objects.filter(mrn="BN2026000105").update(
        weight_kg="71.2", weight_measured_at=timezone.now()
    )
    assert "<strong>71,2 kg</strong>" in pharmacist_client.get(duc_url).content.decode()


def test_half_a_capsule_is_flagged_and_a_whole_tablet_is_not(pharmacist_client):
    amoxicillin = pending("BN2026000115")  # 250 mg from 500 mg capsules
    atorvastatin = pending("BN2026000105")  # 20 mg from 20 mg tablets

    flagged = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[amoxicillin.external_id])
    )
    plain = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[atorvastatin.external_id])
    )

    assert 'id="dose-units-warning"' in flagged.content.decode()
    assert (
        "0,5" in flagged.context["dose_warning"] and "viên nang" in flagged.context["dose_warning"]
    )
    assert 'id="dose-units-warning"' not in plain.content.decode()


def test_an_order_by_a_route_its_medication_cannot_go_by_offers_no_verify(pharmacist_client):
    order = pending("BN2026000105")
    MedicationOrder.objects.filter(pk=order.pk).update(route="IT")

    page = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[order.external_id])
    ).content.decode()
    verify(pharmacist_client, order)

    assert 'id="route-warning"' in page and 'id="verify"' not in page
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_VERIFICATION


def test_the_order_form_sets_assessments_and_hold_parameters_until_the_order_is_verified(
    pharmacist_client,
):
    pending_order = pending("BN2026000115")
    active = active_order()

    def form(order):
        url = reverse("pharmacy:pharmacy_medicationorder_change", args=[order.pk])
        return pharmacist_client.get(url).context["adminform"].form

    assert {"assessments_required", "hold_parameters"} <= set(form(pending_order).fields)
    assert not {"assessments_required", "hold_parameters"} & set(form(active).fields)


def test_a_hold_parameter_that_cannot_be_taken_is_refused_by_the_order_s_validation(
    pharmacist_client,
):
    from django.core.exceptions import ValidationError

    order = pending("BN2026000115")
    order.hold_parameters = [{"kind": "heart_rate", "operator": "=", "value": "60"}]

    with pytest.raises(ValidationError) as raised:
        order.full_clean()

    assert "hold_parameters" in raised.value.message_dict


def test_the_order_page_shows_what_to_measure_and_when_to_hold(pharmacist_client):
    order = pending("BN2026000115")
    MedicationOrder.objects.filter(pk=order.pk).update(
        assessments_required=["pain_score"],
        hold_parameters=[{"kind": "respiratory_rate", "operator": "<", "value": "12"}],
    )

    page = pharmacist_client.get(
        reverse("pharmacy:verification-review", args=[order.external_id])
    ).content.decode()

    assert "điểm đau, nhịp thở · <strong>tạm hoãn nếu</strong> nhịp thở &lt; 12 lần/phút" in page
