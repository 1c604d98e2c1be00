"""Tracing benchmark: what tracing costs in throughput: on, exporting, sampled, and off.

    uv run python -m bench.tracing_bench        # 3 rounds x 10 s per mode, 32 connections
    uv run python -m bench.tracing_bench --rounds 5 --duration 15 --connections 64

``make bench`` runs it too, as one scenario of bench.suite (``compare``), on the suite's
database with its rounds, duration and connections.

Serves ``praxis serve`` (one worker) in four modes, a fresh process each, the order rotating
from round to round: **on** (tracing on, no exporter: spans are created and dropped), **export**
(tracing on, exporting over OTLP/HTTP to a minimal receiver this script runs on 127.0.0.1, which
decodes each batch to count the spans and answers 200), **sample** (exporting, with
``OTEL_TRACES_SAMPLER=parentbased_traceidratio`` and ``_ARG=0.1``: the production knob) and
**off** (``OTEL_SDK_DISABLED=true``: no middleware at all). The load is
``GET /api/v1/content/<slug>`` of a published item, served from the cache: the rate limiter's
and the cache's Redis calls are two CLIENT spans beneath the SERVER span. Needs PostgreSQL
(``DATABASE_URL``, default ``auto``; the demo data is seeded into an empty database) and Redis
(``REDIS_URL``, default ``redis://127.0.0.1:6379/0``).

The load generator, receiver and server share the machine's CPUs: compare the modes of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from bench import tracing_floor
from bench.driver import find_wrk, fmt, free_port, say, server_env, serving, warm_up_and_load
from service.infra.redis_client import LOCAL_REDIS_URL, redis_answers

MODES = ("on", "export", "sample", "off")
# The production knob: a tenth of the traces recorded and exported, the rest only propagated.
SAMPLED_SHARE = "0.1"
HUGE_QUOTA = "100000000/hour"  # every request allowed, every one still decided (one EVALSHA)
TARGET_EXPORT_RATIO = 0.85


@dataclass
class Receiver:
    """Counts what arrives; the counts tell whether the exporter kept up or dropped spans."""

    endpoint: str = ""
    spans: int = 0
    batches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        scopes = [scope for resource in request.resource_spans for scope in resource.scope_spans]
        count = sum(len(scope.spans) for scope in scopes)
        with self.lock:
            self.spans += count
            self.batches += 1

    def reset(self) -> None:
        with self.lock:
            self.spans = self.batches = 0


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    answer = ExportTraceServiceResponse().SerializeToString()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server dispatches to
            receiver.take(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main() -> int:
    args = parse_args()
    redis_url = os.environ.get("REDIS_URL", LOCAL_REDIS_URL)
    if not asyncio.run(redis_answers(redis_url)):
        say(f"no Redis answers at {redis_url}; set REDIS_URL")
        return 1
    results, path = compare(args.rounds, args.duration, args.connections, redis_url, find_wrk())
    return report(results, args, path, tracing_floor.measure(redis_url))


def compare(
    rounds: int, duration: int, connections: int, redis_url: str, wrk: str | None, **env: str
) -> tuple[dict[str, list[float]], str]:
    """Requests per second of each mode in each round, and the path loaded; ``env`` on top of
    each server's."""
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    with otlp_receiver() as receiver:
        path = content_path(redis_url, env)
        say(f"load: GET {path} (cached)")
        for round_number in range(rounds):
            # Rotate the order, so drift (thermal, other load) hits every mode alike.
            shift = round_number % len(MODES)
            for mode in MODES[shift:] + MODES[:shift]:
                receiver.reset()
                changes = {**env, **mode_env(mode, receiver)}
                rate = measure(mode, path, duration, connections, redis_url, changes, wrk)
                results[mode].append(rate)
                note = f"  ({receiver.spans} spans received)" if receiver.spans else ""
                say(f"round {round_number + 1} tracing {mode:>6}: {rate:9.0f} req/s{note}")
    return results, path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    return parser.parse_args()


def mode_env(mode: str, receiver: Receiver) -> dict[str, str]:
    if mode == "off":
        return {"OTEL_SDK_DISABLED": "true"}
    if mode == "export":
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
    if mode == "sample":
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": SAMPLED_SHARE,
        }
    return {}


def measure(
    mode: str,
    path: str,
    duration: int,
    connections: int,
    redis_url: str,
    changes: dict[str, str],
    wrk: str | None,
) -> float:
    with tempfile.TemporaryDirectory(prefix="praxis-bench-") as data_dir:
        env = bench_env(Path(data_dir), redis_url, **changes)
        with serving(env, Path(data_dir)) as base_url:
            traced = "traceparent" in httpx.get(base_url + path, timeout=5).headers
            if traced != (mode != "off"):
                raise SystemExit(f"tracing {mode}, yet traceparent sent: {traced}")
            return warm_up_and_load(base_url, path, duration, connections, wrk)


def bench_env(data_dir: Path, redis_url: str, **changes: str) -> dict[str, str]:
    env = server_env(
        free_port(),
        data_dir,
        redis_url,
        RATE_LIMIT_ANON=HUGE_QUOTA,
        RATE_LIMIT_USER=HUGE_QUOTA,
        **changes,
    )
    # The caller's own OTEL_* settings would blur the modes: only the mode's apply.
    return {k: v for k, v in env.items() if not k.startswith("OTEL_") or k in changes}


def content_path(redis_url: str, changes: dict[str, str]) -> str:
    """A published item's detail path, seeding the demo data into an empty database first."""
    with tempfile.TemporaryDirectory(prefix="praxis-bench-") as data_dir:
        env = bench_env(Path(data_dir), redis_url, **{**changes, "OTEL_SDK_DISABLED": "true"})
        subprocess.run(
            [sys.executable, "-m", "service", "seed", "--demo", "--if-empty"], env=env, check=True
        )
        with serving(env, Path(data_dir)) as base_url:
            items = httpx.get(base_url + "/api/v1/content?limit=1", timeout=10).json()["items"]
    if not items:
        raise SystemExit("no published content to read; seed some (praxis seed --content 10)")
    return f"/api/v1/content/{items[0]['slug']}"


def report(
    results: dict[str, list[float]],
    args: argparse.Namespace,
    path: str,
    floor: tracing_floor.Floor,
) -> int:
    medians = {mode: statistics.median(rates) for mode, rates in results.items()}
    off = medians["off"]
    say("")
    say(f"GET {path} (cached), 1 worker, {args.connections} connections, ")
    say(f"{args.rounds} rounds x {args.duration} s per mode")
    for mode in MODES:
        say(f"median tracing {mode:>6}: {medians[mode]:9.0f} req/s  {fmt(results[mode])}")
    for mode in MODES[:-1]:
        cost = 1e6 / medians[mode] - 1e6 / off
        say(f"{mode:>6} / off: {medians[mode] / off:9.2f}  (~{cost:.0f} µs per request)")
    ratio = medians["export"] / off
    verdict = "meets" if ratio >= TARGET_EXPORT_RATIO else "misses"
    say(f"export / off {ratio:.2f} {verdict} the target of {TARGET_EXPORT_RATIO}")
    for line in tracing_floor.describe(floor, off):
        say(line)
    say("the load generator runs on the same CPUs: compare the modes, not the absolute figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
