"""What the OpenTelemetry SDK and the clients cost by themselves, before any line of Praxis runs:
the CPU time of one SERVER span as the service records it, of one Redis command (redis-py) and one
SQL statement (asyncpg), each untraced, and what the official Redis and asyncpg instrumentations
add to them. A cached content read records a SERVER span and one Redis CLIENT span, so their sum
is a floor under tracing's cost per request, and bounds the on/off throughput ratio from above;
with the commands and statements a target must run, it bounds the target's ratio to a baseline.

    uv run python -m bench.tracing_floor              # 20 000 spans, 5 000 Redis GETs and SELECTs

``make bench`` prints it beside the tracing modes (bench.tracing_bench) and under its targets.
Needs Redis (``REDIS_URL``, default ``redis://127.0.0.1:6379/0``) and PostgreSQL
(``BENCH_ADMIN_URL``, default ``postgres://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from redis.asyncio import Redis

from bench.driver import ADMIN_URL, say
from service.infra.redis_client import LOCAL_REDIS_URL

# What observability.tracing puts on a SERVER span: five attributes at its start, the status
# code at its end, an incoming traceparent extracted and the outgoing one formatted.
SERVER_ATTRIBUTES: dict[str, str | int] = {
    "http.request.method": "GET",
    "url.path": "/api/v1/content/python-practice-1",
    "url.scheme": "http",
    "client.address": "127.0.0.1",
    "http.route": "/api/v1/content/<slug>",
}
INCOMING_HEADERS = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
KEY = "praxis-bench-floor"
VALUE = "x" * 2048  # about a cached content item's size
STATEMENT = "SELECT $1::int AS n"  # the least a statement can be: one bound value, one row
ROUNDS = 5


@dataclass(frozen=True)
class Floor:
    server_span_us: float
    redis_span_us: float
    # An untraced redis-py GET: what the limiter's one Redis call costs the worker by itself.
    redis_command_us: float
    statement_span_us: float
    statement_us: float  # an untraced asyncpg fetch of the least statement

    @property
    def cached_read_us(self) -> float:
        """A cached read's spans: its SERVER span and the rate limiter's one Redis call."""
        return self.server_span_us + self.redis_span_us

    def least_request_us(self, hello_us: float, redis_commands: int, statements: int) -> float:
        """The least CPU a traced request can take: a bare hello's, its SERVER span, and each
        Redis command and SQL statement it must run with its CLIENT span."""
        redis = redis_commands * (self.redis_command_us + self.redis_span_us)
        sql = statements * (self.statement_us + self.statement_span_us)
        return hello_us + self.server_span_us + redis + sql

    def best_ratio(self, untraced_rate: float) -> float:
        """The highest on/off throughput ratio the SDK leaves possible when untraced requests
        run at ``untraced_rate`` per second and tracing costs nothing beyond this floor."""
        return 1 / (1 + self.cached_read_us * untraced_rate / 1e6)


def cpu_us_per_call(work: Callable[[], object], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        work()
    return (time.process_time() - started) / calls * 1e6


def server_span(tracer: trace.Tracer) -> str:
    """One SERVER span's life; the ``traceparent`` the response would carry."""
    parent = propagate.extract(INCOMING_HEADERS, context=otel_context.Context())
    name = "GET /api/v1/content/<slug>"
    span = tracer.start_span(name, parent, SpanKind.SERVER, SERVER_ATTRIBUTES)
    token = otel_context.attach(trace.set_span_in_context(span, parent))
    ids = span.get_span_context()
    traceparent = f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"
    span.set_attribute("http.response.status_code", 200)
    span.end()
    otel_context.detach(token)
    return traceparent


async def cpu_us_per_await(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """CPU time of one ``await call()``, awaited one at a time (waiting costs no CPU)."""
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / calls * 1e6


async def redis_get_us(url: str, calls: int) -> float:
    """CPU time of one GET of a cached item's size."""
    client = Redis.from_url(url)
    try:
        await client.set(KEY, VALUE, ex=60)
        return await cpu_us_per_await(lambda: client.get(KEY), calls)
    finally:
        await client.aclose()


async def statement_us(url: str, calls: int) -> float:
    """CPU time of one asyncpg fetch of ``STATEMENT``."""
    connection = await asyncpg.connect(url)
    try:
        await connection.fetch(STATEMENT, 1)  # prepared once, as asyncpg's cache keeps it
        return await cpu_us_per_await(lambda: connection.fetch(STATEMENT, 1), calls)
    finally:
        await connection.close()


Instrumentor = RedisInstrumentor | AsyncPGInstrumentor


def _timing(
    timed: Callable[[str, int], Coroutine[None, None, float]], url: str, calls: int
) -> Callable[[], float]:
    return lambda: asyncio.run(timed(url, calls))


def untraced_and_traced(
    instrumentor: Instrumentor, provider: TracerProvider, timed: Callable[[], float]
) -> tuple[float, float]:
    """``timed()`` without, then with ``instrumentor``'s spans."""
    untraced = timed()
    instrumentor.instrument(tracer_provider=provider)
    try:
        return untraced, timed()
    finally:
        instrumentor.uninstrument()


def medians(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """The untraced median, and what the spans add to it (median of traced minus untraced)."""
    untraced = statistics.median(pair[0] for pair in pairs)
    return untraced, statistics.median(pair[1] for pair in pairs) - untraced


def measure(
    redis_url: str, database_url: str = ADMIN_URL, spans: int = 20_000, commands: int = 5_000
) -> Floor:
    """Medians of ``ROUNDS`` alternating rounds; a provider without processors, as tracing on
    without an exporter: exporting only adds to this."""
    provider = TracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("praxis-floor")
    calls = commands // ROUNDS
    redis_get = _timing(redis_get_us, redis_url, calls)
    select = _timing(statement_us, database_url, calls)
    redis_spans = RedisInstrumentor()
    asyncpg_spans = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]  # untyped upstream
    server, redis, sql = [], [], []
    for _ in range(ROUNDS):
        server.append(cpu_us_per_call(lambda: server_span(tracer), spans // ROUNDS))
        redis.append(untraced_and_traced(redis_spans, provider, redis_get))
        sql.append(untraced_and_traced(asyncpg_spans, provider, select))
    provider.shutdown()
    redis_command, redis_span = medians(redis)
    statement, statement_span = medians(sql)
    return Floor(
        server_span_us=statistics.median(server),
        redis_span_us=redis_span,
        redis_command_us=redis_command,
        statement_span_us=statement_span,
        statement_us=statement,
    )


def describe(floor: Floor, untraced_rate: float | None = None) -> list[str]:
    spans = (
        f"SDK floor: SERVER span {floor.server_span_us:.0f} µs + Redis CLIENT span "
        f"{floor.redis_span_us:.0f} µs = {floor.cached_read_us:.0f} µs of CPU per cached read"
    )
    lines = [
        spans,
        f"an untraced Redis command: {floor.redis_command_us:.0f} µs of CPU",
        (
            f"an untraced SQL statement: {floor.statement_us:.0f} µs of CPU, its CLIENT span "
            f"{floor.statement_span_us:.0f} µs"
        ),
    ]
    if untraced_rate:
        lines.append(
            f"at {untraced_rate:.0f} req/s untraced, that floor alone caps on / off at "
            f"{floor.best_ratio(untraced_rate):.2f}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--commands", type=int, default=5_000)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", LOCAL_REDIS_URL)
    floor = measure(redis_url, ADMIN_URL, args.spans, args.commands)
    for line in describe(floor):
        say(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
