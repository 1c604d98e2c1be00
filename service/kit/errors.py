"""One catalog of error codes, one exception type, one renderer of RFC 9457 problems."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from inspect import isawaitable
from typing import Any

import asyncpg
from pydantic import ValidationError
from sanic import Request
from sanic.constants import HTTP_METHODS
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
# Problem ``type`` URIs point into the service's own error reference: {PUBLIC_URL}/docs/errors#CODE.
ERROR_REFERENCE_PATH = "/docs/errors"
# How long a client should wait before retrying after a 503: the pool's bounded waits and the
# readiness probe recover within seconds once the dependency is back.
OUTAGE_RETRY_AFTER_SECONDS = 2


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    title: str
    # What happened and what a client should do about it: the error reference's text.
    description: str


class ErrorCode(Enum):
    """Stable identifiers clients branch on; the error reference (/docs/errors, docs/errors.md)
    is generated from this catalog."""

    VALIDATION_FAILED = ErrorSpec(
        422,
        "Validation failed",
        "A body field, query parameter or header is invalid: `limit` outside 1-100, an "
        "unparseable cursor, a bad filter value, a missing or malformed field. `errors` names "
        "each field with its message; fix those and send again.",
    )
    MALFORMED_JSON = ErrorSpec(
        400,
        "Malformed JSON",
        "The body is not parseable JSON. Send a JSON object encoded in UTF-8.",
    )
    UNSUPPORTED_MEDIA_TYPE = ErrorSpec(
        415,
        "Unsupported media type",
        "A body was sent with a content type other than `application/json`. Send "
        "`Content-Type: application/json`.",
    )
    PAYLOAD_TOO_LARGE = ErrorSpec(
        413,
        "Payload too large",
        "The request body exceeds 1 MiB, or a session event's `data` exceeds 16 KiB. Send less; "
        "retrying the same request will fail again.",
    )
    HEADERS_TOO_LARGE = ErrorSpec(
        431,
        "Request headers too large",
        "The request line and headers together exceed 8 KiB; a long path or query string counts. "
        "Shorten them (long input belongs in a JSON body, which may be up to 1 MiB); retrying the "
        "same request will fail again.",
    )
    AUTH_REQUIRED = ErrorSpec(
        401,
        "Authentication required",
        "The endpoint needs `Authorization: Bearer <access token>` and none was sent. Log in "
        "and send the access token.",
    )
    TOKEN_EXPIRED = ErrorSpec(
        401,
        "Token expired",
        "The access token (or refresh token) is past its expiry. Exchange the refresh token at "
        "`POST /api/v1/auth/refresh`, or log in again.",
    )
    TOKEN_INVALID = ErrorSpec(
        401,
        "Token invalid",
        "The token is malformed, wrongly signed, uses a refused algorithm, lacks a required "
        "claim, or its user no longer exists. Log in again; do not retry with the same token.",
    )
    TOKEN_REVOKED = ErrorSpec(
        401,
        "Token revoked",
        "The refresh token was already used or revoked, or the access token belongs to a login "
        "that was logged out. Reuse of a spent refresh token revokes every token of that login. "
        "Log in again.",
    )
    INVALID_CREDENTIALS = ErrorSpec(
        401,
        "Invalid credentials",
        "Login with an unknown email or a wrong password (the two are not distinguished). Check "
        "them; repeated attempts are rate limited.",
    )
    ACCOUNT_DISABLED = ErrorSpec(
        403,
        "Account disabled",
        "The account was deactivated by an administrator; its tokens no longer work. Contact an "
        "administrator.",
    )
    PERMISSION_DENIED = ErrorSpec(
        403,
        "Permission denied",
        "The caller lacks the permission the endpoint needs (named in `detail`). Ask an "
        "administrator for a role that grants it; retrying will not help.",
    )
    NOT_FOUND = ErrorSpec(
        404,
        "Not found",
        "Unknown route, unknown or unpublished content, or a session that does not exist or "
        "belongs to someone else. Check the path and the id.",
    )
    METHOD_NOT_ALLOWED = ErrorSpec(
        405,
        "Method not allowed",
        "The route exists but does not serve this method. The `Allow` header lists the methods "
        "it serves.",
    )
    EMAIL_TAKEN = ErrorSpec(
        409,
        "Email taken",
        "Registration with an email already in use (compared case-insensitively). Log in "
        "instead, or register another address.",
    )
    SLUG_TAKEN = ErrorSpec(
        409,
        "Slug taken",
        "Creating or renaming content to a slug another item has. Choose another slug, or leave "
        "it out on create to have one derived from the title.",
    )
    CONTENT_IN_USE = ErrorSpec(
        409,
        "Content in use",
        "Deleting content that practice sessions refer to. Unpublish it instead: that hides it "
        "from the public while keeping members' history intact.",
    )
    ROLE_EXISTS = ErrorSpec(
        409,
        "Role exists",
        "Creating a role whose name is taken. Choose another name, or change the existing role "
        "with `PUT /api/v1/admin/roles/{name}`.",
    )
    ROLE_BUILTIN = ErrorSpec(
        409,
        "Role is built in",
        "The built-in roles (`admin`, `editor`, `member`) cannot be changed. Create a role of "
        "your own with the permissions wanted.",
    )
    LAST_ADMIN = ErrorSpec(
        409,
        "Last admin",
        "Taking the `admin` role from (or deactivating) the last active administrator would "
        "leave nobody able to administer. Make another user an admin first.",
    )
    SESSION_LIMIT = ErrorSpec(
        409,
        "Too many active sessions",
        "Starting a session while 5 are already active. Complete or abandon one first.",
    )
    SESSION_CLOSED = ErrorSpec(
        409,
        "Session closed",
        "Changing, adding events to, completing or abandoning a session that is no longer "
        "active. Start a new session.",
    )
    IDEMPOTENCY_KEY_REUSED = ErrorSpec(
        409,
        "Idempotency key reused",
        "An `Idempotency-Key` was reused with a different request body. Use a new key for a new "
        "request; resend the original body to get the original answer.",
    )
    RATE_LIMITED = ErrorSpec(
        429,
        "Too many requests",
        "A rate-limit policy is exhausted (`violated-policies` names it). Wait the seconds given "
        "in `Retry-After` before retrying; `RateLimit` and `RateLimit-Policy` tell the quota.",
    )
    INTERNAL_ERROR = ErrorSpec(
        500,
        "Internal server error",
        "An unexpected failure on the server; it is logged with the request id. Retry later, and "
        "quote `request_id` when reporting it.",
    )
    SERVICE_UNAVAILABLE = ErrorSpec(
        503,
        "Service unavailable",
        "A dependency the request needs (the database) is unavailable. Retry with backoff.",
    )

    @property
    def status(self) -> int:
        return self.value.status

    @property
    def title(self) -> str:
        return self.value.title

    @property
    def description(self) -> str:
        return self.value.description

    def type_uri(self, public_url: str) -> str:
        """The problem ``type``: this code's entry in the service's error reference."""
        return f"{public_url}{ERROR_REFERENCE_PATH}#{self.name}"


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
        "type": error.code.type_uri(public_url_of(request)),
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


def public_url_of(request: PraxisRequest | None) -> str:
    return request.app.ctx.settings.public_base_url if request is not None else ""


def request_id_of(request: PraxisRequest | None) -> str | None:
    return ensure_request_id(request) if request is not None else None


SANIC_EXCEPTION_CODES: dict[type[SanicException], ErrorCode] = {
    NotFound: ErrorCode.NOT_FOUND,
    MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    PayloadTooLarge: ErrorCode.PAYLOAD_TOO_LARGE,
    ServiceUnavailable: ErrorCode.SERVICE_UNAVAILABLE,
}


def translate_sanic_exception(exc: SanicException) -> ApiError:
    if is_head_too_large(exc):
        return ApiError(
            ErrorCode.HEADERS_TOO_LARGE, "The request line and headers exceed the size limit."
        )
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


def is_head_too_large(exc: SanicException) -> bool:
    """Sanic refuses a request line plus headers over ``REQUEST_MAX_HEADER_SIZE`` with the same
    exception as a body that is too large, told apart only by its message."""
    return isinstance(exc, PayloadTooLarge) and "header" in str(exc).lower()


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
            error.headers["Allow"] = ", ".join(allowed_methods(request, exc))
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


def allowed_methods(request: PraxisRequest, exc: MethodNotAllowed) -> list[str]:
    """The methods the requested path is served with. The router names them for static routes
    only; for a route with parameters, each method is looked up (the router caches lookups)."""
    named: Iterable[str] | None = getattr(exc, "allowed_methods", None)
    if named:
        return sorted(named)
    served = []
    for method in HTTP_METHODS:
        try:
            request.app.router.get(request.path, method.value, None)
        except (NotFound, MethodNotAllowed):
            continue
        served.append(method.value)
    return sorted(served)


def is_dependency_outage(exc: BaseException | None) -> bool:
    """A lost or refused database connection (Tortoise may wrap it) is a 503, not a bug."""
    while exc is not None:
        if isinstance(exc, _OUTAGE_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
