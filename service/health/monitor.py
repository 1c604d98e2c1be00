"""What each worker reports about itself without being asked: its dependencies as they are now
(a probe every few seconds, and every real success or failure in between), its CPU, memory and
descriptors, and its statements' timing. Wired by ``install_monitoring``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from observability import metrics, statements
from observability.http_metrics import install_request_metrics
from service.app_context import PraxisApp
from service.health import service
from service.infra import pg_pool
from service.infra.redis_client import RedisBreaker

logger = logging.getLogger("praxis.health")

PROBE_INTERVAL_SECONDS = 5.0


class ReportingBreaker(RedisBreaker):
    """The shared Redis breaker, reporting every real Redis success or failure as
    ``praxis_dependency_up{dependency="redis"}`` (written only when it changes)."""

    def record_failure(self) -> None:
        super().record_failure()
        metrics.set_dependency_up("redis", False)

    def record_success(self) -> None:
        super().record_success()
        metrics.set_dependency_up("redis", True)


async def probe_dependencies(app: PraxisApp) -> None:
    """One round: each dependency with the readiness checks' short timeout. No Redis configured
    counts as down: the in-process fallbacks serve, but what needs Redis is not there."""
    probe = app.ctx.database_probe
    if probe is None:
        raise RuntimeError("the dependency probe runs only after the start listener made it")
    database, redis = await asyncio.gather(probe.reachable(), service.check_redis(app.ctx.redis))
    metrics.set_dependency_up("database", database)
    metrics.set_dependency_up("redis", redis.status == "pass")
    metrics.sample_process()


async def _watch(app: PraxisApp) -> None:
    while True:
        await asyncio.sleep(PROBE_INTERVAL_SECONDS)
        try:
            await probe_dependencies(app)
        except Exception:  # a probe that breaks must not end the watch
            logger.exception("dependency probe failed")


def install_monitoring(app: PraxisApp) -> None:
    settings = app.ctx.settings
    # Now, before any OpenTelemetry asyncpg instrumentation set up later wraps the same methods
    # around this hook: its CLIENT span then shows the statement without the comment, and the
    # comment's traceparent names that span.
    statements.install(settings.slow_query_ms, settings.sql_comment_traceparent)
    install_request_metrics(app)

    @app.before_server_start
    async def start_monitoring(app: PraxisApp) -> None:
        metrics.start_worker()
        app.ctx.database_probe = service.DatabaseProbe(
            app.ctx.database_url, pg_pool.driver_options(settings.db_pgbouncer)
        )
        await probe_dependencies(app)  # known before the first request and the first scrape
        app.ctx.dependency_watch = asyncio.create_task(_watch(app))

    @app.after_server_stop
    async def stop_monitoring(app: PraxisApp) -> None:
        watch, probe = app.ctx.dependency_watch, app.ctx.database_probe
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        if probe is not None:
            probe.close()
        metrics.forget_process(os.getpid())
