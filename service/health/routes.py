from __future__ import annotations

import asyncio
from typing import Any

from sanic import Blueprint
from sanic.response import HTTPResponse, raw

from observability.metrics import exposition
from service.app_context import PraxisRequest
from service.health import service
from service.health.schemas import HealthOut
from service.kit.openapi_docs import PrometheusText, documented
from service.kit.web import json_response

HEALTH_CONTENT_TYPE = "application/health+json"
NO_STORE = {"Cache-Control": "no-store"}

health_bp = Blueprint("health", url_prefix="/health")
metrics_bp = Blueprint("metrics")


def _health(body: dict[str, Any], status: int = 200) -> HTTPResponse:
    response = json_response(body, status=status, headers=NO_STORE)
    response.content_type = HEALTH_CONTENT_TYPE
    return response


@health_bp.get("", strict_slashes=True)
@documented(
    "Liveness: the process answers; no dependency is checked",
    "Operations",
    description="For a load balancer's liveness probe; never rate limited or cached.",
    responses={200: HealthOut},
    rate_limited=False,
    media_type=HEALTH_CONTENT_TYPE,
)
async def liveness(_: PraxisRequest) -> HTTPResponse:
    return _health({"status": "pass", "description": "praxis liveness"})


@health_bp.get("/ready")
@documented(
    "Readiness: database and Redis, each with a short timeout",
    "Operations",
    description="`pass`; `warn` when Redis is down and in-process fallbacks serve (still 200); "
    "`fail` (503) when the database is down or the process is shutting down.",
    responses={200: HealthOut, 503: HealthOut},
    rate_limited=False,
    media_type=HEALTH_CONTENT_TYPE,
)
async def readiness(request: PraxisRequest) -> HTTPResponse:
    if request.app.ctx.draining:
        return _health({"status": "fail", "output": "shutting down", "checks": {}}, status=503)
    probe = request.app.ctx.database_probe
    if probe is None:
        return _health({"status": "fail", "output": "starting", "checks": {}}, status=503)
    database, redis = await asyncio.gather(
        probe.check(), service.check_redis(request.app.ctx.redis)
    )
    status = service.overall_status([database, redis])
    body = {
        "status": status,
        "checks": {
            "database": [database.as_json("datastore")],
            "redis": [redis.as_json("datastore")],
        },
    }
    return _health(body, status=503 if status == "fail" else 200)


@metrics_bp.get("/metrics")
@documented(
    "Prometheus exposition of every worker's metrics (OpenMetrics when accepted)",
    "Operations",
    description="The Prometheus text format, all workers summed; for the scraper.",
    responses={200: PrometheusText},
    rate_limited=False,
    media_type="text/plain",
)
async def metrics(request: PraxisRequest) -> HTTPResponse:
    body, content_type = exposition(request.headers.get("accept"))
    return raw(body, content_type=content_type, headers=NO_STORE)
