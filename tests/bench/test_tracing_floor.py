"""The SDK floor: what a SERVER span and an instrumented Redis command cost, and the on/off
ratio that cost alone leaves possible."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from opentelemetry.sdk.trace import TracerProvider

from bench import tracing_floor
from tests.support.caches import REDIS_URL


def test_the_measured_server_span_continues_the_incoming_trace() -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    traceparent = tracing_floor.server_span(provider.get_tracer("test"))
    incoming_trace_id = tracing_floor.INCOMING_HEADERS["traceparent"].split("-")[1]
    assert traceparent.split("-")[1] == incoming_trace_id


FLOOR = tracing_floor.Floor(
    server_span_us=50,
    redis_span_us=150,
    redis_command_us=100,
    statement_span_us=80,
    statement_us=60,
)


def test_a_floor_caps_the_ratio_by_the_share_of_a_second_its_requests_spend_on_spans() -> None:
    # 1 000 untraced requests a second take 200 ms of spans more: at best 1 / 1.2 of the rate.
    assert FLOOR.best_ratio(1000) == pytest.approx(1 / 1.2)
    assert "caps on / off at 0.83" in tracing_floor.describe(FLOOR, 1000)[-1]


def test_a_request_costs_at_least_a_hello_its_span_and_each_call_it_must_make_traced() -> None:
    assert FLOOR.least_request_us(hello_us=60, redis_commands=0, statements=0) == 60 + 50
    # one limiter call (100 + 150) and two statements (2 × (60 + 80))
    assert FLOOR.least_request_us(60, redis_commands=1, statements=2) == 110 + 250 + 280


def test_the_floor_is_measured_on_a_real_redis_and_postgresql_in_a_process_of_its_own(
    database_url: str,
) -> None:
    # Its own process: instrumentors are process-wide singletons, and uninstrumenting here
    # would strip the spans of the apps this test run serves.
    measured = subprocess.run(
        [sys.executable, "-m", "bench.tracing_floor", "--spans", "500", "--commands", "500"],
        env={**os.environ, "REDIS_URL": REDIS_URL, "BENCH_ADMIN_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = re.fullmatch(
        r"SDK floor: SERVER span (\d+) µs \+ Redis CLIENT span (-?\d+) µs = (\d+) µs .*\n"
        r"an untraced Redis command: (\d+) µs of CPU\n"
        r"an untraced SQL statement: (\d+) µs of CPU, its CLIENT span (-?\d+) µs\n",
        measured.stdout,
    )
    assert figures is not None, measured.stdout
    server, redis_span, total, command, statement, statement_span = (
        int(figure) for figure in figures.groups()
    )
    assert min(server, command, redis_span, statement, statement_span) > 0
    assert abs(total - server - redis_span) <= 1  # each figure rounded on its own
