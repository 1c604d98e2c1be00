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


def test_a_floor_caps_the_ratio_by_the_share_of_a_second_its_requests_spend_on_spans() -> None:
    floor = tracing_floor.Floor(server_span_us=50, redis_span_us=150, redis_command_us=100)
    # 1 000 untraced requests a second take 200 ms of spans more: at best 1 / 1.2 of the rate.
    assert floor.best_ratio(1000) == pytest.approx(1 / 1.2)
    assert "caps on / off at 0.83" in tracing_floor.describe(floor, 1000)[-1]


def test_the_floor_is_measured_on_a_real_redis_in_a_process_of_its_own() -> None:
    # Its own process: instrumentors are process-wide singletons, and uninstrumenting here
    # would strip the spans of the apps this test run serves.
    measured = subprocess.run(
        [sys.executable, "-m", "bench.tracing_floor", "--spans", "500", "--commands", "500"],
        env={**os.environ, "REDIS_URL": REDIS_URL},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = re.fullmatch(
        r"SDK floor: SERVER span (\d+) µs \+ Redis CLIENT span (-?\d+) µs = (\d+) µs .*\n"
        r"an untraced Redis command: (\d+) µs of CPU\n",
        measured.stdout,
    )
    assert figures is not None, measured.stdout
    server, redis_span, total, command = (int(figure) for figure in figures.groups())
    assert server > 0
    assert command > 0
    assert redis_span > 0
    assert abs(total - server - redis_span) <= 1  # each figure rounded on its own
