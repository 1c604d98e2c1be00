"""Running the HTTP server with Sanic's worker manager."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from sanic import Sanic
from sanic.worker.loader import AppLoader

from observability import metrics
from observability.logging import configure_logging
from service.app import create_app
from service.app_context import PraxisApp
from service.config import Settings

# Sanic finishes in-flight requests for up to this long after SIGTERM, inside the 30 s budget.
GRACEFUL_SHUTDOWN_SECONDS = 25.0


def app_from_environment() -> PraxisApp:
    """Factory each worker calls: settings come from the environment the CLI prepared. Workers
    are fresh processes, so they set up logging themselves (after creating the app, which
    installs Sanic's own log handlers) and tracing (in a start listener of the app)."""
    settings = Settings()
    app = create_app(settings)
    configure_logging(settings.effective_log_format, settings.log_level)
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACEFUL_SHUTDOWN_SECONDS
    return app


def run_server(
    settings: Settings, factory: Callable[[], Sanic[Any, Any]] = app_from_environment
) -> None:
    """Serve the app ``factory`` builds (in each worker; an importable module-level function)."""
    loader = AppLoader(factory=factory)
    app = loader.load()
    app.prepare(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        motd=False,
    )
    # This main process only manages workers; creating the app gave it zero-valued gauges.
    metrics.forget_process(os.getpid())
    Sanic.serve(primary=app, app_loader=loader)
