"""Tracing as it leaves a real ``praxis serve`` (two workers): spans received by a local OTLP
receiver, decoded from the protobuf the exporter sent. Each scenario stops its server before
looking: the stop listener flushes every span, so what was not received was never exported."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.observability.otlp_receivers import (
    CLIENT,
    SERVER,
    ReceivedSpan,
    grpc_receiver,
    http_receiver,
)
from tests.observability.served import server_env, serving_process, traceparent_ids
from tests.support.processes import PRAXIS_SERVE

INCOMING_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
INCOMING_SPAN_ID = "b7ad6b7169203331"
UNSAMPLED_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PASSWORD = "tracing test password"
RESET_STATEMENT_MARKERS = ("RESET ALL", "pg_advisory_unlock_all", "UNLISTEN", "CLOSE ALL")


@dataclass
class TracedRun:
    spans: list[ReceivedSpan]
    content_list: httpx.Response
    register: httpx.Response
    unmatched: httpx.Response
    unsampled: httpx.Response

    def server_span(self, response: httpx.Response) -> ReceivedSpan:
        _, span_id, _ = traceparent_ids(response.headers.get("traceparent"))
        [span] = [s for s in self.spans if s.span_id == span_id]
        return span

    def children(self, parent: ReceivedSpan) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.parent_span_id == parent.span_id]


@pytest.fixture(scope="module")
def traced_run(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TracedRun]:
    logs = tmp_path_factory.mktemp("traced-run")
    with http_receiver() as (endpoint, received):
        env = server_env(database_url, logs, WORKERS="2", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
        with (
            serving_process(PRAXIS_SERVE, env, logs) as served,
            httpx.Client(base_url=served.base_url, timeout=10) as http,
        ):
            incoming = f"00-{INCOMING_TRACE_ID}-{INCOMING_SPAN_ID}-01"
            content_list = http.get("/api/v1/content", headers={"traceparent": incoming})
            account = {"email": "traced@example.com", "password": PASSWORD}
            register = http.post("/api/v1/auth/register", json=account | {"display_name": "T"})
            unmatched = http.get("/no/such/path")
            unsampled = http.get(
                "/health", headers={"traceparent": f"00-{UNSAMPLED_TRACE_ID}-{'1' * 16}-00"}
            )
        yield TracedRun(received.snapshot(), content_list, register, unmatched, unsampled)


def test_the_server_span_is_named_by_route_and_carries_the_http_attributes(
    traced_run: TracedRun,
) -> None:
    assert traced_run.content_list.status_code == 200
    span = traced_run.server_span(traced_run.content_list)
    assert span.kind == SERVER
    assert span.name == "GET /api/v1/content"
    assert span.service_name == "praxis"
    assert span.attributes["http.route"] == "/api/v1/content"
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["url.path"] == "/api/v1/content"
    assert span.attributes["client.address"] == "127.0.0.1"


def test_an_incoming_traceparent_is_the_parent_and_the_response_names_the_server_span(
    traced_run: TracedRun,
) -> None:
    trace_id, span_id, flags = traceparent_ids(traced_run.content_list.headers["traceparent"])
    span = traced_run.server_span(traced_run.content_list)
    assert (trace_id, flags) == (INCOMING_TRACE_ID, "01")
    assert span.trace_id == INCOMING_TRACE_ID
    assert span.span_id == span_id != INCOMING_SPAN_ID
    assert span.parent_span_id == INCOMING_SPAN_ID


def test_postgresql_and_redis_calls_are_client_spans_beneath_the_server_span(
    traced_run: TracedRun,
) -> None:
    span = traced_run.server_span(traced_run.content_list)
    children = traced_run.children(span)
    systems = {child.attributes.get("db.system") for child in children}
    assert systems == {"postgresql", "redis"}
    assert all(child.kind == CLIENT and child.trace_id == span.trace_id for child in children)
    # The rate limiter's script and the cache (Redis), the list query on a cache miss (SQL).
    assert len(children) >= 3


def test_statements_carry_no_parameter_values(traced_run: TracedRun) -> None:
    span = traced_run.server_span(traced_run.register)
    assert traced_run.register.status_code == 201
    statements = [
        str(child.attributes.get("db.statement")).strip()
        for child in traced_run.children(span)
        if child.attributes.get("db.system") == "postgresql"
    ]
    assert any(statement.startswith("INSERT") for statement in statements)
    assert all("$1" in s for s in statements if s.startswith(("INSERT", "SELECT")))
    for received in traced_run.spans:
        assert "db.statement.parameters" not in received.attributes
        assert not any("traced@example.com" in str(v) for v in received.attributes.values())


def test_the_pool_reset_statement_is_not_traced(traced_run: TracedRun) -> None:
    statements = [str(s.attributes.get("db.statement", "")) for s in traced_run.spans]
    assert any(statements), "no statement spans at all: the check below would prove nothing"
    for marker in RESET_STATEMENT_MARKERS:
        assert not [s for s in statements if marker in s], marker


def test_an_unmatched_route_is_traced_without_a_route(traced_run: TracedRun) -> None:
    assert traced_run.unmatched.status_code == 404
    span = traced_run.server_span(traced_run.unmatched)
    assert span.name == "GET"
    assert "http.route" not in span.attributes
    assert span.attributes["http.response.status_code"] == 404
    assert span.attributes["url.path"] == "/no/such/path"
    assert span.status_code != 2  # a 404 is the client's error, not the server's


def test_an_unsampled_parent_is_followed_by_the_default_sampler(traced_run: TracedRun) -> None:
    trace_id, _, flags = traceparent_ids(traced_run.unsampled.headers["traceparent"])
    assert (trace_id, flags) == (UNSAMPLED_TRACE_ID, "00")
    assert not [s for s in traced_run.spans if s.trace_id == UNSAMPLED_TRACE_ID]


def test_with_the_sdk_disabled_nothing_is_traced_or_exported(
    database_url: str, tmp_path: Path
) -> None:
    with http_receiver() as (endpoint, received):
        env = server_env(
            database_url, tmp_path, OTEL_SDK_DISABLED="true", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint
        )
        with serving_process(PRAXIS_SERVE, env, tmp_path) as served:
            responses = [
                httpx.get(served.base_url + "/api/v1/content", timeout=10),
                httpx.get(served.base_url + "/no/such/path", timeout=10),
            ]
        assert [r.status_code for r in responses] == [200, 404]
        assert all("traceparent" not in r.headers for r in responses)
        assert received.snapshot() == []


def test_spans_are_exported_over_grpc_when_asked(database_url: str, tmp_path: Path) -> None:
    with grpc_receiver() as (endpoint, received):
        env = server_env(
            database_url,
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
            OTEL_SERVICE_NAME="praxis-grpc-test",
        )
        with serving_process(PRAXIS_SERVE, env, tmp_path) as served:
            response = httpx.get(served.base_url + "/api/v1/content", timeout=10)
        _, span_id, _ = traceparent_ids(response.headers["traceparent"])
        [span] = [s for s in received.snapshot() if s.span_id == span_id]
        assert (span.name, span.kind, span.service_name) == (
            "GET /api/v1/content",
            SERVER,
            "praxis-grpc-test",
        )
