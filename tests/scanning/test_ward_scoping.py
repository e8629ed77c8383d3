"""Ward scoping and break-the-glass (scanning/access.py): a nurse reads the patients of her wards;
scanning the wristband of anyone else's patient is allowed, logged, and opens that record for
BREAK_GLASS_ACCESS_HOURS; pharmacists and administrators read every ward without a log."""

from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from hospital.models import Role, SecurityEvent, User
from scanning.models import AccessLog, AccessReason, Administration
from tests.constraints import assert_refused_twice
from tests.factories import NurseFactory
from tests.scanning.conftest import (
    AN_BAND,
    DEMO_NOW,
    HOA_BADGE,
    PARACETAMOL,
    TUAN_BADGE,
    badge_client,
    code,
    image,
)
from wards.models import Patient, Ward
from wards.services import admission_discharge, wristband_issue

pytestmark = pytest.mark.django_db

MAI_BADGE = "8017952000200000000136"  # nurse, NGOAI, PIN 333333
LAN_BADGE = "8017952000200000000143"  # charge nurse, NOI and NGOAI, PIN 444444

AN = "BN2026000101"  # NOI 01
KHOI = "BN2026000109"  # NGOAI 01: ceftriaxone 2 g due now
OANH = "BN2026000112"  # NGOAI 04: losartan 50 mg due now
KHOI_BAND = code("8018952000100000001099\x1d80191")
OANH_BAND = code("8018952000100000001129\x1d80191")
LOSARTAN = code("01089360123450941728103110LOS2610\x1d21LOS2610S001")


def mar(client, mrn):
    return client.get(f"/api/v1/patients/{mrn}/mar/")


def error_code(response):
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":  # the FHIR API's errors
        return body["issue"][0]["details"]["coding"][0]["code"]
    return body["error"]["code"]


def session_client(user, ward: str = "") -> APIClient:
    """A logged-in session as the cart's login makes it (the test client checks no CSRF)."""
    client = APIClient()
    client.force_login(user)
    session = client.session
    session["ward"] = ward
    session.save()
    return client


@pytest.fixture
def mai(frozen_demo):
    return badge_client(MAI_BADGE, "333333", ward="NGOAI")


# ------------------------------------------------------------------------------ reading the MAR


def test_a_nurse_reads_the_mar_of_her_wards_patients_without_a_log(nurse_client):
    response = mar(nurse_client, AN)

    assert response.status_code == 200, response.json()
    assert not AccessLog.objects.exists()


def test_a_nurse_cannot_read_another_wards_patient_without_scanning_the_band(nurse_client):
    # when: Hoa (NOI) asks for Khôi (NGOAI) without scanning him
    response = mar(nurse_client, KHOI)

    # then
    assert response.status_code == 403
    assert error_code(response) == "PATIENT_NOT_IN_YOUR_WARDS"
    assert not AccessLog.objects.exists()


def test_scanning_the_wristband_breaks_the_glass_and_opens_the_record(nurse_client):
    # given: Hoa at a NOI cart scans the band of Khôi, who lies on NGOAI
    check = nurse_client.post("/api/v1/scan/check/", {"patient": KHOI_BAND}, format="json")

    # then: the check goes ahead (WRONG_WARD warns), and the access is logged
    assert check.status_code == 200, check.json()
    assert check.json()["patient"]["mrn"] == KHOI
    assert "WRONG_WARD" in {f["code"] for f in check.json()["findings"]}
    log = AccessLog.objects.get()
    assert (log.user.username, log.patient.mrn, log.ward.code, log.reason, log.cart) == (
        "dieuduong.hoa",
        KHOI,
        "NGOAI",
        AccessReason.WRISTBAND_CHECK,
        "NOI-1",
    )
    # and the patient's record is open to her now
    assert mar(nurse_client, KHOI).status_code == 200
    # but not to another nurse of her ward, and no other patient of that ward
    binh = badge_client("8017952000200000000129", "222222")
    assert mar(binh, KHOI).status_code == 403
    assert mar(nurse_client, OANH).status_code == 403


