"""Errors that services raise and the API turns into `{"error": {"code", "message", "details"}}`."""

from typing import Any


class ApplicationError(Exception):
    """A refusal the user can act on. `code` is stable: clients and tests match on it."""

    code = "APPLICATION_ERROR"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        status: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details if details is not None else {}
