import pytest
from django.core.management import call_command

import gs1
from hospital.models import User
from pharmacy.demo import demo_hospital_load, demo_lots, read_demo
from pharmacy.models import (
    LotRecall,
    Medication,
    MedicationOrder,
    OrderStatus,
    Package,
    ScheduledDose,
)
from tests.scanning.conftest import frozen_demo
from wards.models import Admission, Patient, Ward, Wristband

pytestmark = pytest.mark.django_db
__all__ = ["frozen_demo"]  # a fixture

COUNTED = [User, Patient, Admission, Wristband, Package, LotRecall, MedicationOrder, ScheduledDose]


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_loading_the_demo_twice_duplicates_nothing():
    # given
    demo_hospital_load()
    first = counts()
    # when
    summary = demo_hospital_load()
    # then
    assert counts() == first
    assert not any(summary.created.values())


def test_demo_has_the_promised_shape():
    demo_hospital_load()
    open_admissions = Admission.objects.filter(
        discharged_at__isnull=True, patient__deceased_at__isnull=True
    )
    assert open_admissions.count() == 21
    # a province of two hospitals, each with its own wards and staff
    assert {w.hospital.code for w in Ward.objects.all()} == {"BVDKT", "BVBC"}
    assert open_admissions.filter(ward__hospital__code="BVBC").count() == 2
    vincristine = Medication.objects.get(code="vincristine-1-inj")
    assert list(vincristine.not_stocked_at.values_list("code", flat=True)) == ["BVBC"]
    assert set(
        User.objects.get(username="dieuduong.ha").hospitals.values_list("code", flat=True)
    ) == {"BVBC"}
    assert Package.objects.count() >= 25
    assert LotRecall.objects.count() == 1
    statuses = set(MedicationOrder.objects.values_list("status", flat=True))
    assert {
        OrderStatus.ACTIVE,
        OrderStatus.ON_HOLD,
        OrderStatus.DISCONTINUED,
        OrderStatus.PENDING_VERIFICATION,
    } <= statuses
    assert MedicationOrder.objects.filter(schedule_kind="prn").count() >= 3
    assert MedicationOrder.objects.filter(medication__high_alert=True).exists()
    assert MedicationOrder.objects.filter(medication__time_critical=True).exists()
    assert all(gs1.is_valid_gsrn(gsrn) for gsrn in Patient.objects.values_list("gsrn", flat=True))
    assert any(
        any(ch in name for ch in "ăâđêôơư")
        for name in Patient.objects.values_list("full_name", flat=True)
    )


def test_every_active_admission_has_exactly_one_active_band():
    demo_hospital_load()
    for admission in Admission.objects.filter(discharged_at__isnull=True):
        assert admission.wristbands.filter(voided_at__isnull=True).count() == 1
    discharged = Admission.objects.get(discharged_at__isnull=False)
    assert not discharged.wristbands.filter(voided_at__isnull=True).exists()


def test_a_due_now_order_has_a_dose_within_its_window():
    from django.utils import timezone

    demo_hospital_load()
    now = timezone.now()
    due_soon = ScheduledDose.objects.filter(
        order__status=OrderStatus.ACTIVE,
        due_at__gte=now - timezone.timedelta(minutes=31),
        due_at__lte=now + timezone.timedelta(minutes=31),
    )
    assert due_soon.exists()


def test_demo_lots_include_expired_recalled_and_day_00_expiry():
    lots = demo_lots(read_demo())
    assert any(lot.recalled_reason for lot in lots)
    assert any(lot.expiry_raw.endswith("00") for lot in lots)
    assert all(gs1.is_valid_gtin(lot.gtin) for lot in lots)
    serials = [(lot.gtin, serial) for lot in lots for serial in lot.serials]
    assert len(serials) == len(set(serials))


def test_demo_load_command_prints_logins(capsys):
    call_command("demo_load")
    out = capsys.readouterr().out
    assert "duocsi.tuan" in out and "PIN 111111" in out and "(8018)" in out


@pytest.mark.usefixtures("frozen_demo")
def test_the_demo_ward_dashboard_counts_no_dose_of_the_deceased_or_of_unverified_orders():
    from backoffice.reports.selectors import ward_dashboard_get
    from pharmacy.models import MedicationOrder, OrderStatus
    from tests.scanning.conftest import DEMO_NOW
    from wards.models import Ward

    dashboard = ward_dashboard_get(ward=Ward.objects.get(code="NOI"), now=DEMO_NOW)

    rows = [row for rows in dashboard.lists().values() for row in rows]
    assert "Kiều Văn Lộc" not in {row.patient for row in rows}  # died before the load
    pending = set(
        MedicationOrder.objects.exclude(status=OrderStatus.ACTIVE).values_list("pk", flat=True)
    )
    listed = {
        item["dose"].order_id for item in dashboard.due_now + dashboard.overdue + dashboard.missed
    }
    assert listed and not listed & pending


