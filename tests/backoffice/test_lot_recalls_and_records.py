"""Lot recalls in the pharmacy site (who already got the lot; the bedside refuses it from then on)
and the read-only administration and scan-event records."""

import pytest
from django.urls import reverse

from pharmacy.models import LotRecall
from scanning.models import Administration, ScanEvent
from tests.factories import NurseFactory
from tests.scanning.conftest import AN_BAND, NGOC_BAND, PARACETAMOL, image

PARACETAMOL_GTIN = "08936012345001"


def pharmacist_login(client):
    assert client.login(username="duocsi.tuan", password="duocsi-demo-2026")
    return client


def record_paracetamol_for_an(nurse_client) -> Administration:
    body = {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]}
    response = nurse_client.post("/api/v1/administrations/", body, format="json")
    assert response.status_code == 201, response.json()
    return Administration.objects.get()


def test_recalling_a_scanned_lot_lists_who_received_it_and_stops_the_next_scan(
    client, nurse_client
):
    # given: An received two tablets of lot PCM2611A
    given = record_paracetamol_for_an(nurse_client)
    pharmacist_login(client)
    # when: the pharmacist scans a pack of that lot into the recall form
    response = client.post(
        reverse("pharmacy:pharmacy_lotrecall_add"),
        {
            "scan": "]d2010893601234500117281130" + "10PCM2611A\x1d21PCM2611AS099",
            "gtin": "",
            "lot": "",
            "reason": "Công văn thu hồi của Cục Quản lý Dược",
        },
    )
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    recall = LotRecall.objects.get(lot="PCM2611A")
    assert recall.package.gtin == PARACETAMOL_GTIN
    assert recall.recorded_by.username == "duocsi.tuan"
    page = client.get(reverse("pharmacy:pharmacy_lotrecall_change", args=[recall.pk]))
    body = page.content.decode()
    assert 'id="lot-recipients"' in body
    assert "Nguyễn Văn An" in body and "BN2026000101" in body
    assert reverse("pharmacy:scanning_administration_change", args=[given.pk]) in body
    listing = client.get(reverse("pharmacy:pharmacy_lotrecall_changelist"))
    assert listing.context["cl"].result_list[0].pk == recall.pk
    # and the bedside now stops the lot
    check = nurse_client.post(
        "/api/v1/scan/check/",
        {"patient": image(AN_BAND), "medications": [image(PARACETAMOL[0])]},
        format="json",
    )
    # (the serial was used by the record above: both facts come from one round trip)
    assert {"LOT_RECALLED", "SERIAL_ALREADY_USED"} <= {
        finding["code"] for finding in check.json()["findings"]
    }
    assert check.json()["verdict"] == "stop"


def test_a_recall_by_typed_gtin_and_lot_with_no_recipients(client, frozen_demo):
    pharmacist_login(client)
    response = client.post(
        reverse("pharmacy:pharmacy_lotrecall_add"),
        {"scan": "", "gtin": "8936012345049", "lot": " MET2610 ", "reason": "Nhiễm tạp chất"},
    )
    assert response.status_code == 302
    recall = LotRecall.objects.get(lot="MET2610")
    page = client.get(reverse("pharmacy:pharmacy_lotrecall_change", args=[recall.pk]))
    assert "No patient has received this lot." in page.content.decode() or (
        "Chưa có người bệnh nào" in page.content.decode()
    )


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"scan": "]d2" + "8018952000100000001028019" + "1"}, "scan"),
        ({"scan": "", "gtin": "", "lot": "X1"}, "gtin"),
        ({"scan": "", "gtin": "00000000000017", "lot": "X1"}, "gtin"),
        ({"scan": "", "gtin": "08936012345001", "lot": ""}, "lot"),
        ({"scan": "", "gtin": "08936012345018", "lot": "AMX2407B"}, None),
        ({"scan": "]d2010893601234500117281130" + "10PCM2611A", "lot": "TYPO"}, "lot"),
    ],
)
def test_bad_recall_input_is_a_form_error(client, frozen_demo, fields, error_field):
    pharmacist_login(client)
    data = {"scan": "", "gtin": "", "lot": "", "reason": "test", **fields}
    response = client.post(reverse("pharmacy:pharmacy_lotrecall_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert error_field in errors if error_field else "__all__" in errors
    assert LotRecall.objects.count() == 1  # the demo's own recall only


def test_a_recall_cannot_be_deleted(client, frozen_demo):
    pharmacist_login(client)
    recall = LotRecall.objects.get(lot="AMX2407B")
    response = client.post(reverse("pharmacy:pharmacy_lotrecall_delete", args=[recall.pk]))
    assert response.status_code == 403 and LotRecall.objects.filter(pk=recall.pk).exists()


def test_records_are_visible_to_the_pharmacist_and_read_only(client, nurse_client):
    given = record_paracetamol_for_an(nurse_client)
    event = ScanEvent.objects.filter(administration=given).get()
    pharmacist_login(client)
    for name, pk in [
        ("scanning_administration", given.pk),
        ("scanning_scanevent", event.pk),
    ]:
        assert client.get(reverse(f"pharmacy:{name}_changelist")).status_code == 200
        page = client.get(reverse(f"pharmacy:{name}_change", args=[pk]))
        assert page.status_code == 200
        assert page.context["has_change_permission"] is False
        assert client.get(reverse(f"pharmacy:{name}_add")).status_code == 403
        assert client.post(reverse(f"pharmacy:{name}_delete", args=[pk])).status_code == 403
        assert client.post(reverse(f"pharmacy:{name}_change", args=[pk]), {}).status_code == 403
    assert Administration.objects.count() == 1


def test_a_nurse_cannot_read_records_through_the_pharmacy_site(client, frozen_demo):
    client.force_login(NurseFactory(is_staff=True))
    response = client.get(reverse("pharmacy:scanning_administration_changelist"))
    assert response.status_code == 302 and "/pharmacy/login/" in response["Location"]


def test_a_recall_of_the_source_lot_stops_the_pharmacys_repackaged_unit_doses(client, nurse_client):
    # given: the pharmacy repackaged paracetamol lot PCM2611A into its own unit doses
    from pharmacy.models import Package
    from tests.scanning.conftest import code

    repackaged = Package.objects.get(hospital_repackaged=True, medication__name__contains="500")
    unit = f"]d201{repackaged.gtin}17281130" + "10PCM2611A\x1d21UD0001"
    body = {"patient": image(AN_BAND), "medications": [code(unit), code(unit[:-1] + "2")]}
    assert nurse_client.post("/api/v1/administrations/", body, format="json").status_code == 201
    # when: the manufacturer's pack of that lot is recalled
    pharmacist_login(client)
    client.post(
        reverse("pharmacy:pharmacy_lotrecall_add"),
        {"scan": "", "gtin": PARACETAMOL_GTIN, "lot": "PCM2611A", "reason": "Thu hồi"},
    )
    recall = LotRecall.objects.get(lot="PCM2611A")
    # then: the repackaged unit is a STOP, and An is listed as having received the lot
    check = nurse_client.post(
        "/api/v1/scan/check/",
        {"patient": image(NGOC_BAND), "medications": [code(unit[:-1] + "3")]},
        format="json",
    )
    assert "LOT_RECALLED" in {finding["code"] for finding in check.json()["findings"]}
    page = client.get(reverse("pharmacy:pharmacy_lotrecall_change", args=[recall.pk]))
    assert "Nguyễn Văn An" in page.content.decode()
