import pytest
from django.db import DatabaseError, connection, transaction

from scanning.models import AdministeredUnit, Administration, ScanEvent
from tests.scanning.conftest import AN_BAND, PARACETAMOL, image

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def recorded(nurse_client):
    response = nurse_client.post(
        "/api/v1/administrations/",
        {"patient": image(AN_BAND), "medications": [image(n) for n in PARACETAMOL]},
        format="json",
    )
    assert response.status_code == 201
    return Administration.objects.get()


@pytest.mark.parametrize("model", [Administration, AdministeredUnit, ScanEvent])
def test_the_database_refuses_to_change_the_record(recorded, model):
    # Raw SQL: the point is what the database does when our code is bypassed altogether.
    row = model.objects.first()
    table = model._meta.db_table
    for statement in (
        f"UPDATE {table} SET created_at = created_at WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [row.pk])
    assert model.objects.filter(pk=row.pk).exists()


def test_corrections_still_work_because_they_only_insert(recorded, nurse_client):
    response = nurse_client.post(
        f"/api/v1/administrations/{recorded.external_id}/correct/",
        {"reason": "duplicate"},
        format="json",
    )
    assert response.status_code == 201
    assert Administration.objects.count() == 2
