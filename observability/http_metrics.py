"""Per-request HTTP metrics: counted, timed and held in flight between a request middleware
and a response middleware, with the route template as label (never the raw path)."""

from __future__ import annotations

import time
from typing import Any

from sanic import Request, Sanic
from sanic.models.server_types import ConnInfo
from sanic.response import BaseHTTPResponse

from observability import context, metrics

# Probes and scrapes are counted in praxis_http_requests_total (a failing readiness shows
# there), but kept out of the latency, in-flight and query histograms: they would drown the
# SLOs in fast, frequent, uninteresting requests.
UNMEASURED_ROUTES = ("/health", "/metrics")
# Right after the request id and request context exist; the response side runs last, so the
# time and status include every other middleware.
REQUEST_PRIORITY = 99
RESPONSE_PRIORITY = -1000


class _Observed:
    __slots__ = ("method", "route", "measured", "started", "request_context")

    def __init__(
        self,
        method: str,
        route: str,
        measured: bool,
        request_context: context.RequestContext | None,
    ) -> None:
        self.method = method
        self.route = route
        self.measured = measured
        self.started = time.perf_counter()
        self.request_context = request_context


def install_request_metrics(app: Sanic[Any, Any]) -> None:
    app.register_middleware(_begin, "request", priority=REQUEST_PRIORITY)
    app.register_middleware(_finish, "response", priority=RESPONSE_PRIORITY)
    # A client that disconnects cancels its handler: no response middleware runs then, and
    # the in-flight gauge must still come down.
    app.signal("http.lifecycle.complete")(_connection_closed)


async def _begin(request: Request) -> None:
    current = context.current()
    route = current.route if current and current.route else metrics.UNMATCHED_ROUTE
    measured = not route.startswith(UNMEASURED_ROUTES)
    observed = _Observed(metrics.method_label(request.method), route, measured, current)
    request.ctx.observed = observed
    if measured:
        metrics.HTTP_REQUESTS_IN_FLIGHT.inc()
        if request.conn_info is not None:
            request.conn_info.ctx.unfinished = observed


async def _finish(request: Request, response: BaseHTTPResponse) -> None:
    observed: _Observed | None = getattr(request.ctx, "observed", None)
    if observed is None:
        return
    request.ctx.observed = None
    if observed.measured:
        _leave(request.conn_info)
    served = observed.request_context
    queries = served.queries if served is not None else 0
    metrics.record_request(
        observed.method,
        observed.route,
        response.status,
        time.perf_counter() - observed.started,
        queries,
        observed.measured,
    )


def _leave(conn_info: ConnInfo | None) -> None:
    metrics.HTTP_REQUESTS_IN_FLIGHT.dec()
    if conn_info is not None:
        conn_info.ctx.unfinished = None


async def _connection_closed(conn_info: ConnInfo) -> None:
    if getattr(conn_info.ctx, "unfinished", None) is not None:
        _leave(conn_info)