def test_the_break_glass_access_ends_after_the_configured_hours(nurse_client, settings):
    settings.BREAK_GLASS_ACCESS_HOURS = 12
    nurse_client.post("/api/v1/scan/check/", {"patient": KHOI_BAND}, format="json")

    # (each read logs in again: the cart's session itself ends after two idle minutes)
    with time_machine.travel(DEMO_NOW + timedelta(hours=11, minutes=59), tick=False):
        assert mar(badge_client(HOA_BADGE, "111111"), KHOI).status_code == 200
    with time_machine.travel(DEMO_NOW + timedelta(hours=12, minutes=1), tick=False):
        response = mar(badge_client(HOA_BADGE, "111111"), KHOI)
    assert response.status_code == 403 and error_code(response) == "PATIENT_NOT_IN_YOUR_WARDS"


def test_scanning_a_band_of_her_own_ward_logs_nothing(nurse_client):
    response = nurse_client.post("/api/v1/scan/check/", {"patient": image(AN_BAND)}, format="json")

    assert response.status_code == 200
    assert not AccessLog.objects.exists()


def test_a_void_band_of_another_ward_opens_nothing(nurse_client):
    # given: Khôi's band 1 was reprinted, so band 1 is void
    patient = Patient.objects.get(mrn=KHOI)
    wristband_issue(
        admission=patient.admissions.get(), printed_by=User.objects.get(username="quantri")
    )

    # when
    check = nurse_client.post("/api/v1/scan/check/", {"patient": KHOI_BAND}, format="json")

    # then: WRISTBAND_VOID shows nobody, logs nothing and opens nothing
    assert check.json()["patient"] is None
    assert "WRISTBAND_VOID" in {f["code"] for f in check.json()["findings"]}
    assert not AccessLog.objects.exists()
    assert mar(nurse_client, KHOI).status_code == 403


def test_an_unknown_mrn_is_refused_to_a_nurse_like_another_wards_patient(nurse_client):
    # Trying MRNs must not tell a ward-scoped nurse who is in the hospital.
    unknown, elsewhere = mar(nurse_client, "BN0000000000"), mar(nurse_client, KHOI)

    assert (unknown.status_code, error_code(unknown)) == (403, "PATIENT_NOT_IN_YOUR_WARDS")
    assert unknown.json()["error"]["message"] == elsewhere.json()["error"]["message"]


def test_an_unknown_mrn_is_404_to_a_pharmacist(frozen_demo):
    client = session_client(User.objects.get(username="duocsi.tuan"))

    assert mar(client, "BN0000000000").status_code == 404


# ------------------------------------------------------------------------------ who reads every ward


@pytest.mark.parametrize("username", ["duocsi.tuan", "quantri"])
def test_pharmacists_and_administrators_read_every_ward_without_a_log(frozen_demo, username):
    client = session_client(User.objects.get(username=username))

    for mrn in (AN, KHOI):
        assert mar(client, mrn).status_code == 200
    for ward in ("NOI", "NGOAI"):
        assert client.get(f"/api/v1/wards/{ward}/due/").status_code == 200
    assert not AccessLog.objects.exists()


def test_a_charge_nurse_is_scoped_to_her_wards_like_a_nurse(frozen_demo):
    # given: a charge nurse of NOI only (the demo's Lan covers both wards)
    charge = NurseFactory(role=Role.CHARGE_NURSE)
    Ward.objects.get(code="NOI").staff.add(charge)
    client = session_client(charge)

    # then
    assert mar(client, AN).status_code == 200
    assert client.get("/api/v1/wards/NOI/due/").status_code == 200
    assert error_code(mar(client, KHOI)) == "PATIENT_NOT_IN_YOUR_WARDS"
    assert error_code(client.get("/api/v1/wards/NGOAI/due/")) == "WARD_NOT_ASSIGNED"


