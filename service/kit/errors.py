"""One catalog of error codes, one exception type, one renderer of RFC 9457 problems."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from inspect import isawaitable
from typing import Any

import asyncpg
from pydantic import ValidationError
from sanic import Request
from sanic.exceptions import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    SanicException,
    ServiceUnavailable,
)
from sanic.handlers import ErrorHandler
from sanic.response import HTTPResponse, json
from tortoise.exceptions import DBConnectionError

from observability.logging import record_failure
from service.app_context import PraxisApp, PraxisRequest
from service.kit.request_ids import ensure_request_id

PROBLEM_CONTENT_TYPE = "application/problem+json"
_OUTAGE_ERRORS = (
    ConnectionError,
    TimeoutError,
    DBConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # 57xxx: the server shutting down or starting (AdminShutdownError, CannotConnectNowError) or
    # cancelling a statement on its own (QueryCanceledError): a restart, not a bug of ours.
    asyncpg.exceptions.OperatorInterventionError,
    # asyncpg's protocol state on a connection the server dropped mid-transaction, met when
    # the pool resets it on release ("another operation is in progress").
    asyncpg.exceptions.InternalClientError,
)
# How long a client should wait before retrying after a 503: the pool's bounded waits and the
# readiness probe recover within seconds once the dependency is back.
OUTAGE_RETRY_AFTER_SECONDS = 2
PROBLEM_TYPE_BASE = "https://praxis.dev/problems/"


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    title: str


class ErrorCode(Enum):
    """Stable identifiers clients branch on; each is documented in docs/errors.md."""

    VALIDATION_FAILED = ErrorSpec(422, "Validation failed")
    MALFORMED_JSON = ErrorSpec(400, "Malformed JSON")
    UNSUPPORTED_MEDIA_TYPE = ErrorSpec(415, "Unsupported media type")
    PAYLOAD_TOO_LARGE = ErrorSpec(413, "Payload too large")
    AUTH_REQUIRED = ErrorSpec(401, "Authentication required")
    TOKEN_EXPIRED = ErrorSpec(401, "Token expired")
    TOKEN_INVALID = ErrorSpec(401, "Token invalid")
    TOKEN_REVOKED = ErrorSpec(401, "Token revoked")
    INVALID_CREDENTIALS = ErrorSpec(401, "Invalid credentials")
    ACCOUNT_DISABLED = ErrorSpec(403, "Account disabled")
    PERMISSION_DENIED = ErrorSpec(403, "Permission denied")
    NOT_FOUND = ErrorSpec(404, "Not found")
    METHOD_NOT_ALLOWED = ErrorSpec(405, "Method not allowed")
    EMAIL_TAKEN = ErrorSpec(409, "Email taken")
    SLUG_TAKEN = ErrorSpec(409, "Slug taken")
    CONTENT_IN_USE = ErrorSpec(409, "Content in use")
    ROLE_EXISTS = ErrorSpec(409, "Role exists")
    SESSION_LIMIT = ErrorSpec(409, "Too many active sessions")
    SESSION_CLOSED = ErrorSpec(409, "Session closed")
    IDEMPOTENCY_KEY_REUSED = ErrorSpec(409, "Idempotency key reused")
    RATE_LIMITED = ErrorSpec(429, "Too many requests")
    INTERNAL_ERROR = ErrorSpec(500, "Internal server error")
    SERVICE_UNAVAILABLE = ErrorSpec(503, "Service unavailable")

    @property
    def status(self) -> int:
        return self.value.status

    @property
    def title(self) -> str:
        return self.value.title


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    """An error the client caused or may act on; rendered as a problem response."""

    def __init__(
        self,
        code: ErrorCode,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or code.title)
        self.code = code
        self.detail = detail or code.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(
        ErrorCode.VALIDATION_FAILED,
        "The request is not valid.",
        errors=[FieldError(field, message)],
    )


def from_pydantic(exc: ValidationError, prefix: str = "") -> ApiError:
    errors = [
        FieldError(
            prefix + ".".join(str(part) for part in err["loc"]) or "body",
            err["msg"],
        )
        for err in exc.errors(include_url=False)
    ]
    return ApiError(ErrorCode.VALIDATION_FAILED, "The request is not valid.", errors=errors)


def problem_response(request: PraxisRequest | None, error: ApiError) -> HTTPResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code.name.lower().replace("_", "-"),
        "title": error.code.title,
        "status": error.code.status,
        "detail": error.detail,
        "code": error.code.name,
        "request_id": request_id_of(request),
    }
    if error.errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    body.update(error.extra)
    return json(
        body,
        status=error.code.status,
        headers=error.headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def request_id_of(request: PraxisRequest | None) -> str | None:
    return ensure_request_id(request) if request is not None else None


SANIC_EXCEPTION_CODES: dict[type[SanicException], ErrorCode] = {
    NotFound: ErrorCode.NOT_FOUND,
    MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    PayloadTooLarge: ErrorCode.PAYLOAD_TOO_LARGE,
    ServiceUnavailable: ErrorCode.SERVICE_UNAVAILABLE,
}


def translate_sanic_exception(exc: SanicException) -> ApiError:
    for exc_type, code in SANIC_EXCEPTION_CODES.items():
        if isinstance(exc, exc_type):
            return ApiError(code, _public_message(exc, code))
    if isinstance(exc, BadRequest) and "json" in str(exc).lower():
        return ApiError(ErrorCode.MALFORMED_JSON, "The request body is not valid JSON.")
    if exc.status_code == HTTPStatus.UNPROCESSABLE_ENTITY:
        return ApiError(ErrorCode.VALIDATION_FAILED, str(exc))
    if HTTPStatus.BAD_REQUEST <= exc.status_code < HTTPStatus.INTERNAL_SERVER_ERROR:
        return ApiError(ErrorCode.VALIDATION_FAILED, "The request could not be processed.")
    return ApiError(ErrorCode.INTERNAL_ERROR, "An unexpected error occurred.")


def _public_message(exc: SanicException, code: ErrorCode) -> str:
    if code is ErrorCode.NOT_FOUND:
        return "The requested resource does not exist."
    if code is ErrorCode.METHOD_NOT_ALLOWED:
        return "This method is not allowed on this resource."
    if code is ErrorCode.PAYLOAD_TOO_LARGE:
        return "The request body is too large."
    return str(exc) or code.title


class FailureRecordingErrorHandler(ErrorHandler):
    """Sanic answers an exception raised while rendering an error with a bare 500 and logs
    nothing; remember it, so the 5xx log line and the span name the failure."""

    def response(self, request: Request, exception: Exception) -> Any:
        rendered = super().response(request, exception)  # type: ignore[no-untyped-call]
        if not isawaitable(rendered):
            return rendered
        return self._recording_failures(request, rendered)

    @staticmethod
    async def _recording_failures(request: Request, rendered: Awaitable[Any]) -> Any:
        try:
            return await rendered
        except Exception as exc:
            record_failure(request, exc)
            raise


def register_error_handlers(app: PraxisApp) -> None:
    @app.exception(ApiError)
    async def handle_api_error(request: PraxisRequest, exc: ApiError) -> HTTPResponse:
        return problem_response(request, exc)

    @app.exception(SanicException)
    async def handle_sanic_error(request: PraxisRequest, exc: SanicException) -> HTTPResponse:
        error = translate_sanic_exception(exc)
        if isinstance(exc, MethodNotAllowed):
            error.headers["Allow"] = ", ".join(sorted(getattr(exc, "allowed_methods", [])))
        return problem_response(request, error)

    @app.exception(Exception)
    async def handle_unexpected(request: PraxisRequest, exc: Exception) -> HTTPResponse:
        # Not logged here: every 5xx is logged once, with its exception, as the answer leaves.
        if is_dependency_outage(exc):
            return problem_response(
                request,
                ApiError(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    "A service this request needs is down.",
                    headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
                ),
            )
        return problem_response(
            request, ApiError(ErrorCode.INTERNAL_ERROR, "An unexpected error occurred.")
        )


def is_dependency_outage(exc: BaseException | None) -> bool:
    """A lost or refused database connection (Tortoise may wrap it) is a 503, not a bug."""
    while exc is not None:
        if isinstance(exc, _OUTAGE_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