# --- a second load changes nothing (issue 13, item 14) --------------------------------------


def test_a_second_load_rehashes_no_pin_or_password_and_keeps_everyone_logged_in(client):
    from django.test import Client

    # given: the demo, a pharmacist on the pharmacy site and a nurse at a cart
    demo_hospital_load()
    hashes = dict(User.objects.values_list("username", "password"))
    pins = dict(User.objects.values_list("username", "pin_hash"))
    assert client.login(username="duocsi.tuan", password="duocsi-demo-2026")
    cart = Client()
    response = cart.post(
        "/cart/login/",
        {"badge": "]C18017952000200000000112", "pin": "111111", "ward": "NOI", "cart": "NOI-1"},
    )
    assert response.status_code == 302

    # when: the demo is loaded again (every restart of `make run` does)
    demo_hospital_load()

    # then
    assert dict(User.objects.values_list("username", "password")) == hashes
    assert dict(User.objects.values_list("username", "pin_hash")) == pins
    assert client.get("/pharmacy/").status_code == 200
    assert cart.get("/cart/").status_code == 200


def test_a_second_load_writes_no_history_and_updates_no_row():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pharmacy.models import Medication, Substance

    demo_hospital_load()
    history = [model.history.count() for model in (Substance, Medication, Package)]

    with CaptureQueriesContext(connection) as queries:
        demo_hospital_load()

    assert [model.history.count() for model in (Substance, Medication, Package)] == history
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert writes == []


def test_a_changed_fixture_value_is_applied_on_the_next_load():
    from pharmacy.models import Medication

    demo_hospital_load()
    Medication.objects.filter(code="paracetamol-500-tab").update(name="Changed by hand")

    demo_hospital_load()

    assert Medication.objects.get(code="paracetamol-500-tab").name == "Paracetamol 500 mg viên nén"


# --- the README says what the fixture holds -------------------------------------------------


def test_the_readme_counts_are_the_fixtures():
    import re

    from django.conf import settings

    from pharmacy.demo import demo_counts

    readme = " ".join((settings.BASE_DIR / "README.md").read_text(encoding="utf-8").split())
    counts = demo_counts(read_demo())
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}

    def number(text: str) -> int:
        return words[text] if text in words else int(text)

    found = re.search(
        r"with (\w+) wards \(.*?; (\d+) beds\), (\d+) admitted patients plus (\w+) discharged and "
        r"(\w+) deceased, (\d+) formulary items with (\d+) GTINs .*?, (\w+) recalled lots? and "
        r"(\d+) orders .*?, (\w+) of them awaiting the pharmacist's verification",
        readme,
    )
    assert found, "the README's demo paragraph changed shape: update this test with it"
    assert [number(value) for value in found.groups()] == [
        counts["wards"],
        counts["beds"],
        counts["admitted"],
        counts["discharged"],
        counts["deceased"],
        counts["medications"],
        counts["gtins"],
        counts["recalled_lots"],
        counts["orders"],
        counts["awaiting_verification"],
    ]
    text = (settings.BASE_DIR / "README.md").read_text(encoding="utf-8")
    table = text[text.index("### Staff") : text.index("### Patients")]
    staff = re.findall(r"^\| [^|]+\| `([a-z.]+)` \|", table, re.M)
    assert sorted(staff) == sorted(person["username"] for person in read_demo()["staff"])


def test_the_counts_match_a_loaded_demo():
    from pharmacy.demo import demo_counts

    demo_hospital_load()
    counts = demo_counts(read_demo())

    assert MedicationOrder.objects.count() == counts["orders"]
    assert (
        MedicationOrder.objects.filter(status=OrderStatus.PENDING_VERIFICATION).count()
        == counts["awaiting_verification"]
    )
    assert Package.objects.count() == counts["gtins"]
    assert LotRecall.objects.count() == counts["recalled_lots"]
    assert (
        Admission.objects.filter(
            discharged_at__isnull=True, patient__deceased_at__isnull=True
        ).count()
        == counts["admitted"]
    )
