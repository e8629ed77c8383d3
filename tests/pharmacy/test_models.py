from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

import gs1
from pharmacy.models import MedicationOrder, OrderStatus, Package, ScheduledDose, ScheduleKind
from tests.constraints import assert_refused_twice
from tests.factories import (
    AdmissionFactory,
    HospitalFactory,
    LotRecallFactory,
    MedicationFactory,
    OrderFactory,
    PackageFactory,
    PharmacistFactory,
    ScheduledDoseFactory,
    WardFactory,
)

pytestmark = pytest.mark.django_db


def build_order(**overrides):
    fields = {
        "admission": AdmissionFactory(),
        "medication": MedicationFactory(),
        "verified_by": PharmacistFactory(),
        **overrides,
    }
    return OrderFactory.build(**fields)


def test_gtin_is_unique():
    package = PackageFactory()
    duplicate = Package(gtin=package.gtin, medication=package.medication)
    assert_refused_twice(duplicate)


def test_gtin_must_be_14_digits():
    package = PackageFactory.build(gtin="12345", medication=MedicationFactory())
    assert_refused_twice(package)


def test_gtin_with_a_wrong_check_digit_fails_validation():
    good = PackageFactory.build(medication=MedicationFactory())
    wrong = good.gtin[:-1] + str((int(good.gtin[-1]) + 1) % 10)
    with pytest.raises(ValidationError) as refused:
        Package(gtin=wrong, medication=good.medication).full_clean()
    assert list(refused.value.message_dict) == ["gtin"]


def test_ean13_is_stored_as_gtin14():
    ean13 = gs1.make_gtin("893601234500")
    package = Package(gtin=ean13, medication=MedicationFactory())
    package.full_clean()
    assert package.gtin == "0" + ean13


def test_package_quantity_must_be_positive():
    package = PackageFactory.build(medication=MedicationFactory(), quantity=Decimal("0"))
    assert_refused_twice(package)


def test_medication_strength_must_be_positive():
    medication = MedicationFactory.build(strength_value=Decimal("-1"))
    medication.substance.save()
    assert_refused_twice(medication)


def test_medication_dose_form_must_be_known():
    medication = MedicationFactory.build(dose_form="lozenge")
    medication.substance.save()
    assert_refused_twice(medication)


def test_medication_needs_known_routes():
    medication = MedicationFactory.build(routes=["XX"])
    medication.substance.save()
    with pytest.raises(ValidationError) as refused:
        medication.full_clean()
    assert "routes" in refused.value.message_dict


def test_order_dose_must_be_positive():
    assert_refused_twice(build_order(dose_value=Decimal("0")))


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "paused"), ("route", "XX"), ("dose_unit", "tsp"), ("schedule_kind", "sometimes")],
)
def test_order_choices_are_enforced(field, value):
    assert_refused_twice(build_order(**{field: value}))


# --- weight-based orders --------------------------------------------------------------------


@pytest.mark.parametrize(
    "per_kg",
    [
        {"dose_per_kg": Decimal("0")},
        {"max_dose_per_kg": Decimal("0")},
        {"max_dose_per_kg": Decimal("-15")},
        # a per-kg order in mL or IU: not handled (per dose, in mass units only)
        {"dose_per_kg": Decimal("15"), "dose_unit": "mL"},
        {"max_dose_per_kg": Decimal("75"), "dose_unit": "IU"},
        # written above its own maximum
        {"dose_per_kg": Decimal("20"), "max_dose_per_kg": Decimal("15")},
    ],
)
def test_a_per_kg_order_that_makes_no_sense_is_refused(per_kg):
    assert_refused_twice(build_order(**per_kg))


@pytest.mark.parametrize(
    "per_kg",
    [
        {"dose_per_kg": Decimal("15")},
        {"max_dose_per_kg": Decimal("15")},
        {"dose_per_kg": Decimal("15"), "max_dose_per_kg": Decimal("15")},
        {"dose_per_kg": Decimal("10"), "max_dose_per_kg": Decimal("15"), "dose_unit": "mcg"},
    ],
)
def test_a_per_kg_order_within_its_maximum_is_kept(per_kg):
    order = build_order(**per_kg)
    order.full_clean()
    order.save()


def test_active_order_must_be_verified():
    assert_refused_twice(build_order(status=OrderStatus.ACTIVE, verified_by=None, verified_at=None))


def test_verified_by_and_verified_at_go_together():
    assert_refused_twice(build_order(status=OrderStatus.PENDING_VERIFICATION, verified_at=None))


def test_prn_order_needs_interval_maximum_and_indication():
    assert_refused_twice(
        build_order(
            schedule_kind=ScheduleKind.PRN,
            times_of_day=[],
            prn_indication="Đau",
            prn_min_interval_minutes=240,
        )
    )


def test_complete_prn_order_is_accepted():
    order = build_order(
        schedule_kind=ScheduleKind.PRN,
        times_of_day=[],
        prn_indication="Đau",
        prn_min_interval_minutes=240,
        prn_max_per_24h=Decimal("4000"),
    )
    order.full_clean()
    order.save()


def test_interval_order_needs_hours():
    assert_refused_twice(build_order(schedule_kind=ScheduleKind.INTERVAL, interval_hours=None))


def test_stop_must_follow_start():
    start = timezone.now()
    assert_refused_twice(build_order(start_at=start, stop_at=start - timedelta(hours=1)))


@pytest.mark.parametrize("times", [[], ["8:00"], ["25:00"], ["08:00", "08:00"], "08:00"])
def test_times_of_day_are_validated(times):
    with pytest.raises(ValidationError):
        build_order(times_of_day=times).full_clean()


