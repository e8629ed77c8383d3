from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

import gs1
from hospital.models import Hospital, Role, User
from pharmacy.models import (
    LotRecall,
    Medication,
    MedicationOrder,
    OrderStatus,
    Package,
    ScheduledDose,
    ScheduleKind,
    Substance,
)
from scanning.models import AdministeredUnit, Administration, AdministrationStatus
from wards.models import Admission, Allergy, Bed, Patient, PatientNumber, Ward, Wristband


def default_hospital() -> Hospital:
    """The hospital a test's wards and staff belong to unless it says otherwise: the demo's
    first when it is loaded, else one made here."""
    # MSH-4 "HOSPITAL", whatever the test order: what the HIS simulator and interop's default
    # INTEROP_HL7_SENDING_FACILITY send as, so single-hospital messages keep their facility.
    return Hospital.objects.order_by("pk").first() or HospitalFactory(hl7_facility="HOSPITAL")


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"H{n + 1}")
    name = factory.Sequence(lambda n: f"Bệnh viện {n + 1}")
    gln = factory.Sequence(lambda n: gs1.make_gtin(f"893600001{n:03d}"))
    hl7_facility = factory.Sequence(lambda n: f"HOSPITAL{n + 2}")


def _add_role(user, create, role):
    if create and role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Hoa"
    last_name = "Nguyễn Thị"
    badge_gsrn = factory.Sequence(lambda n: gs1.make_gsrn(f"95200029{n:09d}"))
    is_active = True

    role = factory.PostGeneration(
        lambda obj, create, extracted, **kw: _add_role(obj, create, extracted)
    )

    @factory.post_generation
    def hospitals(obj, create, extracted, **kwargs):
        if create:
            obj.hospitals.set(extracted if extracted is not None else [default_hospital()])

    @factory.post_generation
    def pin(obj, create, extracted, **kwargs):
        obj.set_pin(extracted or "123456")
        if create:
            obj.save()


class NurseFactory(UserFactory):
    role = factory.PostGeneration(
        lambda obj, create, extracted, **kw: _add_role(obj, create, extracted or Role.NURSE)
    )


class PharmacistFactory(UserFactory):
    role = factory.PostGeneration(
        lambda obj, create, extracted, **kw: _add_role(obj, create, extracted or Role.PHARMACIST)
    )
    is_staff = True


class WardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ward
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"W{n}")
    name = factory.Sequence(lambda n: f"Khoa {n}")
    hospital = factory.LazyFunction(default_hospital)


class BedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bed

    ward = factory.SubFactory(WardFactory)
    code = factory.Sequence(lambda n: f"{n:02d}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    hospital = factory.LazyFunction(default_hospital)
    mrn = factory.Sequence(lambda n: f"BN{n:010d}")
    gsrn = factory.Sequence(lambda n: gs1.make_gsrn(f"95200019{n:09d}"))
    full_name = "Trần Thị Bích Ngọc"
    date_of_birth = date(1968, 11, 2)
    sex = "F"

    @factory.post_generation
    def numbered(obj, create, extracted, **kwargs):
        """Her number at her registering hospital, as wards.services.patient_register writes it."""
        if create:
            PatientNumber.objects.get_or_create(
                hospital_id=obj.hospital_id, patient=obj, defaults={"mrn": obj.mrn}
            )


class AdmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Admission

    ward = factory.SubFactory(WardFactory)
    # The ward's, as wards.services.admission_admit_from_his sets it.
    hospital = factory.SelfAttribute("ward.hospital")
    # Registered by the hospital that admits her, as the HIS does.
    patient = factory.SubFactory(PatientFactory, hospital=factory.SelfAttribute("..ward.hospital"))
    bed = None
    # Her number at the ward's hospital, as wards.services.admission_mrn copies it.
    mrn = factory.LazyAttribute(
        lambda o: (
            (
                o.patient.pk
                and PatientNumber.objects.filter(patient=o.patient, hospital_id=o.ward.hospital_id)
                .values_list("mrn", flat=True)
                .first()
            )
            or o.patient.mrn
        )
    )
    admitted_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))


class AllergyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allergy

    patient = factory.SubFactory(PatientFactory)
    allergen_code = "penicillins"
    allergen_name = "Penicillin"
    severity = "severe"


class WristbandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wristband

    admission = factory.SubFactory(AdmissionFactory)
    patient = factory.SelfAttribute("admission.patient")
    instance = factory.Sequence(lambda n: n + 1)
    printed_at = factory.LazyFunction(timezone.now)
    printed_by = factory.SubFactory(PharmacistFactory)


class SubstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Substance
        django_get_or_create = ["code"]

    code = "paracetamol"
    name = "Paracetamol"


class MedicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Medication

    code = factory.Sequence(lambda n: f"med-{n}")
    name = "Paracetamol 500 mg viên nén"
    substance = factory.SubFactory(SubstanceFactory)
    strength_value = Decimal("500")
    strength_unit = "mg"
    dose_form = "tablet"
    routes = factory.LazyFunction(lambda: ["PO"])


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package

    gtin = factory.Sequence(lambda n: gs1.normalize_gtin(gs1.make_gtin(f"952000{n:06d}")))
    medication = factory.SubFactory(MedicationFactory)
    quantity = Decimal("1")
    quantity_unit = "each"


class LotRecallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LotRecall

    package = factory.SubFactory(PackageFactory)
    lot = "LOT1"
    recalled_at = factory.LazyFunction(timezone.now)
    reason = "Contamination"
    recorded_by = factory.SubFactory(PharmacistFactory)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MedicationOrder

    admission = factory.SubFactory(AdmissionFactory)
    # The admission's, as pharmacy.services.order_create_from_his sets it.
    hospital = factory.SelfAttribute("admission.hospital")
    medication = factory.SubFactory(MedicationFactory)
    dose_value = Decimal("500")
    dose_unit = "mg"
    route = "PO"
    schedule_kind = ScheduleKind.TIMES_OF_DAY
    times_of_day = factory.LazyFunction(lambda: ["08:00", "20:00"])
    start_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=12))
    status = OrderStatus.ACTIVE
    prescriber_name = "BS. Lê Văn Tâm"
    verified_by = factory.SubFactory(PharmacistFactory)
    verified_at = factory.LazyFunction(timezone.now)


class ScheduledDoseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduledDose

    order = factory.SubFactory(OrderFactory)
    due_at = factory.LazyFunction(timezone.now)


class AdministrationFactory(factory.django.DjangoModelFactory):
    """A record written around the services (no audit chain): for reads over a built ledger."""

    class Meta:
        model = Administration

    order = factory.SubFactory(OrderFactory)
    admission = factory.SelfAttribute("order.admission")
    patient = factory.SelfAttribute("admission.patient")
    scheduled_dose = None
    status = AdministrationStatus.COMPLETED
    performer = factory.SubFactory(NurseFactory)
    administered_at = factory.LazyFunction(timezone.now)
    amount = factory.SelfAttribute("order.dose_value")
    unit = factory.SelfAttribute("order.dose_unit")
    route = factory.SelfAttribute("order.route")


class AdministeredUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdministeredUnit

    administration = factory.SubFactory(AdministrationFactory)
    package = factory.SubFactory(PackageFactory)
    gtin = factory.SelfAttribute("package.gtin")
