"""An order typed in the pharmacy site: its hospital is its admission's, fixed once saved, and its
placer order number is unique in that hospital (backoffice/admin/pharmacy.py, MedicationOrderForm)."""

import pytest
from django.test import RequestFactory

from backoffice.admin.pharmacy import MedicationOrderAdmin
from backoffice.admin_site import pharmacy_site
from pharmacy.models import MedicationOrder, OrderStatus
from tests.factories import (
    AdmissionFactory,
    HospitalFactory,
    MedicationFactory,
    OrderFactory,
    UserFactory,
    WardFactory,
)

pytestmark = pytest.mark.django_db

# The pharmacy site speaks Vietnamese.
TAKEN = "Đã có y lệnh khác mang số y lệnh này."
ELSEWHERE = (
    "Đợt nhập viện này thuộc bệnh viện khác với y lệnh: y lệnh ở lại bệnh viện nơi bác sĩ đã ra "
    "y lệnh."
)


@pytest.fixture
def two_admissions():
    return (
        AdmissionFactory(ward=WardFactory(code="A-NOI", hospital=HospitalFactory(code="BVA"))),
        AdmissionFactory(ward=WardFactory(code="B-NOI", hospital=HospitalFactory(code="BVB"))),
    )


def submitted(admission, *, number: str, instance: MedicationOrder | None = None):
    """The order page's form, as a superuser (who picks any hospital's admission) sends it."""
    request = RequestFactory().post("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    model_admin = MedicationOrderAdmin(MedicationOrder, pharmacy_site)
    form_class = model_admin.get_form(request, instance, change=instance is not None)
    medication = instance.medication if instance else MedicationFactory(routes=["PO"])
    data = {
        "admission": admission.pk,
        "medication": medication.pk,
        "dose_value": "500",
        "dose_unit": "mg",
        "route": "PO",
        "schedule_kind": "times",
        "times_of_day": '["08:00"]',
        "prn_indications": "[]",
        "assessments_required": "[]",
        "hold_parameters": "[]",
        "start_at_0": "2026-11-24",
        "start_at_1": "07:00:00",
        "prescriber_name": "BS. Lê Văn Tâm",
        "placer_order_number": number,
        "max_concurrent_bags": "1",
    }
    return form_class(data=data, instance=instance)


def test_a_new_order_is_in_its_admissions_hospital(two_admissions):
    _a, b = two_admissions

    form = submitted(b, number="DH0001")

    assert form.is_valid(), form.errors
    assert form.save().hospital.code == "BVB"


def test_a_placer_number_taken_in_the_hospital_is_a_form_error(two_admissions):
    # given
    a, _b = two_admissions
    OrderFactory(admission=a, placer_order_number="DH0001")

    # when
    form = submitted(AdmissionFactory(ward=a.ward), number="DH0001")

    # then said on the form, not a server error on saving
    assert not form.is_valid()
    assert TAKEN in form.non_field_errors()


def test_a_placer_number_of_another_hospital_is_free(two_admissions):
    a, b = two_admissions
    OrderFactory(admission=a, placer_order_number="DH0001")

    form = submitted(b, number="DH0001")

    assert form.is_valid(), form.errors


def test_a_pending_order_cannot_move_to_an_admission_of_another_hospital(two_admissions):
    # given a pending order at BVA
    a, b = two_admissions
    order = OrderFactory(
        admission=a, status=OrderStatus.PENDING_VERIFICATION, verified_by=None, verified_at=None
    )

    # when its admission is changed to one at BVB
    form = submitted(b, number="", instance=order)

    # then refused on the admission; the order stays at BVA
    assert not form.is_valid()
    assert form.errors["admission"] == [ELSEWHERE]
    assert MedicationOrder.objects.get(pk=order.pk).hospital.code == "BVA"
