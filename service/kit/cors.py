"""CORS through sanic-ext, configured from ``CORS_ORIGINS``: a listed origin gets itself back in
``Access-Control-Allow-Origin`` (never ``*``); any other origin gets no CORS headers at all, so
the browser keeps the response from the script. Empty: no cross-origin access."""

from __future__ import annotations

from sanic.response import BaseHTTPResponse

from service.app_context import PraxisApp, PraxisRequest
from service.config import Settings

ALLOWED_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-None-Match",
    "X-Request-ID",
)
EXPOSED_RESPONSE_HEADERS = ("RateLimit", "RateLimit-Policy", "Retry-After", "ETag", "X-Request-ID")
# Browsers cap this (Chromium at 2 hours); ten minutes spares most preflights.
PREFLIGHT_MAX_AGE_SECONDS = 600
# sanic-ext adds its CORS headers in a response middleware of priority 0; response middleware of
# lower priority runs before it, of higher priority after it.
BEFORE_SANIC_EXT = -10
AFTER_SANIC_EXT = 10


def configure_cors(app: PraxisApp, settings: Settings) -> None:
    """Set sanic-ext's CORS configuration; call before ``Extend(app)``, which reads it."""
    app.config.CORS = True
    # Joined back into sanic-ext's format: exact origins, or "*" (refused in production), which
    # sanic-ext answers with the request's own origin because CORS_SEND_WILDCARD is off.
    app.config.CORS_ORIGINS = ",".join(settings.cors_origin_list)
    app.config.CORS_SEND_WILDCARD = False
    # sanic-ext's default would send the configured origin even to requests without an Origin.
    app.config.CORS_ALWAYS_SEND = False
    # Bearer tokens travel in a header, not cookies: no credentialed requests to allow.
    app.config.CORS_SUPPORTS_CREDENTIALS = False
    app.config.CORS_ALLOW_HEADERS = list(ALLOWED_REQUEST_HEADERS)
    app.config.CORS_EXPOSE_HEADERS = list(EXPOSED_RESPONSE_HEADERS)
    app.config.CORS_MAX_AGE = PREFLIGHT_MAX_AGE_SECONDS
    if settings.cors_origin_list:
        _vary_on_origin(app)


def _vary_on_origin(app: PraxisApp) -> None:
    """Every response says ``Vary: Origin`` once some origin is allowed: whether the CORS headers
    are there depends on the Origin, so a shared cache must not serve one origin's copy to
    another. sanic-ext sets ``Vary: origin`` only with an allowed origin, and overwrites any Vary
    the handler set; these two keep the handler's values and add Origin to every response."""

    async def set_aside_vary(request: PraxisRequest, response: BaseHTTPResponse) -> None:
        request.ctx.vary_before_cors = response.headers.getall("vary", [])

    async def vary_on_origin(request: PraxisRequest, response: BaseHTTPResponse) -> None:
        earlier: list[str] = getattr(request.ctx, "vary_before_cors", [])
        response.headers["Vary"] = _merge_vary([*earlier, "Origin"])

    app.register_middleware(set_aside_vary, "response", priority=BEFORE_SANIC_EXT)
    app.register_middleware(vary_on_origin, "response", priority=AFTER_SANIC_EXT)


def _merge_vary(values: list[str]) -> str:
    names: dict[str, str] = {}
    for value in values:
        for name in value.split(","):
            if name.strip():
                names.setdefault(name.strip().lower(), name.strip())
    return ", ".join(names.values())
