"""Tracing: one SERVER span per request, PostgreSQL and Redis CLIENT spans beneath it (the
official asyncpg and redis instrumentations), exported over OTLP in batches.

The SDK reads the standard ``OTEL_*`` variables itself (sampler and its argument, batch sizes,
exporter endpoint, headers and timeouts); this module decides only what the SDK leaves open:
the exporter is off unless an endpoint is set, the protocol, the default service name, and that
``OTEL_SDK_DISABLED=true`` installs nothing at all (no middleware, no header, no cost).

Each Sanic worker is a process of its own: the provider and its export thread are created in
the worker's start listener, never inherited, and flushed and shut down when it stops.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

from observability.logging import failure_of, scrub

TRACEPARENT_HEADER = "traceparent"
DEFAULT_SERVICE_NAME = "praxis"
PROTOCOLS = ("http/protobuf", "grpc")
# Request middleware of higher priority runs first: the span must be current before the request
# id (100) and the rate limiter (90) run, so their log lines and Redis calls belong to it.
START_PRIORITY = 200
# Response middleware of higher priority runs later: end the span after everything else,
# including the 5xx log line, which names the span.
END_PRIORITY = 200
# Semantic conventions: any other method is reported as _OTHER and the span named "HTTP".
KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)
_EMPTY_CONTEXT = otel_context.Context()
# Instrumentors are process-wide singletons (they patch the client classes).
_ASYNCPG_INSTRUMENTOR = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]  # untyped upstream
_REDIS_INSTRUMENTOR = RedisInstrumentor()


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true"


def exporter_protocol(environ: Mapping[str, str] = os.environ) -> str | None:
    """The OTLP protocol to export with, or None when no endpoint is configured."""
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint:
        return None
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in PROTOCOLS:
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL must be one of {PROTOCOLS}: {protocol!r}")
    return protocol


def _exporter(protocol: str) -> SpanExporter:
    # Imported on demand: grpc costs ~100 ms of start-up and memory for every worker.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )

    return OTLPSpanExporter()


def _resource() -> Resource:
    """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES as the SDK reads them; ``praxis`` when
    neither names the service (the SDK would say ``unknown_service``)."""
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


class _ProcessTracing:
    """The process's provider, shared by the apps it serves (tests serve several at once)."""

    def __init__(self) -> None:
        self.users = 0
        self.provider: TracerProvider | None = None
        self.tracer: trace.Tracer = trace.NoOpTracer()

    def start(self) -> None:
        self.users += 1
        if self.provider is not None:
            return
        # No sampler given: the SDK applies OTEL_TRACES_SAMPLER/_ARG (parentbased_always_on).
        provider = TracerProvider(resource=_resource(), shutdown_on_exit=False)
        protocol = exporter_protocol()
        if protocol is not None:
            provider.add_span_processor(BatchSpanProcessor(_exporter(protocol)))
        _ASYNCPG_INSTRUMENTOR.instrument(tracer_provider=provider)
        _REDIS_INSTRUMENTOR.instrument(tracer_provider=provider)
        self.provider, self.tracer = provider, provider.get_tracer("praxis")

    def stop(self) -> None:
        self.users -= 1
        if self.users > 0 or self.provider is None:
            return
        _REDIS_INSTRUMENTOR.uninstrument()
        _ASYNCPG_INSTRUMENTOR.uninstrument()
        self.provider.shutdown()  # exports what is queued, then ends the export thread
        self.provider, self.tracer = None, trace.NoOpTracer()


_process = _ProcessTracing()


def install_tracing(app: Sanic[Any, Any]) -> None:
    """Trace every request ``app`` serves, unless OTEL_SDK_DISABLED=true."""
    if not tracing_enabled():
        return
    exporter_protocol()  # a wrong protocol fails at start-up, not in the export thread

    @app.before_server_start
    async def start_tracing(_: Sanic[Any, Any]) -> None:
        _process.start()

    @app.after_server_stop
    async def stop_tracing(_: Sanic[Any, Any]) -> None:
        _process.stop()

    app.register_middleware(start_server_span, "request", priority=START_PRIORITY)
    app.register_middleware(end_server_span, "response", priority=END_PRIORITY)


def server_span_name(method: str, route: str | None) -> str:
    if method not in KNOWN_METHODS:
        return "HTTP"
    return f"{method} {route}" if route else method


async def start_server_span(request: Request) -> None:
    route = request.route
    template = "/" + route.path.lstrip("/") if route is not None else None
    method = request.method
    attributes: dict[str, str | int] = {
        "http.request.method": method if method in KNOWN_METHODS else "_OTHER",
        "url.path": request.path,
        "url.scheme": request.scheme,
        "client.address": request.remote_addr or request.ip,
    }
    if method not in KNOWN_METHODS:
        attributes["http.request.method_original"] = method
    if template is not None:
        attributes["http.route"] = template
    # An empty base context: a keep-alive connection serves its requests in one task, so a span
    # left current by an earlier request must never become this one's parent.
    parent = propagate.extract(request.headers, context=_EMPTY_CONTEXT)
    span = _process.tracer.start_span(
        server_span_name(method, template), parent, SpanKind.SERVER, attributes
    )
    request.ctx.server_span = span
    request.ctx.server_span_token = otel_context.attach(trace.set_span_in_context(span, parent))


async def end_server_span(request: Request, response: BaseHTTPResponse) -> None:
    span: Span | None = getattr(request.ctx, "server_span", None)
    if span is None:
        return
    request.ctx.server_span = None
    span_context = span.get_span_context()
    response.headers[TRACEPARENT_HEADER] = (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{span_context.trace_flags:02x}"
    )
    if span.is_recording():
        _record_outcome(span, request, response.status)
    span.end()
    otel_context.detach(request.ctx.server_span_token)


def _record_outcome(span: Span, request: Request, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status < HTTPStatus.INTERNAL_SERVER_ERROR:
        return
    failure = failure_of(request)
    if failure is not None:
        # What the log line says, scrubbed the same way: a collector is no place for secrets.
        span.record_exception(
            failure,
            attributes={
                "exception.message": scrub(str(failure)),
                "exception.stacktrace": scrub("".join(traceback.format_exception(failure))),
            },
        )
        span.set_attribute("error.type", type(failure).__qualname__)
        span.set_status(Status(StatusCode.ERROR, type(failure).__name__))
    else:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))
