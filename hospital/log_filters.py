"""Logging filters that keep patient identifiers out of the logs."""

import logging
import re

# /api/v1/patients/<mrn>/mar/: an MRN in a URL reaches django.request's 4xx/5xx lines.
_PATIENT_PATH = re.compile(r"(/patients/)[^/?#\s]+")


def redact_patient_paths(text: str) -> str:
    return _PATIENT_PATH.sub(r"\1…", text)


class RedactPatientPaths(logging.Filter):
    """Rewrites the message and its string arguments; attached to a logger (django.request), so
    it acts before any handler, whatever the handler writes to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_patient_paths(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_patient_paths(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                key: redact_patient_paths(arg) if isinstance(arg, str) else arg
                for key, arg in record.args.items()
            }
        return True


class DropRefusedLogins(logging.Filter):
    """Drops django.request's line for each login refused for a delay (429): a flood would write
    one per request, costing the server and filling the disk. The throttle logs the burst itself,
    once, on bcma.security."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 429