def test_the_demo_charge_nurse_reads_both_of_her_wards(frozen_demo):
    lan = badge_client(LAN_BADGE, "444444")

    assert mar(lan, KHOI).status_code == 200 and mar(lan, AN).status_code == 200
    assert not AccessLog.objects.exists()


def test_a_nurse_with_no_ward_reads_nobody(frozen_demo):
    client = session_client(NurseFactory())

    assert mar(client, AN).status_code == 403
    assert client.get("/api/v1/wards/NOI/due/").status_code == 403


# ------------------------------------------------------------------------------ ward due list


def test_the_due_list_is_for_her_wards_only(nurse_client):
    assert nurse_client.get("/api/v1/wards/NOI/due/").status_code == 200

    response = nurse_client.get("/api/v1/wards/NGOAI/due/")

    assert response.status_code == 403 and error_code(response) == "WARD_NOT_ASSIGNED"


# ------------------------------------------------------------------------------ the cart's ward


def test_a_nurse_must_name_the_carts_ward(frozen_demo, client):
    # A cart without a ward would never warn WRONG_WARD: the login names one of her wards.
    page = client.post("/cart/login/", {"badge": HOA_BADGE, "pin": "111111", "ward": ""})
    api = client.post(
        "/api/v1/auth/badge/",
        {"badge": code(HOA_BADGE), "pin": "111111"},
        content_type="application/json",
    )

    assert page.status_code == 400
    assert client.get("/cart/").status_code == 302
    assert api.status_code == 400 and error_code(api) == "WARD_REQUIRED"


# ------------------------------------------------------------------------------ writes


def test_recording_on_another_ward_still_needs_the_wrong_ward_override(nurse_client):
    # given: Hoa at a NOI cart, Oanh's losartan on NGOAI
    body = {"patient": OANH_BAND, "medications": [LOSARTAN]}

    # when: without an override
    refused = nurse_client.post("/api/v1/administrations/", body, format="json")

    # then: refused, and the scan is logged as break-the-glass
    assert refused.status_code == 422, refused.json()
    assert refused.json()["error"]["code"] == "OVERRIDE_REQUIRED"
    assert [m["code"] for m in refused.json()["error"]["details"]["missing"]] == ["WRONG_WARD"]
    assert AccessLog.objects.get().reason == AccessReason.ADMINISTRATION

    # when: with the reason
    body["overrides"] = [{"code": "WRONG_WARD", "reason": "COVERING_OTHER_WARD"}]
    recorded = nurse_client.post("/api/v1/administrations/", body, format="json")

    # then
    assert recorded.status_code == 201, recorded.json()
    assert Administration.objects.get().overrides.get().reason == "COVERING_OTHER_WARD"
    assert AccessLog.objects.count() == 2


def test_documenting_not_given_on_another_ward_is_logged(nurse_client):
    order = (
        Patient.objects.get(mrn=OANH)
        .admissions.get()
        .orders.get(medication__code="losartan-50-tab")
    )
    body = {"patient": OANH_BAND, "order": str(order.external_id), "reason": "refused"}

    response = nurse_client.post("/api/v1/administrations/not-given/", body, format="json")

    assert response.status_code == 201, response.json()
    assert AccessLog.objects.get().reason == AccessReason.NOT_GIVEN


def test_recording_on_her_own_ward_logs_nothing(nurse_client):
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}

    assert nurse_client.post("/api/v1/administrations/", body, format="json").status_code == 201
    assert not AccessLog.objects.exists()


