"""An admission typed in the pharmacy site: its hospital is its ward's, fixed once saved, and its
visit number is unique in that hospital (backoffice/admin/wards.py, AdmissionForm)."""

import pytest
from django.test import RequestFactory

from backoffice.admin.wards import AdmissionAdmin
from backoffice.admin_site import pharmacy_site
from tests.factories import (
    AdmissionFactory,
    HospitalFactory,
    PatientFactory,
    UserFactory,
    WardFactory,
)
from wards.models import Admission

pytestmark = pytest.mark.django_db

# The pharmacy site speaks Vietnamese.
TAKEN = "Đã có đợt nhập viện khác mang số lượt khám/điều trị này."


@pytest.fixture
def two_wards():
    return (
        WardFactory(code="A-NOI", hospital=HospitalFactory(code="BVA")),
        WardFactory(code="B-NOI", hospital=HospitalFactory(code="BVB")),
    )


def submitted(ward, *, patient, visit_number: str, instance: Admission | None = None):
    """The admission page's form, as a superuser (who picks any hospital's ward) sends it."""
    request = RequestFactory().post("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    model_admin = AdmissionAdmin(Admission, pharmacy_site)
    form_class = model_admin.get_form(request, instance, change=instance is not None)
    data = {
        "patient": patient.pk,
        "ward": ward.pk,
        "admitted_at_0": "2026-11-24",
        "admitted_at_1": "07:00:00",
        "visit_number": visit_number,
    }
    form = form_class(data=data, instance=instance)
    return form, model_admin, request


def test_a_visit_number_taken_in_the_hospital_is_a_form_error(two_wards):
    # given
    a, _b = two_wards
    AdmissionFactory(ward=a, visit_number="V0001")

    # when
    form, _admin, _request = submitted(
        a, patient=PatientFactory(hospital=a.hospital), visit_number="V0001"
    )

    # then said on the form, not a server error on saving
    assert not form.is_valid()
    assert TAKEN in form.non_field_errors()


def test_the_same_visit_number_at_another_hospital_saves_in_the_wards_hospital(two_wards):
    # given
    a, b = two_wards
    AdmissionFactory(ward=a, visit_number="V0001")

    # when
    form, model_admin, request = submitted(
        b, patient=PatientFactory(hospital=b.hospital), visit_number="V0001"
    )
    assert form.is_valid(), form.errors
    admission = form.save(commit=False)
    model_admin.save_model(request, admission, form, change=False)

    # then
    saved = Admission.objects.get(pk=admission.pk)
    assert (saved.hospital, saved.ward, saved.visit_number) == (b.hospital, b, "V0001")


def test_moving_an_admission_to_a_ward_of_another_hospital_is_refused(two_wards):
    # given
    a, b = two_wards
    admission = AdmissionFactory(ward=a, visit_number="V0001")

    # when
    form, _admin, _request = submitted(
        b, patient=admission.patient, visit_number="V0001", instance=admission
    )

    # then
    assert not form.is_valid()
    assert form.errors["ward"] == [
        "Khoa này thuộc bệnh viện khác: người bệnh chuyển viện thì làm ra viện ở đây rồi nhập "
        "viện ở bệnh viện kia."
    ]
    stayed = Admission.objects.get(pk=admission.pk)
    assert (stayed.ward, stayed.hospital) == (a, a.hospital)
