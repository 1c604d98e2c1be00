"""What every answer carries for the browser's and the caches' sake, and how much work one
worker takes on at once.

- Security headers on every response, errors and unmatched paths included: ``nosniff``, no
  referrer, HSTS in production (TLS ends at the proxy there), and ``Cache-Control: no-store``
  on token answers and on every answer to a request with a bearer token (a shared cache must
  never keep one user's data or tokens).
- Admission: past ``MAX_CONCURRENT_REQUESTS`` requests in progress, a worker answers 503 with
  ``Retry-After`` at once instead of queueing without bound; a load balancer retries elsewhere.
  Probes and scrapes are never refused: an overloaded worker must still say so.
"""

from __future__ import annotations

from sanic.models.server_types import ConnInfo
from sanic.response import BaseHTTPResponse

from service.app_context import PraxisApp, PraxisRequest
from service.kit.errors import ApiError, ErrorCode

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
HSTS = "max-age=31536000; includeSubDomains"
NO_STORE = "no-store"
TOKEN_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/auth/refresh"})
EXEMPT_FROM_ADMISSION = ("/health", "/metrics")
OVERLOAD_RETRY_AFTER_SECONDS = 1
# Admission runs right after the request id exists and the request is counted (priority 99),
# so a refusal is logged, counted and traced like any answer; the headers are set last.
ADMISSION_PRIORITY = 98
HEADERS_PRIORITY = -900


class AdmissionGate:
    """Requests in progress on this worker, up to ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_progress = 0

    def admit(self) -> bool:
        if self.in_progress >= self.limit:
            return False
        self.in_progress += 1
        return True

    def leave(self) -> None:
        self.in_progress -= 1


def install_hardening(app: PraxisApp) -> None:
    settings = app.ctx.settings
    gate = AdmissionGate(settings.max_concurrent_requests)
    app.ctx.admission = gate
    headers = dict(SECURITY_HEADERS)
    if settings.is_production:
        headers["Strict-Transport-Security"] = HSTS

    async def admit(request: PraxisRequest) -> None:
        _admit(gate, request)

    async def finish(request: PraxisRequest, response: BaseHTTPResponse) -> None:
        if getattr(request.ctx, "admitted", False):
            request.ctx.admitted = False
            _leave(gate, request.conn_info)
        _set_headers(request, response, headers)

    # A client that disconnects cancels its handler and no response middleware runs: the
    # connection's end gives the place back.
    async def connection_closed(conn_info: ConnInfo) -> None:
        if getattr(conn_info.ctx, "admitted_unfinished", False):
            _leave(gate, conn_info)

    app.register_middleware(admit, "request", priority=ADMISSION_PRIORITY)
    app.register_middleware(finish, "response", priority=HEADERS_PRIORITY)
    app.signal("http.lifecycle.complete")(connection_closed)


def _admit(gate: AdmissionGate, request: PraxisRequest) -> None:
    if request.path.startswith(EXEMPT_FROM_ADMISSION):
        return
    if not gate.admit():
        raise ApiError(
            ErrorCode.SERVICE_UNAVAILABLE,
            "The server is at capacity; retry shortly.",
            headers={"Retry-After": str(OVERLOAD_RETRY_AFTER_SECONDS)},
        )
    request.ctx.admitted = True
    if request.conn_info is not None:
        request.conn_info.ctx.admitted_unfinished = True


def _set_headers(
    request: PraxisRequest, response: BaseHTTPResponse, headers: dict[str, str]
) -> None:
    response.headers.update(headers)
    if request.path in TOKEN_PATHS or _has_bearer_token(request):
        response.headers["Cache-Control"] = NO_STORE


def _leave(gate: AdmissionGate, conn_info: ConnInfo | None) -> None:
    gate.leave()
    if conn_info is not None:
        conn_info.ctx.admitted_unfinished = False


def _has_bearer_token(request: PraxisRequest) -> bool:
    return request.headers.get("authorization", "").lower().startswith("bearer ")