def test_only_her_own_records_or_her_wards_records_can_be_corrected(frozen_demo, mai):
    # given: Mai records Oanh's losartan on NGOAI
    recorded = mai.post(
        "/api/v1/administrations/",
        {"patient": OANH_BAND, "medications": [LOSARTAN]},
        format="json",
    )
    assert recorded.status_code == 201, recorded.json()
    url = f"/api/v1/administrations/{recorded.json()['id']}/correct/"
    # a charge nurse of NOI only
    charge = NurseFactory(role=Role.CHARGE_NURSE)
    Ward.objects.get(code="NOI").staff.add(charge)

    # when
    refused = session_client(charge).post(url, {"reason": "duplicate"}, format="json")
    corrected = mai.post(url, {"reason": "duplicate"}, format="json")

    # then
    assert refused.status_code == 403 and error_code(refused) == "PATIENT_NOT_IN_YOUR_WARDS"
    assert corrected.status_code == 201, corrected.json()


# ------------------------------------------------------------------------------ feed, FHIR, HL7


@pytest.fixture
def ngoai_record(frozen_demo, mai):
    response = mai.post(
        "/api/v1/administrations/",
        {"patient": OANH_BAND, "medications": [LOSARTAN]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_the_feed_shows_a_nurse_the_records_of_her_wards(ngoai_record):
    hoa = badge_client(HOA_BADGE, "111111")
    body = {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]}
    assert hoa.post("/api/v1/administrations/", body, format="json").status_code == 201
    pharmacist = badge_client(TUAN_BADGE, "555555", ward="")

    # then
    assert [r["patient"] for r in hoa.get("/api/v1/administrations/").json()["results"]] == [AN]
    assert error_code(hoa.get("/api/v1/administrations/?ward=NGOAI")) == "WARD_NOT_ASSIGNED"
    assert {r["patient"] for r in pharmacist.get("/api/v1/administrations/").json()["results"]} == {
        AN,
        OANH,
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/fhir/MedicationAdministration/{id}",
        "/api/v1/administrations/{id}/hl7/",
        "/api/v1/fhir/MedicationAdministration?patient.identifier=" + OANH,
    ],
)
def test_fhir_and_hl7_reads_follow_the_ward_scope(ngoai_record, mai, path):
    url = path.format(id=ngoai_record)
    hoa = badge_client(HOA_BADGE, "111111")

    # a nurse of another ward: refused
    refused = hoa.get(url)
    assert refused.status_code == 403 and error_code(refused) == "PATIENT_NOT_IN_YOUR_WARDS"
    # the patient's own ward, and a pharmacist: allowed
    assert mai.get(url).status_code == 200
    assert badge_client(TUAN_BADGE, "555555", ward="").get(url).status_code == 200
    # after Hoa scans Oanh's band at the bedside: allowed
    hoa.post("/api/v1/scan/check/", {"patient": OANH_BAND}, format="json")
    assert hoa.get(url).status_code == 200


def test_a_record_made_on_her_ward_stays_readable_after_discharge(ngoai_record, mai):
    admission_discharge(admission=Patient.objects.get(mrn=OANH).admissions.get())

    assert mai.get(f"/api/v1/administrations/{ngoai_record}/hl7/").status_code == 200


# ------------------------------------------------------------------------------ the log itself


def test_the_log_refuses_an_unknown_reason(frozen_demo):
    log = AccessLog(
        user=User.objects.get(username="dieuduong.hoa"),
        patient=Patient.objects.get(mrn=KHOI),
        ward=Ward.objects.get(code="NGOAI"),
        reason="curiosity",
    )

    assert_refused_twice(log)


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_the_log(nurse_client):
    nurse_client.post("/api/v1/scan/check/", {"patient": KHOI_BAND}, format="json")
    row = AccessLog.objects.get()
    for statement in (
        "UPDATE hospital_accesslog SET created_at = %s WHERE id = %s",
        "DELETE FROM hospital_accesslog WHERE id = %s",
    ):
        params = [timezone.now(), row.pk] if statement.startswith("UPDATE") else [row.pk]
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, params)
    assert AccessLog.objects.filter(pk=row.pk, created_at=row.created_at).exists()


