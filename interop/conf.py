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
    # Inbound HL7 from the HIS (manage.py mllp_inbound).
    "INBOUND_MLLP_HOST": "127.0.0.1",
    "INBOUND_MLLP_PORT": 2576,
    # A new or changed order from the HIS awaits the pharmacist's verification. False: the HIS
    # verifies upstream and its orders are active on arrival (verified by "his-interface").
    "INBOUND_ORDERS_REQUIRE_VERIFICATION": True,
    # Only PID-3 repetitions with this assigning authority (CX-4) are the MRN ("" = type MR); in
    # a FHIR Patient, an identifier whose assigner has this identifier value or display.
    "INBOUND_MRN_AUTHORITY": "",
    # The identifier system of the MRN in FHIR Patients from the HIS ("": ours, <base>/sid/mrn).
    "INBOUND_FHIR_MRN_SYSTEM": "",
    # TQ1-3 repeat patterns without times (TQ1-4) that the hospital gives fixed local times.
    "INBOUND_REPEAT_TIMES": {
        "QD": ("08:00",),
        "QAM": ("08:00",),
        "QPM": ("20:00",),
        "QHS": ("21:00",),
        "BID": ("08:00", "20:00"),
        "TID": ("08:00", "14:00", "20:00"),
        "QID": ("06:00", "12:00", "18:00", "22:00"),
    },
    # How often a listener applies messages stored but not applied (a listener killed before it
    # applied them, a sender that never re-sent).
    "INBOUND_SWEEP_SECONDS": 5.0,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def hl7_config(
    *, receiving_application: str = "", receiving_facility: str = "", enhanced_acks: bool = False
) -> Hl7Config:
    return Hl7Config(
        enhanced_acks=enhanced_acks,
        sending_application=get("INTEROP_HL7_SENDING_APPLICATION"),
        sending_facility=get("INTEROP_HL7_SENDING_FACILITY"),
        receiving_application=receiving_application,
        receiving_facility=receiving_facility,
        processing_id=get("INTEROP_HL7_PROCESSING_ID"),
        time_zone=settings.TIME_ZONE,
    )


def inbound_parse_config():
    from interop.inbound.hl7in import ParseConfig

    return ParseConfig(
        time_zone=settings.TIME_ZONE,
        mrn_authority=get("INBOUND_MRN_AUTHORITY"),
        repeat_times={key: tuple(value) for key, value in get("INBOUND_REPEAT_TIMES").items()},
    )


def fhir_config() -> FhirConfig:
    return FhirConfig(system_base=get("INTEROP_FHIR_SYSTEM_BASE"), time_zone=settings.TIME_ZONE)


def fhir_in_config():
    from interop.inbound.fhirin import FhirInConfig

    fhir = fhir_config()
    return FhirInConfig(
        mrn_system=get("INBOUND_FHIR_MRN_SYSTEM") or fhir.system("sid", "mrn"),
        visit_system=fhir.system("sid", "visit-number"),
        placer_order_system=fhir.system("sid", "placer-order-number"),
        ward_system=fhir.system("sid", "ward"),
        bed_system=fhir.system("sid", "bed"),
        national_id_system=fhir.system("sid", "national-id"),
        insurance_system=fhir.system("sid", "health-insurance"),
        mrn_authority=get("INBOUND_MRN_AUTHORITY"),
        time_zone=settings.TIME_ZONE,
        repeat_times={key: tuple(value) for key, value in get("INBOUND_REPEAT_TIMES").items()},
    )
