"""Interop settings, read when used (so tests can override them), with working defaults."""

from django.conf import settings

from interop.fhir import FhirConfig
from interop.hl7v2 import Hl7Config

DEFAULTS = {
    # MSH-3/MSH-4 of every message, and the assigning authority of the MRN in PID-3.
    "INTEROP_HL7_SENDING_APPLICATION": "BCMA",
    "INTEROP_HL7_SENDING_FACILITY": "HOSPITAL",
    # MSH-11: P production, T training, D debugging.
    "INTEROP_HL7_PROCESSING_ID": "P",
    # Namespace of our FHIR identifiers, code systems and extensions.
    "INTEROP_FHIR_SYSTEM_BASE": "https://bcma.example.vn/fhir",
    "INTEROP_CONNECT_TIMEOUT_SECONDS": 5.0,
    # Retry after a failure: base × 2^(attempt − 1), capped.
    "INTEROP_RETRY_BASE_SECONDS": 5.0,
    "INTEROP_RETRY_MAX_SECONDS": 600.0,
    # A claimed message is re-offered to other workers this long after its worker's last possible
    # answer: a worker killed mid-send loses nothing, it only delays.
    "INTEROP_LEASE_MARGIN_SECONDS": 30.0,
    "INTEROP_BATCH_SIZE": 10,
    "INTEROP_POLL_SECONDS": 1.0,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def hl7_config(*, receiving_application: str = "", receiving_facility: str = "") -> Hl7Config:
    return Hl7Config(
        sending_application=get("INTEROP_HL7_SENDING_APPLICATION"),
        sending_facility=get("INTEROP_HL7_SENDING_FACILITY"),
        receiving_application=receiving_application,
        receiving_facility=receiving_facility,
        processing_id=get("INTEROP_HL7_PROCESSING_ID"),
        time_zone=settings.TIME_ZONE,
    )


def fhir_config() -> FhirConfig:
    return FhirConfig(system_base=get("INTEROP_FHIR_SYSTEM_BASE"), time_zone=settings.TIME_ZONE)
