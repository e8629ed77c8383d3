import pytest

from pharmacy.models import DoseState, ScheduledDose
from scanning.models import AdministeredUnit, Administration, ScanEvent
from tests.scanning.conftest import (
    AN_BAND,
    METFORMIN,
    NGOC_BAND,
    PARACETAMOL,
    PARACETAMOL_EXPIRED,
    code,
    image,
)

pytestmark = pytest.mark.django_db


def record(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/administrations/", body, format="json", **headers)


def right_dose():
    return {"patient": image(AN_BAND), "medications": [image(name) for name in PARACETAMOL]}


def test_check_of_the_right_drug_is_go(nurse_client):
    response = nurse_client.post("/api/v1/scan/check/", right_dose(), format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["verdict"] == "go", body["findings"]
    assert (
        body["patient"]["mrn"] == "BN2026000101"
        and body["patient"]["date_of_birth"] == "1956-03-14"
    )
    assert body["dose"] == {"ordered": "1000 mg", "scanned": "1000 mg", "comparison": "equal"}
    assert not Administration.objects.exists()
    assert ScanEvent.objects.filter(purpose="check", verdict="go").count() == 1


def test_recording_the_right_drug_is_201_with_one_row_per_unit(nurse_client):
    # when
    response = record(nurse_client, right_dose(), key="k-1")
    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "completed" and body["amount"] == "1000.0000" and body["unit"] == "mg"
    assert [unit["serial"] for unit in body["units"]] == ["PCM2611AS001", "PCM2611AS002"]
    assert all(unit["scanned"] for unit in body["units"])
    administration = Administration.objects.get()
    assert administration.scheduled_dose.state == DoseState.GIVEN
    assert AdministeredUnit.objects.filter(administration=administration).count() == 2
    assert ScanEvent.objects.get(purpose="record").administration == administration


def test_a_retry_with_the_same_key_replays_the_first_answer(nurse_client):
    first = record(nurse_client, right_dose(), key="same-key")
    again = record(nurse_client, right_dose(), key="same-key")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Administration.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(nurse_client):
    record(nurse_client, right_dose(), key="reused")
    other = record(
        nurse_client, {"patient": image(NGOC_BAND), "medications": [image(METFORMIN)]}, key="reused"
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_a_second_record_of_the_same_dose_is_409(nurse_client):
    assert record(nurse_client, right_dose(), key="a").status_code == 201
    body = {
        "patient": image(AN_BAND),
        "medications": [
            image("unit-dose-08936012345001-PCM2611AS003.png"),
            image("unit-dose-08936012345001-PCM2611AS004.png"),
        ],
    }
    second = record(nurse_client, body, key="b")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "ALREADY_GIVEN"
    assert Administration.objects.count() == 1


def test_another_patients_drug_is_a_422_stop_and_nothing_is_recorded(nurse_client):
    response = record(
        nurse_client, {"patient": image(NGOC_BAND), "medications": [image(PARACETAMOL[0])]}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "CHECK_STOP"
    assert "NOT_ORDERED" in {finding["code"] for finding in error["details"]["findings"]}
    assert not Administration.objects.exists()
    assert ScanEvent.objects.filter(purpose="record", verdict="stop").count() == 1


def test_an_expired_lot_is_a_stop(nurse_client):
    response = record(
        nurse_client,
        {
            "patient": image(AN_BAND),
            "medications": [image(PARACETAMOL_EXPIRED), image(PARACETAMOL[0])],
        },
    )
    assert response.status_code == 422
    assert "PRODUCT_EXPIRED" in {f["code"] for f in response.json()["error"]["details"]["findings"]}


def test_a_warning_needs_an_override_reason(nurse_client):
    one_tablet = {"patient": image(AN_BAND), "medications": [image(PARACETAMOL[0])]}
    refused = record(nurse_client, one_tablet)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "OVERRIDE_REQUIRED"
    assert refused.json()["error"]["details"]["missing"][0]["code"] == "DOSE_INCOMPLETE"
    accepted = record(
        nurse_client,
        {
            **one_tablet,
            "overrides": [{"code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART"}],
        },
    )
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["is_partial"] is True and accepted.json()["amount"] == "500.0000"
    assert accepted.json()["overrides"] == [
        {"finding_code": "DOSE_INCOMPLETE", "reason": "PATIENT_REFUSED_PART", "comment": ""}
    ]


def test_keyed_codes_are_flagged(nurse_client):
    body = {
        "patient": code("]C18018952000100000001013\x1d80191", keyed=True),
        "medications": [image(name) for name in PARACETAMOL],
    }
    response = nurse_client.post("/api/v1/scan/check/", body, format="json")
    assert response.json()["verdict"] == "warn"
    assert [f["code"] for f in response.json()["findings"]] == ["KEYED_ENTRY"]


def test_wedge_text_and_images_give_the_same_verdict(nurse_client):
    text = {
        "patient": code("8018952000100000001013\x1d80191"),
        "medications": [
            code("(01)08936012345001(17)271130(10)PCM2611A(21)PCM2611AS001"),
            code("]d20108936012345001172711301" + "0PCM2611A\x1d21PCM2611AS002"),
        ],
    }
    by_text = nurse_client.post("/api/v1/scan/check/", text, format="json").json()
    by_image = nurse_client.post("/api/v1/scan/check/", right_dose(), format="json").json()
    assert by_text["verdict"] == by_image["verdict"] == "go"
    assert by_text["dose"] == by_image["dose"]


def test_a_pharmacist_may_not_record(pharmacist_client):
    response = record(pharmacist_client, right_dose())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"


def test_anonymous_requests_are_401(client, frozen_demo):
    for path in ["/api/v1/scan/check/", "/api/v1/administrations/", "/api/v1/scan/decode/"]:
        response = client.post(path, {}, content_type="application/json")
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert client.get("/api/v1/patients/BN2026000101/mar/").status_code == 401


def test_wrong_pin_is_refused(frozen_demo, client):
    response = client.post(
        "/api/v1/auth/badge/",
        {"badge": code("8017952000200000000112"), "pin": "999999"},
        content_type="application/json",
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "BADGE_LOGIN_FAILED"


def test_badge_login_opens_a_session(frozen_demo, client):
    response = client.post(
        "/api/v1/auth/badge/",
        {"badge": code("8017952000200000000112"), "pin": "111111", "ward": "NOI"},
        content_type="application/json",
    )
    assert response.status_code == 200 and "token" not in response.json()
    mar = client.get("/api/v1/patients/BN2026000101/mar/?date=2026-11-24")
    assert mar.status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ({"patient": "8018…"}, 400),
        ({"patient": {"code": ""}}, 400),
        ({"patient": {"code": "x", "image": "eA=="}}, 400),
        ({"patient": {"code": "8" * 10_000_000}}, 400),
        ({"patient": {"image": "!!!not base64!!!"}}, 400),
        ({"patient": {"image": "AAECAwQFBgcICQ=="}}, 400),
        ({"patient": {"code": "8018952000100000001013\x1d80191"}, "medications": "x"}, 400),
        ({"patient": {"code": "8018952000100000001013\x1d80191"}, "order": "not-a-uuid"}, 400),
        ({"patient": {"code": "8018952000100000001013\x1d80191"}, "medications": []}, 400),
        ([1, 2, 3], 400),
    ],
)
def test_malformed_input_is_a_json_4xx_and_records_nothing(nurse_client, body, status):
    if isinstance(body, str):
        response = nurse_client.post(
            "/api/v1/administrations/", body, content_type="application/json"
        )
    else:
        response = record(nurse_client, body)
    assert response.status_code == status, response.content[:300]
    assert "code" in response.json()["error"]
    assert not Administration.objects.exists()


def test_an_oversized_image_is_413(nurse_client, settings):
    settings.BARCODE_MAX_IMAGE_BYTES = 1000
    response = nurse_client.post("/api/v1/scan/decode/", image(AN_BAND), format="json")
    assert response.status_code in (400, 413)
    assert response.json()["error"]["code"] in ("IMAGE_TOO_LARGE", "INVALID_INPUT")


def test_decode_returns_every_symbol_with_kind(nurse_client):
    response = nurse_client.post("/api/v1/scan/decode/", image(AN_BAND), format="json")
    assert response.status_code == 200
    symbols = response.json()["symbols"]
    assert {s["format"] for s in symbols} == {"Code128", "DataMatrix"}
    assert {s["kind"] for s in symbols} == {"wristband"}
    assert symbols[0]["payload"] == {"gsrn": "952000100000001013", "instance": 1}


def test_decode_accepts_multipart(nurse_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.scanning.conftest import BARCODES

    upload = SimpleUploadedFile(
        "band.png", (BARCODES / AN_BAND).read_bytes(), content_type="image/png"
    )
    response = nurse_client.post("/api/v1/scan/decode/", {"image": upload}, format="multipart")
    assert response.status_code == 200 and response.json()["symbols"]


def test_not_given_is_documented_with_a_reason(nurse_client):
    dose = (
        ScheduledDose.objects.filter(
            order__admission__patient__mrn="BN2026000101",
            order__medication__code="paracetamol-500-tab",
        )
        .order_by("due_at")
        .first()
    )
    response = nurse_client.post(
        "/api/v1/administrations/not-given/",
        {
            "patient": image(AN_BAND),
            "order": str(dose.order.external_id),
            "scheduled_dose": str(dose.external_id),
            "reason": "refused",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "not_done" and response.json()["reason"] == "refused"
    dose.refresh_from_db()
    assert dose.state == DoseState.NOT_GIVEN


def test_a_correction_is_a_new_record_and_frees_the_dose(nurse_client):
    given = record(nurse_client, right_dose(), key="x").json()
    response = nurse_client.post(
        f"/api/v1/administrations/{given['id']}/correct/",
        {"reason": "wrong_patient"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["entered_in_error"]["corrects"] == given["id"]
    original = Administration.objects.get(external_id=given["id"])
    assert original.status == "completed"  # never updated in place
    assert Administration.objects.count() == 2
    # the dose can be given again, but the serials stay used
    again = record(nurse_client, right_dose(), key="y")
    assert again.status_code == 422
    assert "SERIAL_ALREADY_USED" in {
        f["code"] for f in again.json()["error"]["details"]["findings"]
    }
    fresh = {
        "patient": image(AN_BAND),
        "medications": [
            image("unit-dose-08936012345001-PCM2611AS005.png"),
            image("unit-dose-08936012345001-PCM2611AS006.png"),
        ],
    }
    replacement = record(nurse_client, fresh, key="z")
    assert replacement.status_code == 201, replacement.json()
    assert replacement.json()["replaces"] == given["id"]


def test_feed_lists_records_in_the_order_written(nurse_client):
    record(nurse_client, right_dose(), key="f")
    response = nurse_client.get("/api/v1/administrations/?ward=NOI&since=2026-11-24T00:00:00")
    assert response.status_code == 200
    assert [r["patient"] for r in response.json()["results"]] == ["BN2026000101"]


def test_openapi_schema_and_docs_are_served_to_staff(nurse_client):
    schema = nurse_client.get("/api/v1/schema/")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/v1/scan/check/",
        "/api/v1/administrations/",
        "/api/v1/patients/{mrn}/mar/",
        "/api/v1/wards/{code}/due/",
        "/api/v1/auth/badge/",
        "/api/v1/scan/decode/",
    ]:
        assert path in paths
    docs = nurse_client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_a_made_up_cursor_without_a_time_zone_is_refused_not_a_500(nurse_client):
    # base64 of "p=9999-12-31": a position no page of this feed ever wrote
    response = nurse_client.get("/api/v1/administrations/?cursor=cD05OTk5LTEyLTMx")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_CURSOR"


# --- why a band no longer identifies, through the API (issue 13, item 12) --------------------

XUAN_BAND = "wristband-BN2026000117.png"  # discharged yesterday: the discharge voided her band
LOC_BAND = "wristband-BN2026000118.png"  # died two hours before the load, still admitted


def check_patient(client, band: str) -> dict:
    response = client.post("/api/v1/scan/check/", {"patient": image(band)}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_discharged_patients_band_says_discharged(nurse_client):
    body = check_patient(nurse_client, XUAN_BAND)

    assert body["verdict"] == "stop"
    assert [f["code"] for f in body["findings"]] == ["PATIENT_NOT_ADMITTED"]
    assert "đã ra viện" in body["findings"][0]["message"]
    assert body["patient"] is None  # a closed stay is not opened to the cart


def test_the_discharge_message_is_english_too(nurse_client, settings):
    nurse_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = nurse_client.post(
        "/api/v1/scan/check/", {"patient": image(XUAN_BAND)}, format="json"
    )

    assert "was discharged at" in response.json()["findings"][0]["message"]


def test_a_deceased_patients_band_says_deceased_before_and_after_discharge(nurse_client):
    from wards.models import Admission
    from wards.services import admission_discharge

    assert [f["code"] for f in check_patient(nurse_client, LOC_BAND)["findings"]] == [
        "PATIENT_DECEASED"
    ]
    admission_discharge(admission=Admission.objects.get(patient__mrn="BN2026000118"))

    body = check_patient(nurse_client, LOC_BAND)
    assert [f["code"] for f in body["findings"]] == ["PATIENT_DECEASED"]
    assert body["verdict"] == "stop"


def test_a_reprinted_band_still_says_scan_the_current_band(nurse_client):
    from wards.models import Admission
    from wards.services import admission_discharge, wristband_issue

    admission = Admission.objects.get(patient__mrn="BN2026000101")
    wristband_issue(admission=admission, printed_by=admission.wristbands.first().printed_by)
    admission_discharge(admission=admission)

    body = check_patient(nurse_client, AN_BAND)

    assert [f["code"] for f in body["findings"]] == ["WRISTBAND_VOID"]
    assert "vòng tay hiện tại" in body["findings"][0]["message"]


def vincristine_scan() -> dict:
    import gs1

    gtin = gs1.normalize_gtin(gs1.make_gtin("893601234517"))
    return code(f"]d201{gtin}17270630" + "10VCR2706\x1d21VCR2706S001")


@pytest.mark.parametrize("route", ["IT", "IV"])
def test_vincristine_for_the_intrathecal_route_never_goes(nurse_client, route):
    from hospital.models import User
    from pharmacy.models import Medication, MedicationOrder
    from tests.factories import ScheduledDoseFactory
    from wards.models import Admission

    # given: an order for vincristine, e.g. sent by the HIS with the intrathecal route
    admission = Admission.objects.get(patient__mrn="BN2026000105")
    pharmacist = User.objects.get(username="duocsi.tuan")
    order = MedicationOrder.objects.create(
        admission=admission,
        hospital_id=admission.hospital_id,
        medication=Medication.objects.get(code="vincristine-1-inj"),
        dose_value=1,
        dose_unit="mg",
        route=route,
        schedule_kind="times",
        times_of_day=["08:00"],
        start_at=admission.admitted_at,
        status="active",
        prescriber_name="BS. Demo",
        verified_by=pharmacist,
        verified_at=admission.admitted_at,
    )
    ScheduledDoseFactory(order=order, due_at=order.start_at.replace(hour=1, minute=0))
    body = {
        "patient": image("wristband-BN2026000105.png"),
        "medications": [vincristine_scan()],
        "witness": code("]C18017952000200000000129"),
        "witness_pin": "222222",
    }

    # when
    check = nurse_client.post("/api/v1/scan/check/", body, format="json").json()
    recorded = record(nurse_client, body, key=f"vcr-{route}")
    stated_it = record(nurse_client, {**body, "route": "IT"}, key=f"vcr-{route}-it")

    # then: the intrathecal order is a STOP and nothing records it by that route
    codes = {f["code"] for f in check["findings"]}
    assert ("ROUTE_MISMATCH" in codes) is (route == "IT")
    if route == "IT":
        assert check["verdict"] == "stop"
        assert recorded.status_code == 422
    assert stated_it.status_code == 422
    assert not Administration.objects.filter(route="IT").exists()


# --- a typed medication code is checked as a scan would be (issue 13, item 7) ---------------

AN_BAND_TEXT = "]C18018952000100000001013\x1d80191"


@pytest.mark.parametrize(
    "typed",
    ["08936012345001", "(01)08936012345001", "(01)08936012345001(10)PCM2611A"],
    ids=["bare-gtin", "gtin-ai", "gtin-and-lot-without-expiry"],
)
def test_a_typed_gtin_without_lot_and_expiry_is_a_stop_and_cannot_be_recorded(nurse_client, typed):
    # given
    body = {"patient": code(AN_BAND_TEXT), "medications": [code(typed, keyed=True)]}
    # when
    checked = nurse_client.post("/api/v1/scan/check/", body, format="json").json()
    recorded = record(
        nurse_client,
        {**body, "overrides": [{"code": "KEYED_ENTRY", "reason": "DAMAGED_BARCODE"}]},
        key="typed-gtin-" + typed,
    )
    # then
    assert checked["verdict"] == "stop"
    assert "KEYED_LOT_EXPIRY_MISSING" in [f["code"] for f in checked["findings"]]
    assert recorded.status_code == 422
    assert not Administration.objects.exists()


def test_a_typed_recalled_lot_is_stopped_as_a_scan_would_be(nurse_client):
    typed = code("(01)08936012345018(17)270731(10)AMX2407B", keyed=True)
    body = {"patient": code(AN_BAND_TEXT), "medications": [typed]}
    checked = nurse_client.post("/api/v1/scan/check/", body, format="json").json()
    codes = [f["code"] for f in checked["findings"]]
    assert "LOT_RECALLED" in codes and "KEYED_LOT_EXPIRY_MISSING" not in codes


def test_a_typed_expired_pack_is_stopped_as_a_scan_would_be(nurse_client):
    typed = code("(01)08936012345001(17)251031(10)PCM2409X", keyed=True)
    body = {"patient": code(AN_BAND_TEXT), "medications": [typed, typed]}
    checked = nurse_client.post("/api/v1/scan/check/", body, format="json").json()
    assert "PRODUCT_EXPIRED" in [f["code"] for f in checked["findings"]]


def test_a_typed_gtin_with_lot_and_expiry_only_warns(nurse_client):
    typed = "(01)08936012345001(17)271130(10)PCM2611A"
    body = {"patient": code(AN_BAND_TEXT), "medications": [code(typed, keyed=True)] * 2}
    checked = nurse_client.post("/api/v1/scan/check/", body, format="json").json()
    assert checked["verdict"] == "warn"
    assert [f["code"] for f in checked["findings"]] == ["KEYED_ENTRY"]
