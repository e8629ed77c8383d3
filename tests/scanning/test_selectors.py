from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scanning.models import Administration
from tests.factories import (
    AdmissionFactory,
    BedFactory,
    NurseFactory,
    OrderFactory,
    ScheduledDoseFactory,
    WardFactory,
)

pytestmark = pytest.mark.django_db


def queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured)


def grow_ward(ward, patients: int, doses_per_order: int):
    nurse = NurseFactory()
    ward.staff.add(nurse)
    for _ in range(patients):
        admission = AdmissionFactory(ward=ward, bed=BedFactory(ward=ward))
        for _order in range(3):
            order = OrderFactory(admission=admission)
            for hour in range(doses_per_order):
                dose = ScheduledDoseFactory(
                    order=order, due_at=timezone.now() - timedelta(hours=hour)
                )
                if hour % 2:
                    Administration.objects.create(
                        patient=admission.patient,
                        admission=admission,
                        order=order,
                        scheduled_dose=dose,
                        status="completed",
                        performer=nurse,
                        administered_at=timezone.now(),
                        amount=order.dose_value,
                        unit=order.dose_unit,
                        route=order.route,
                    )
    return nurse


def test_ward_due_list_uses_the_same_number_of_queries_for_any_ward_size(client):
    # given
    ward = WardFactory(code="Q", name="Khoa Q")
    nurse = grow_ward(ward, patients=1, doses_per_order=2)
    client.force_login(nurse)
    small = queries(client, "/api/v1/wards/Q/due/?window=4")
    # when
    grow_ward(ward, patients=6, doses_per_order=4)
    large = queries(client, "/api/v1/wards/Q/due/?window=4")
    # then
    assert large == small


def test_mar_uses_the_same_number_of_queries_however_long_the_record(client):
    ward = WardFactory(code="M", name="Khoa M")
    nurse = grow_ward(ward, patients=1, doses_per_order=2)  # one administration: prefetches run
    mrn = ward.admissions.get().patient.mrn
    client.force_login(nurse)
    small = queries(client, f"/api/v1/patients/{mrn}/mar/")
    admission = ward.admissions.get()
    for _order in range(5):
        order = OrderFactory(admission=admission)
        for hour in range(6):
            dose = ScheduledDoseFactory(
                order=order, due_at=timezone.now() - timedelta(minutes=10 * hour)
            )
            Administration.objects.create(
                patient=admission.patient,
                admission=admission,
                order=order,
                scheduled_dose=dose,
                status="completed",
                performer=nurse,
                administered_at=timezone.now(),
                amount=order.dose_value,
                unit=order.dose_unit,
                route=order.route,
            )
    large = queries(client, f"/api/v1/patients/{mrn}/mar/")
    assert large == small
