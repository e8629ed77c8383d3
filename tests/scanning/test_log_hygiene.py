import logging
from unittest import mock

import pytest
from django.db import OperationalError

from hospital.log_filters import redact_patient_paths
from tests.scanning.test_audit_chain import AN_MRN, bedside_flow
from wards.models import Patient

pytestmark = pytest.mark.django_db

# Every logger that might speak on the bedside path, at its chattiest. (SQL is logged only with
# DEBUG = True, which production refuses; its parameters would carry everything.)
LOGGERS = ["", "django", "django.request", "django.security", "axes", "bcma", "hospital"]
LOGGERS += ["scanning", "interop", "wards", "pharmacy"]


def identifiers() -> set[str]:
    found = set()
    for patient in Patient.objects.all():
        found |= {patient.full_name, patient.mrn, patient.gsrn, patient.date_of_birth.isoformat()}
        found.add(patient.date_of_birth.strftime("%d/%m/%Y"))
    return {value for value in found if value}


def everything_logged(record: logging.LogRecord) -> str:
    """The formatted line with its traceback, and every plain value passed as `extra`."""
    line = logging.Formatter("%(name)s %(message)s").format(record)
    extras = [
        str(value)
        for value in vars(record).values()
        if isinstance(value, str | int | float) and value is not record.msg
    ]
    return "\n".join([line, *extras])


def test_a_bedside_round_logs_no_patient_identifier(nurse_client, caplog):
    # given
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)

    # when: a round with its 4xx and 5xx answers, some on URLs that carry an MRN
    bedside_flow(nurse_client)
    assert nurse_client.get(f"/api/v1/patients/{AN_MRN}/mar/").status_code == 200
    assert nurse_client.get(f"/api/v1/patients/{AN_MRN}/mar/?date=soon").status_code == 400
    with mock.patch(
        "scanning.api.views.mar_get", side_effect=OperationalError("server closed the connection")
    ):
        assert nurse_client.get(f"/api/v1/patients/{AN_MRN}/mar/").status_code == 503

    # then
    assert {r.name for r in caplog.records} >= {"django.request", "hospital.api"}
    secrets = identifiers()
    leaks = [
        (record.name, value)
        for record in caplog.records
        for value in secrets
        if value in everything_logged(record)
    ]
    assert leaks == []


def test_a_patient_path_is_redacted():
    assert redact_patient_paths("Bad Request: /api/v1/patients/BN2026000101/mar/") == (
        "Bad Request: /api/v1/patients/…/mar/"
    )
    assert redact_patient_paths("/api/v1/wards/NOI/due/") == "/api/v1/wards/NOI/due/"
