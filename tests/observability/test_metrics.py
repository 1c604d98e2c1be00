"""Request metrics of one worker (the default registry, as with WORKERS=1): labels by route
template, exemplars with the trace id in the OpenMetrics exposition, and the in-flight gauge
when a client goes away mid-request."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY
from sanic import Request, Sanic
from sanic.response import HTTPResponse, empty

from tests.observability.scrape import SPEC_FAMILIES
from tests.support.processes import free_port, praxis_serve
from tests.support.servers import Api, ServeVariant

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
TAGS = "/api/v1/tags"
tracer = TracerProvider().get_tracer("tests")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_labelled_by_route_template_and_unmatched_paths_share_one_label(
    api: Api,
) -> None:
    counted = "praxis_http_requests_total"
    before = sample(counted, method="GET", route="unmatched", status="404")
    before_tags = sample(counted, method="GET", route=TAGS, status="200")

    assert api.get("/no/such/path/1").status_code == 404
    assert api.get("/no/such/path/2").status_code == 404
    assert api.get(TAGS).status_code == 200

    assert sample(counted, method="GET", route="unmatched", status="404") - before == 2
    assert sample(counted, method="GET", route=TAGS, status="200") - before_tags == 1
    queries = sample("praxis_db_queries_per_request_count", route=TAGS)
    assert queries >= 1


def with_a_span_per_request(trace_ids: list[str]) -> Any:
    """What the tracing middleware does: a span current for the rest of the request."""

    def configure(app: Sanic[Any, Any]) -> None:
        async def start_span(request: Request) -> None:
            span = tracer.start_span(f"{request.method} {request.path}")
            otel_context.attach(trace.set_span_in_context(span))
            trace_ids.append(format(span.get_span_context().trace_id, "032x"))

        app.register_middleware(start_span, "request", priority=200)

    return configure


def test_openmetrics_scrapes_get_the_trace_id_as_exemplar_of_the_duration(
    other_app: ServeVariant,
) -> None:
    trace_ids: list[str] = []
    client = other_app(configure=with_a_span_per_request(trace_ids))
    assert client.get(TAGS).status_code == 200

    openmetrics = client.get("/metrics", headers={"Accept": OPENMETRICS})
    text = client.get("/metrics")

    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert f'# {{trace_id="{trace_ids[0]}"}}' in openmetrics.text
    assert openmetrics.text.endswith("# EOF\n")
    assert text.headers["content-type"].startswith("text/plain")
    assert "trace_id" not in text.text  # the classic text format has no exemplars


def test_a_client_that_leaves_mid_request_is_no_longer_in_flight(other_app: ServeVariant) -> None:
    entered = asyncio.Event()

    def configure(app: Sanic[Any, Any]) -> None:
        @app.get("/test/never-answers")
        async def never_answers(_: Request) -> HTTPResponse:
            entered.set()
            await asyncio.Event().wait()
            return empty()

    client = other_app(configure=configure)
    in_flight = sample("praxis_http_requests_in_flight")

    async def leave_mid_request() -> None:
        async with httpx.AsyncClient(base_url=client.srv.base_url) as http:
            request = asyncio.create_task(http.get("/test/never-answers"))
            await entered.wait()
            assert sample("praxis_http_requests_in_flight") == in_flight + 1
            request.cancel()  # closes the connection

    client.srv.run(leave_mid_request())
    deadline = time.monotonic() + 5
    while sample("praxis_http_requests_in_flight") != in_flight and time.monotonic() < deadline:
        client.srv.run(asyncio.sleep(0.01))  # the server notices the closed connection

    assert sample("praxis_http_requests_in_flight") == in_flight


def test_one_worker_serves_its_own_registry(database_url: str, tmp_path: Path) -> None:
    """WORKERS=1 is not multiprocess mode: exemplars work, and process metrics are fresh."""
    port = free_port()
    env = {
        "ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": "none",
        "PORT": str(port),
        "WORKERS": "1",
        "JWT_SECRET": "one-worker-secret-" + "x" * 40,
        "DATA_DIR": str(tmp_path / "data"),
    }
    with praxis_serve(env, tmp_path / "server.log"):
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Accept": OPENMETRICS})

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert not (tmp_path / "data" / "metrics").exists()
    assert "\nprocess_resident_memory_bytes " in response.text  # the scraped worker's own
    for family in SPEC_FAMILIES:
        assert f"# TYPE {family} " in response.text