def test_the_pharmacy_site_shows_the_log_read_only(nurse_client, client):
    nurse_client.post("/api/v1/scan/check/", {"patient": KHOI_BAND}, format="json")
    row = AccessLog.objects.get()
    client.force_login(User.objects.get(username="duocsi.tuan"))

    listing = client.get("/pharmacy/scanning/accesslog/")
    page = client.get(f"/pharmacy/scanning/accesslog/{row.pk}/change/")

    assert listing.status_code == 200 and KHOI in listing.content.decode()
    assert page.status_code == 200
    assert client.get("/pharmacy/scanning/accesslog/add/").status_code == 403
    assert client.post(f"/pharmacy/scanning/accesslog/{row.pk}/change/", {}).status_code == 403
    assert client.post(f"/pharmacy/scanning/accesslog/{row.pk}/delete/", {}).status_code == 403
    assert AccessLog.objects.filter(pk=row.pk).exists()


# ------------------------------------------------------------------------------ break-the-glass policy

KHOI_BAND_TYPED = code("8018952000100000001099\x1d80191", keyed=True)


def _leaks(response, *words) -> list[str]:
    text = response.content.decode()
    return [word for word in words if word in text]


def test_a_typed_band_of_another_wards_patient_is_refused_and_shows_nobody(nurse_client):
    # given: Hoa (NOI) types Khôi's band number (NGOAI) instead of scanning it
    khoi = Patient.objects.get(mrn=KHOI)

    # when
    response = nurse_client.post("/api/v1/scan/check/", {"patient": KHOI_BAND_TYPED}, format="json")

    # then: refused with a clear code; no name, date of birth, MRN, ward or allergy
    assert response.status_code == 403, response.json()
    assert error_code(response) == "BREAK_GLASS_NEEDS_SCAN"
    assert not _leaks(
        response, khoi.full_name, khoi.mrn, khoi.date_of_birth.isoformat(), "NGOAI", "allerg"
    )
    # no access opened; the attempt is on the record for the administrator
    assert not AccessLog.objects.exists()
    assert mar(nurse_client, KHOI).status_code == 403
    event = SecurityEvent.objects.get()
    assert (event.kind, event.subject.username) == ("break_glass_refused", "dieuduong.hoa")


def test_a_typed_band_cannot_record_or_document_on_another_ward(nurse_client):
    order = (
        Patient.objects.get(mrn=OANH)
        .admissions.get()
        .orders.get(medication__code="losartan-50-tab")
    )
    typed_band = code("8018952000100000001129\x1d80191", keyed=True)

    recorded = nurse_client.post(
        "/api/v1/administrations/",
        {
            "patient": typed_band,
            "medications": [LOSARTAN],
            "overrides": [
                {"code": "WRONG_WARD", "reason": "COVERING_OTHER_WARD"},
                {"code": "KEYED_ENTRY", "reason": "DAMAGED_BARCODE"},
            ],
        },
        format="json",
    )
    documented = nurse_client.post(
        "/api/v1/administrations/not-given/",
        {"patient": typed_band, "order": str(order.external_id), "reason": "refused"},
        format="json",
    )

    assert (recorded.status_code, documented.status_code) == (403, 403)
    assert error_code(recorded) == error_code(documented) == "BREAK_GLASS_NEEDS_SCAN"
    assert "Oanh" not in recorded.content.decode() + documented.content.decode()
    assert not Administration.objects.exists() and not AccessLog.objects.exists()


