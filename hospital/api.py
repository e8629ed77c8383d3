"""The API's one error shape: `{"error": {"code", "message", "details"}}`, never HTML or a trace."""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hospital.exceptions import ApplicationError

logger = logging.getLogger(__name__)


# A lost or refused connection, a deadlock victim, a lock or statement timeout, SQLite's "database
# is locked": the transaction was rolled back and the same request may simply be sent again.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def database_unavailable(exc: Exception, where: str) -> tuple[dict, dict]:
    """Log a database outage (the error's class and first line: no SQL, no parameters) and give
    the body and headers of the 503. Not "nothing was recorded": a connection lost during COMMIT
    leaves that unknown, which is why the answer asks for the same Idempotency-Key."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    logger.warning("database unavailable at %s: %s %s", where, type(exc).__name__, first_line)
    body = error_body(
        "DATABASE_UNAVAILABLE",
        gettext(
            "The database could not be reached. Send the request again with the same "
            "Idempotency-Key: it is recorded at most once."
        ),
        {"retry_after_seconds": RETRY_AFTER_SECONDS},
    )
    return body, {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)
        return Response(
            error_body(exc.code, exc.message, exc.details),
            status=exc.status,
            headers={"Retry-After": str(retry_after)} if retry_after else None,
        )
    if isinstance(exc, DATABASE_UNAVAILABLE):
        request = context.get("request")
        match = getattr(request, "resolver_match", None)
        body, headers = database_unavailable(exc, match.route if match else "api")
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("REQUEST_TOO_LARGE", gettext("The request body is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            error_body("SERVER_ERROR", gettext("The server could not complete the request.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code = exc.default_code.upper() if isinstance(exc, exceptions.APIException) else "ERROR"
    if isinstance(exc, exceptions.ValidationError):
        details = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        response.data = error_body("INVALID_INPUT", gettext("The request is not valid."), details)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = error_body(code, str(detail))
    return response
