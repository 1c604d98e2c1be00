"""The application factory: wires settings, resources, middleware and blueprints together."""

from __future__ import annotations

import contextlib
import logging
import socket

from sanic import Blueprint, Sanic
from sanic.response import BaseHTTPResponse
from sanic_ext import Extend

from observability import context
from observability.logging import install_request_logging
from observability.tracing import install_tracing
from service.admin.audit.routes import admin_audit_bp
from service.admin.content.routes import admin_content_bp
from service.admin.roles.routes import admin_roles_bp
from service.admin.users.routes import admin_users_bp
from service.app_context import AppContext, PraxisApp, PraxisRequest
from service.auth.routes import auth_bp, users_bp
from service.config import Settings
from service.content.routes import content_bp
from service.health.monitor import ReportingBreaker, install_monitoring
from service.health.routes import health_bp, metrics_bp
from service.history.routes import history_bp
from service.infra import db, redis_client
from service.kit.cors import configure_cors
from service.kit.errors import FailureRecordingErrorHandler, register_error_handlers
from service.kit.hardening import install_hardening
from service.kit.principal_cache import PrincipalCache
from service.kit.ratelimit import install_rate_limiting
from service.kit.rbac import Principal, inject_principal
from service.kit.request_ids import REQUEST_ID_HEADER, ensure_request_id, sane_request_id
from service.kit.security import VerifiedTokens
from service.ops.purge import install_periodic_purge
from service.reference.routes import configure_reference, reference_bp
from service.sessions.routes import sessions_bp

logger = logging.getLogger("praxis.app")

APP_NAME = "praxis"
# Request bodies above this are refused by Sanic before routing (413).
MAX_REQUEST_BYTES = 1024 * 1024
# The request line and headers together: beyond this Sanic answers (431) before routing. A long
# query string counts, which keeps text meant for a body out of URLs and proxies' logs.
MAX_REQUEST_HEAD_BYTES = 8 * 1024
API_DESCRIPTION = (
    "Practice and learning platform: editors publish content, members run timed practice "
    "sessions and review their history, administrators manage content. JSON in and out; lists "
    "are cursor-paginated (`limit` 1-100, `cursor`). Send `Authorization: Bearer <access token>` "
    "(from `POST /api/v1/auth/login`) to the operations that need it. Every error is an RFC 9457 "
    "problem whose `code` is described in the [error reference](/docs/errors) "
    "([JSON](/docs/errors.json))."
)


def create_app(settings: Settings, name: str = APP_NAME) -> PraxisApp:
    app: PraxisApp = Sanic(
        name,
        ctx=AppContext(settings, VerifiedTokens(settings.jwt_secret)),
        error_handler=FailureRecordingErrorHandler(),
    )
    _configure(app, settings)
    # Dependencies are injected after the request middleware, so the rate limiter runs first.
    app.config.INJECTION_SIGNAL = "http.handler.before"
    Extend(app)
    app.ext.add_dependency(Principal, inject_principal)
    _describe_api(app, settings)
    register_error_handlers(app)
    _register_listeners(app)
    _register_middleware(app)
    install_monitoring(app)
    install_tracing(app)
    install_request_logging(app)
    install_rate_limiting(app)
    install_hardening(app)
    install_periodic_purge(app)
    api = Blueprint.group(
        auth_bp,
        users_bp,
        content_bp,
        sessions_bp,
        history_bp,
        admin_content_bp,
        admin_users_bp,
        admin_roles_bp,
        admin_audit_bp,
        version=1,
        version_prefix="/api/v",
    )
    app.blueprint(api)
    app.blueprint(health_bp)
    app.blueprint(metrics_bp)
    app.blueprint(reference_bp)
    return app


def _configure(app: PraxisApp, settings: Settings) -> None:
    app.config.PROXIES_COUNT = settings.proxies_count
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    app.config.REQUEST_MAX_HEADER_SIZE = MAX_REQUEST_HEAD_BYTES
    app.config.REQUEST_TIMEOUT = settings.request_timeout_seconds
    app.config.RESPONSE_TIMEOUT = settings.response_timeout_seconds
    app.config.KEEP_ALIVE_TIMEOUT = settings.keep_alive_timeout_seconds
    app.config.FALLBACK_ERROR_FORMAT = "json"
    configure_reference(app.config)
    configure_cors(app, settings)
    app.config.HTTP_AUTO_TRACE = False


def _describe_api(app: PraxisApp, settings: Settings) -> None:
    app.ext.openapi.describe(
        "Praxis API",
        version="1",
        description=API_DESCRIPTION,
    )
    # The builder is process-wide (sanic-ext keeps one): add the server once per process.
    if settings.public_base_url not in getattr(app.ext.openapi, "_urls", []):
        app.ext.openapi.url(settings.public_base_url)
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")


def _register_listeners(app: PraxisApp) -> None:
    @app.before_server_start
    async def open_resources(app: PraxisApp) -> None:
        settings = app.ctx.settings
        db.quiet_statement_log()
        database = await db.resolve_database(settings)
        app.ctx.database_url = database.url
        await db.init_orm(database.url, db.pool_limits(settings), pgbouncer=settings.db_pgbouncer)
        redis = await redis_client.resolve_redis(settings)
        app.ctx.redis = (
            redis_client.connect(redis.url, settings.redis_cluster) if redis.url else None
        )
        app.ctx.redis_breaker = ReportingBreaker()
        app.ctx.principal_cache = PrincipalCache.from_settings(
            app.ctx.redis, app.ctx.redis_breaker, settings
        )
        if redis.url is None:
            logger.warning("Redis: %s", redis.reason)

    @app.before_server_stop
    async def start_draining(app: PraxisApp) -> None:
        # From now on readiness fails, so a load balancer stops routing here while the requests
        # already accepted finish (within GRACEFUL_SHUTDOWN_TIMEOUT).
        app.ctx.draining = True
        stop_listening(app)

    @app.after_server_stop
    async def close_resources(app: PraxisApp) -> None:
        if app.ctx.redis is not None:
            await app.ctx.redis.aclose()
        await db.close_orm()


def stop_listening(app: PraxisApp) -> None:
    """Stop the instance's listening socket for every process sharing it. Sanic's main process
    binds it and keeps it open until it exits, after its workers: meanwhile the kernel would
    still complete new connections that no worker accepts, and reset them only at that exit
    (a proxy then waits, and cannot send a POST elsewhere once sent). Shut down, the socket
    refuses new connections at once, which a proxy retries on another instance whatever the
    method; connections already accepted are served to their end."""
    for info in app.state.server_info:
        listener = info.settings.get("sock")
        if isinstance(listener, socket.socket):
            with contextlib.suppress(OSError):  # another worker shut it down first
                listener.shutdown(socket.SHUT_RD)


def _register_middleware(app: PraxisApp) -> None:
    async def begin_request(request: PraxisRequest) -> None:
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.ctx.request_id = request_id
        # Log lines, statement timing and the request metrics read it from here on.
        context.begin(request_id, route_template(request))

    async def finish_request(request: PraxisRequest, response: BaseHTTPResponse) -> None:
        response.headers[REQUEST_ID_HEADER] = ensure_request_id(request)

    # Highest priority: the request id exists before any other middleware can fail.
    app.register_middleware(begin_request, "request", priority=100)
    app.register_middleware(finish_request, "response", priority=100)


def route_template(request: PraxisRequest) -> str | None:
    """The matched route's template (``/api/v1/sessions/<id>``), never the raw path."""
    route = request.route
    if route is None:
        return None
    return "/" + route.path.lstrip("/")
