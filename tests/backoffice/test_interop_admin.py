import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from interop.models import Destination, OutboundMessage, OutboundState
from interop.worker import deliver_batch
from tests.factories import NurseFactory, PharmacistFactory, default_hospital
from tests.interop.conftest import later

pytestmark = pytest.mark.django_db


@pytest.fixture
def pharmacist_with_interop(client):
    """A pharmacist granted the interop permissions the role will carry (see the report)."""
    user = PharmacistFactory()
    user.set_password("pharmacy-long-password")
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="interop",
            codename__in=[
                "view_destination",
                "add_destination",
                "change_destination",
                "view_outboundmessage",
                "change_outboundmessage",
                "view_deliveryattempt",
            ],
        )
    )
    client.login(username=user.username, password="pharmacy-long-password")
    return client


def test_destinations_are_configured_in_the_pharmacy_site(pharmacist_with_interop):
    # when
    response = pharmacist_with_interop.post(
        reverse("pharmacy:interop_destination_add"),
        {
            "name": "HIS chính",
            "host": "his.benhvien.local",
            "port": "2575",
            "enabled": "on",
            "hospital": default_hospital().pk,  # hers; empty is a superuser's (the province's)
            "message_types": '["RAS^O17"]',
            "receiving_application": "HIS",
            "receiving_facility": "BV",
            "max_attempts": "20",
            "ack_timeout_seconds": "10",
            "ack_mode": "enhanced",
            "on_reject": "dead",
        },
    )

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    destination = Destination.objects.get()
    assert (destination.host, destination.port, destination.message_types) == (
        "his.benhvien.local",
        2575,
        ["RAS^O17"],
    )
    assert (destination.ack_mode, destination.on_reject) == ("enhanced", "dead")
    assert destination.hospital == default_hospital()


def test_an_unknown_message_type_is_refused_in_the_form(pharmacist_with_interop):
    response = pharmacist_with_interop.post(
        reverse("pharmacy:interop_destination_add"),
        {
            "name": "x",
            "host": "h",
            "port": "2575",
            "message_types": '["ADT^A01"]',
            "max_attempts": "3",
            "ack_timeout_seconds": "10",
        },
    )

    assert response.status_code == 200 and not Destination.objects.exists()


def test_destination_list_shows_the_queue(pharmacist_with_interop, hospital, destination):
    hospital.record()

    body = pharmacist_with_interop.get(reverse("pharmacy:interop_destination_changelist"))

    assert body.status_code == 200 and "HIS" in body.content.decode()


def test_a_dead_message_shows_why_and_can_be_retried(
    pharmacist_with_interop, hospital, destination
):
    # given
    row = OutboundMessage.objects.get(administration=hospital.record())
    OutboundMessage.objects.filter(pk=row.pk).update(
        state=OutboundState.DEAD, attempts=20, last_error="AR: rejected – unknown patient"
    )
    changelist = reverse("pharmacy:interop_outboundmessage_changelist")

    # when
    listing = pharmacist_with_interop.get(changelist, {"state__exact": "dead"})
    detail = pharmacist_with_interop.get(
        reverse("pharmacy:interop_outboundmessage_change", args=[row.pk])
    )
    retried = pharmacist_with_interop.post(
        changelist, {"action": "retry_now", "_selected_action": [row.pk]}, follow=True
    )

    # then
    assert "AR: rejected – unknown patient" in listing.content.decode()
    assert detail.status_code == 200 and row.message_id in detail.content.decode()
    assert retried.status_code == 200
    row.refresh_from_db()
    assert (row.state, row.attempts) == (OutboundState.PENDING, 0)
    assert row.next_attempt_at <= later(1)


def test_the_outbox_is_read_only(pharmacist_with_interop, hospital, destination):
    row = OutboundMessage.objects.get(administration=hospital.record())

    response = pharmacist_with_interop.post(
        reverse("pharmacy:interop_outboundmessage_change", args=[row.pk]), {"state": "delivered"}
    )

    assert response.status_code == 403
    row.refresh_from_db()
    assert row.state == OutboundState.PENDING


def test_nurses_cannot_reach_the_outbox(client):
    nurse = NurseFactory(is_staff=True)
    nurse.set_password("x-long-password-1")
    nurse.save()
    client.login(username=nurse.username, password="x-long-password-1")

    response = client.get(reverse("pharmacy:interop_outboundmessage_changelist"))

    assert response.status_code == 302 and "/pharmacy/login/" in response["Location"]


def test_a_messages_page_lists_its_delivery_attempts(
    pharmacist_with_interop, hospital, destination, receiver
):
    receiver(answer=lambda number, control_id: "AE")
    administration = hospital.record()
    deliver_batch()
    row = OutboundMessage.objects.get(administration=administration)

    page = pharmacist_with_interop.get(
        reverse("pharmacy:interop_outboundmessage_change", args=[row.pk])
    )

    text = page.content.decode()
    assert page.status_code == 200
    assert f"127.0.0.1:{destination.port}" in text
    assert "AE: error at the receiver" in text
