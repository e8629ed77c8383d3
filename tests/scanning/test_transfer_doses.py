"""A transferred patient (issue 18): the cart's banner says so for TRANSFER_NOTICE_HOURS (72 by
default), and the doses that fell due before the transfer are marked with the ward they fell due
on, in the MAR the cart's dose list reads. The demo's Vũ Thị Thu Trang came from NGOAI 09 ten
minutes before the load."""

from datetime import timedelta

import time_machine

from tests.scanning.conftest import DEMO_NOW, badge_client, code

TRANG_BAND = "]C18018952000100000001068\x1d80191"


def mar(client, mrn="BN2026000106"):
    response = client.get(f"/api/v1/patients/{mrn}/mar/", format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_transferred_demo_patient_shows_her_old_wards_dose(nurse_client):
    body = mar(nurse_client)

    transfer = body["admission"]["transfer"]
    assert (transfer["from_ward"], transfer["from_bed"], transfer["recent"]) == (
        "NGOAI",
        "09",
        True,
    )
    doses = {
        (order["medication"], dose["due_at"][11:16]): dose["old_ward"]
        for order in body["orders"]
        for dose in order["doses"]
    }
    # omeprazole fell due at 07:00, on NGOAI; the furosemide due at 08:00 and 16:00 is NOI's
    assert [key for key, ward in doses.items() if ward == "NGOAI"] == [
        ("Omeprazol 20 mg viên nang", "07:00")
    ]
    assert {ward for key, ward in doses.items() if key[1] != "07:00"} == {None}


def test_the_banner_says_so_for_72_hours_and_no_longer(frozen_demo, settings):
    # given: moved at 08:00, ten minutes before the demo's load
    check = {"patient": code(TRANG_BAND)}

    def checked_at(moment):
        with time_machine.travel(moment, tick=False):
            nurse = badge_client("8017952000200000000112", "111111")  # a cart session then
            return nurse.post("/api/v1/scan/check/", check, format="json").json()

    # when: a minute before and a minute after 72 hours
    within = checked_at(DEMO_NOW + timedelta(hours=71, minutes=49))
    after = checked_at(DEMO_NOW + timedelta(hours=72, minutes=11))

    # then
    assert settings.TRANSFER_NOTICE_HOURS == 72
    assert within["patient"]["transfer"]["recent"] is True
    assert after["patient"]["transfer"]["recent"] is False


def test_a_patient_never_moved_has_no_old_ward_on_any_dose(nurse_client):
    body = mar(nurse_client, "BN2026000101")

    assert body["admission"]["transfer"] is None
    assert {dose["old_ward"] for order in body["orders"] for dose in order["doses"]} == {None}