def test_order_route_must_be_allowed_for_the_medication():
    with pytest.raises(ValidationError, match="route"):
        build_order(route="IV").full_clean()


def test_one_scheduled_dose_per_order_and_time():
    dose = ScheduledDoseFactory()
    assert_refused_twice(ScheduledDose(order=dose.order, due_at=dose.due_at))


def test_scheduled_dose_state_must_be_known():
    dose = ScheduledDoseFactory.build(order=OrderFactory(), state="lost")
    assert_refused_twice(dose)


def test_a_lot_is_recalled_once_per_package():
    recall = LotRecallFactory()
    again = LotRecallFactory.build(
        package=recall.package, lot=recall.lot, recorded_by=recall.recorded_by
    )
    assert_refused_twice(again)


def test_two_orders_with_one_placer_order_number_are_refused():
    OrderFactory(placer_order_number="HIS-YL-0001")
    assert_refused_twice(build_order(placer_order_number="HIS-YL-0001"))


def test_orders_without_a_placer_order_number_do_not_collide():
    OrderFactory(placer_order_number="")
    build_order(placer_order_number="").save()


def test_two_hospitals_may_each_have_an_order_of_one_placer_order_number():
    # given BVA's order DH0001 (each HIS issues its own numbers)
    OrderFactory(placer_order_number="DH0001", admission=AdmissionFactory(ward=ward_at("BVA")))
    # when BVB's HIS issues DH0001 too
    theirs = build_order(
        placer_order_number="DH0001", admission=AdmissionFactory(ward=ward_at("BVB"))
    )
    # then it is valid and stored
    theirs.full_clean()
    theirs.save()
    assert sorted(
        MedicationOrder.objects.filter(placer_order_number="DH0001").values_list(
            "hospital__code", flat=True
        )
    ) == ["BVA", "BVB"]


def test_one_hospital_may_not_have_one_placer_order_number_twice():
    OrderFactory(placer_order_number="DH0001", admission=AdmissionFactory(ward=ward_at("BVA")))
    again = build_order(
        placer_order_number="DH0001", admission=AdmissionFactory(ward=ward_at("BVA", "A-NGOAI"))
    )
    assert_refused_twice(again)


def test_an_orders_hospital_is_its_admissions():
    # given an admission at BVA
    admission = AdmissionFactory(ward=ward_at("BVA"))
    # then an order for it at BVB fails validation (no constraint reaches through the admission:
    # the services and the pharmacy site validate every order they write)
    with pytest.raises(ValidationError) as refused:
        build_order(admission=admission, hospital=HospitalFactory(code="BVB")).full_clean()
    assert list(refused.value.message_dict) == ["admission"]
    build_order(admission=admission, hospital=admission.hospital).full_clean()


def ward_at(hospital: str, code: str = ""):
    return WardFactory(code=code or f"{hospital}-NOI", hospital=HospitalFactory(code=hospital))


def test_a_medication_code_fits_hl7s_20_character_identifier():
    medication = MedicationFactory.build(code="paracetamol-500-tab-x")  # 21 characters
    medication.substance.save()
    assert_refused_twice(medication)


# --- routes (HL7 table 0162) ----------------------------------------------------------------


def test_the_intrathecal_route_can_be_stored():
    # An intrathecal order must be storable to be refused loudly at the bedside.
    medication = MedicationFactory(dose_form="injection", routes=["IV", "IT"])
    order = build_order(medication=medication, route="IT")
    order.full_clean()
    order.save()


def test_an_order_for_a_route_the_medication_does_not_allow_fails_validation():
    vincristine = MedicationFactory(dose_form="injection", routes=["IV"])
    with pytest.raises(ValidationError) as refused:
        build_order(medication=vincristine, route="IT").full_clean()
    assert list(refused.value.message_dict) == ["route"]


def test_a_formulary_item_may_not_list_a_route_its_form_cannot_go_by():
    tablet = MedicationFactory.build(dose_form="tablet", routes=["PO", "IV"])
    tablet.substance = MedicationFactory().substance
    with pytest.raises(ValidationError) as refused:
        tablet.full_clean()
    assert list(refused.value.message_dict) == ["routes"]


def test_route_names_agree_with_the_catalogue_the_pharmacy_site_reads():
    # The bedside rules are pure and print pharmacy/routes.py; the site prints the choices.
    from django.utils import translation

    from pharmacy.models import Route
    from pharmacy.routes import ROUTES

    assert set(ROUTES) == set(Route.values)
    for route in Route:
        with translation.override("vi"):
            assert str(route.label) == ROUTES[route.value].vi, route
        with translation.override("en"):
            assert str(route.label) == ROUTES[route.value].en, route


# --- allergy acknowledgements ------------------------------------------------------------------


def acknowledgement(**changes):
    from pharmacy.models import AllergyAcknowledgement

    fields = {
        "order": OrderFactory(),
        "allergies": [{"code": "penicillins", "name": "Penicillin", "severity": "moderate"}],
        "reason": "prescriber_confirmed",
        "comment": "",
        "acknowledged_by": PharmacistFactory(),
        "acknowledged_at": timezone.now(),
        **changes,
    }
    return AllergyAcknowledgement(**fields)


def test_an_acknowledgement_needs_a_known_reason():
    assert_refused_twice(acknowledgement(reason="because"))


def test_other_needs_a_comment():
    assert_refused_twice(acknowledgement(reason="other", comment=""))


def test_one_acknowledgement_per_order():
    first = acknowledgement()
    first.save()
    assert_refused_twice(acknowledgement(order=first.order))
