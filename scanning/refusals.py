"""The bedside's typed refusals: a write the ledger's present state forbids (the dose is already
given, the unit already used, the record already corrected ...). Each is a subclass of
`RefusalError` with its stable `code`, which clients and tests match on.

The not-given, correction and acknowledgement services raise them; the API's exception handler
(hospital.api) answers each as `{"error": {"code", "message", "details"}}` with its `status`. A
record's refusals are not raised but returned (scanning.services.RecordOutcome), because the
refused attempt's scan event must commit; the record view maps their codes through the same
table, `status_of`, so one place says which refusal is a 409 Conflict.

Tests: tests/scanning/test_refusals.py (each refusal's status and code through the API).
"""

from hospital.exceptions import ApplicationError


class RefusalError(ApplicationError):
    """The write conflicts with what the ledger already holds: 409, whatever the refusal."""

    status = 409


class AlreadyGivenError(RefusalError):
    code = "ALREADY_GIVEN"


class SerialAlreadyUsedError(RefusalError):
    code = "SERIAL_ALREADY_USED"


class AlreadyDocumentedError(RefusalError):
    code = "ALREADY_DOCUMENTED"


class DoseCancelledError(RefusalError):
    code = "DOSE_CANCELLED"


class NotCorrectableError(RefusalError):
    code = "NOT_CORRECTABLE"


class AlreadyCorrectedError(RefusalError):
    code = "ALREADY_CORRECTED"


class AlreadyAcknowledgedError(RefusalError):
    code = "ALREADY_ACKNOWLEDGED"


class InfusionBagAlreadyHungError(RefusalError):
    code = "INFUSION_BAG_ALREADY_HUNG"


class InfusionBagEndedError(RefusalError):
    code = "INFUSION_BAG_ENDED"


class AlreadyRemovedError(RefusalError):
    code = "ALREADY_REMOVED"


class NotWornError(RefusalError):
    """The record is no patch on the patient: not a product that requires removal, not given, or
    withdrawn as entered in error."""

    code = "NOT_WORN"


class WasteAlreadyDocumentedError(RefusalError):
    code = "WASTE_ALREADY_DOCUMENTED"


class NotWasteableError(RefusalError):
    code = "NOT_WASTEABLE"


class MissingDoseAlreadySentError(RefusalError):
    code = "MISSING_DOSE_ALREADY_SENT"


class AlreadyReassessedError(RefusalError):
    """The PRN dose's effect is already documented: `details.reassessment` is the one kept."""

    code = "ALREADY_REASSESSED"


class NotReassessableError(RefusalError):
    """The record is no PRN dose that still stands: not PRN (`details.reason` "not_prn"), not
    given, or withdrawn as entered in error ("not_given")."""

    code = "NOT_REASSESSABLE"


REFUSALS: dict[str, type[RefusalError]] = {
    refusal.code: refusal
    for refusal in (
        AlreadyGivenError,
        SerialAlreadyUsedError,
        AlreadyDocumentedError,
        DoseCancelledError,
        NotCorrectableError,
        AlreadyCorrectedError,
        AlreadyAcknowledgedError,
        InfusionBagAlreadyHungError,
        InfusionBagEndedError,
        AlreadyRemovedError,
        NotWornError,
        WasteAlreadyDocumentedError,
        NotWasteableError,
        MissingDoseAlreadySentError,
        AlreadyReassessedError,
        NotReassessableError,
    )
}


def status_of(code: str, *, otherwise: int) -> int:
    """The HTTP status of the refusal with this code; `otherwise` for a code that is no refusal
    (a record's STOP or missing override is 422, the caller's to say)."""
    refusal = REFUSALS.get(code)
    return refusal.status if refusal is not None else otherwise