def test_a_typed_band_of_her_own_wards_patient_still_works_with_keyed_entry(nurse_client):
    typed = code("8018952000100000001013\x1d80191", keyed=True)  # An, NOI 01

    response = nurse_client.post("/api/v1/scan/check/", {"patient": typed}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["patient"]["mrn"] == AN
    assert "KEYED_ENTRY" in {f["code"] for f in response.json()["findings"]}


def test_not_given_outside_a_cart_session_cannot_break_the_glass(frozen_demo):
    hoa = User.objects.get(username="dieuduong.hoa")
    order = (
        Patient.objects.get(mrn=OANH)
        .admissions.get()
        .orders.get(medication__code="losartan-50-tab")
    )

    response = session_client(hoa, ward="").post(
        "/api/v1/administrations/not-given/",
        {"patient": OANH_BAND, "order": str(order.external_id), "reason": "refused"},
        format="json",
    )

    assert response.status_code == 403 and error_code(response) == "BREAK_GLASS_NEEDS_SCAN"
    assert not Administration.objects.exists() and not AccessLog.objects.exists()


def _ngoai_bands(count: int) -> list[dict]:
    patients = Patient.objects.filter(admissions__ward__code="NGOAI").order_by("mrn")[:count]
    bands = []
    for patient in patients:
        band = patient.wristbands.get(voided_at__isnull=True)
        bands.append(code(f"8018{patient.gsrn}\x1d8019{band.instance}"))
    assert len(bands) == count, "the demo needs enough NGOAI patients"
    return bands


def test_break_the_glass_is_limited_per_nurse_and_repeated_use_alerts(
    nurse_client, settings, mailoutbox
):
    settings.ADMINS = ["admin@example.org"]
    settings.BREAK_GLASS_ALERT_AFTER = 2
    settings.BREAK_GLASS_MAX_PER_HOUR = 3
    first, second, third, fourth = _ngoai_bands(4)

    def check(band):
        return nurse_client.post("/api/v1/scan/check/", {"patient": band}, format="json")

    # when: three patients of another ward in a row are opened, the second alerts
    assert [check(band).status_code for band in (first, second, third)] == [200, 200, 200]
    assert [e.kind for e in SecurityEvent.objects.all()] == ["break_glass_repeated"]
    assert len(mailoutbox) == 1 and "dieuduong.hoa" in mailoutbox[0].body

    # a fourth is refused (and alerted once), showing nobody
    refused = check(fourth)
    assert refused.status_code == 429, refused.json()
    assert error_code(refused) == "BREAK_GLASS_LIMIT"
    assert refused.json()["error"]["details"] == {"limit": 3}
    assert check(fourth).status_code == 429
    assert AccessLog.objects.values("patient").distinct().count() == 3
    assert SecurityEvent.objects.filter(kind="break_glass_limited").count() == 2
    assert len(mailoutbox) == 2

    # scanning one already opened again is not a new patient
    assert check(first).status_code == 200

    # an hour later the nurse may open another
    with time_machine.travel(DEMO_NOW + timedelta(hours=1, minutes=1), tick=False):
        again = badge_client(HOA_BADGE, "111111")
        assert (
            again.post("/api/v1/scan/check/", {"patient": fourth}, format="json").status_code == 200
        )


@pytest.mark.parametrize(
    "query",
    ["patient.identifier={mrn}", "patient.identifier=urn:oid:1.2.3|{mrn}"],
)
def test_a_fhir_search_does_not_tell_whether_an_mrn_exists(nurse_client, query):
    def search(mrn):
        return nurse_client.get("/api/v1/fhir/MedicationAdministration?" + query.format(mrn=mrn))

    # when: Hoa (NOI) searches Khôi (NGOAI) and an MRN nobody has
    other_ward, unknown = search(KHOI), search("BN2099999999")

    # then: one answer for both
    assert (other_ward.status_code, unknown.status_code) == (403, 403)
    assert other_ward.json() == unknown.json()
    # a pharmacist, who reads every ward, is told there is nothing
    pharmacist = badge_client(TUAN_BADGE, "555555", ward="")
    assert (
        pharmacist.get(
            "/api/v1/fhir/MedicationAdministration?patient.identifier=BN2099999999"
        ).json()["total"]
        == 0
    )
