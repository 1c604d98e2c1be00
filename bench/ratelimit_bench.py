"""Rate limiter benchmark: what one limiter decision (one EVALSHA to Redis) costs in throughput.

    uv run python -m bench.ratelimit_bench      # 3 rounds x 10 s per mode, 32 connections
    uv run python -m bench.ratelimit_bench --rounds 5 --duration 15 --connections 64

``make bench`` runs it too, as one scenario of bench.suite (``compare``), on the suite's
database with its rounds, duration and connections.

Serves ``praxis serve`` (one worker) in two modes, alternating, each round starting a fresh
process: "on" with quotas so large that every request is allowed yet still pays its Redis call,
and "off" with RATE_LIMIT_ENABLED=false (no limiter at all). The load is ``GET /api/v1/users/me``
without a token: limited, answered 401 before any database work, so the limiter is a large part
of what is measured. Load comes from ``wrk`` when installed (``apt-get install wrk``), else from
a small asyncio client in this process, which is slower and saturates first.

On a machine with few cores the load generator competes with the server for CPU: the figures are
relative (on vs. off on the same machine in the same run), not capacity numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

from bench.driver import find_wrk, fmt, free_port, say, server_env, serving, warm_up_and_load
from service.infra.redis_client import LOCAL_REDIS_URL, redis_answers

PATH = "/api/v1/users/me"
HUGE_QUOTA = "100000000/hour"  # ~28 k/s per client: every request allowed, every one decided


def main() -> int:
    args = parse_args()
    redis_url = os.environ.get("REDIS_URL", LOCAL_REDIS_URL)
    if not asyncio.run(redis_answers(redis_url)):
        print(f"no Redis answers at {redis_url}; set REDIS_URL", file=sys.stderr)  # noqa: T201
        return 1
    results = compare(args.rounds, args.duration, args.connections, redis_url, find_wrk())
    report(results, args)
    return 0


def compare(
    rounds: int, duration: int, connections: int, redis_url: str, wrk: str | None, **env: str
) -> dict[str, list[float]]:
    """Requests per second of each mode in each round; ``env`` on top of each server's."""
    results: dict[str, list[float]] = {"on": [], "off": []}
    for round_number in range(1, rounds + 1):
        # Alternate which mode goes first, so drift (thermal, other load) hits both alike.
        modes = ("on", "off") if round_number % 2 else ("off", "on")
        for mode in modes:
            rate = measure(mode, duration, connections, redis_url, wrk, env)
            results[mode].append(rate)
            say(f"round {round_number} limiter {mode:>3}: {rate:9.0f} req/s")
    return results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    return parser.parse_args()


def measure(
    mode: str,
    duration: int,
    connections: int,
    redis_url: str,
    wrk: str | None,
    extra_env: dict[str, str],
) -> float:
    with tempfile.TemporaryDirectory(prefix="praxis-bench-") as data_dir:
        env = server_env(
            free_port(),
            Path(data_dir),
            redis_url,
            RATE_LIMIT_ENABLED="true" if mode == "on" else "false",
            RATE_LIMIT_ANON=HUGE_QUOTA,
            RATE_LIMIT_USER=HUGE_QUOTA,
            **extra_env,
        )
        with serving(env, Path(data_dir)) as base_url:
            rate = warm_up_and_load(base_url, PATH, duration, connections, wrk)
            check_decisions(base_url, mode)
        fallbacks = (Path(data_dir) / "server.log").read_text().count("Redis call failed")
        if fallbacks:
            say(f"  note: the limiter fell back to in-process {fallbacks} time(s) in this round")
        return rate


def check_decisions(base_url: str, mode: str) -> None:
    """Every measured request was decided (on) or none was (off), and none was refused."""
    exposition = httpx.get(base_url + "/metrics", timeout=5).text
    limited, allowed = decisions(exposition, "limited"), decisions(exposition, "allowed")
    if limited:
        raise SystemExit(f"{limited:.0f} requests were refused: the quota is not large enough")
    if (mode == "on") != (allowed > 0):
        raise SystemExit(f"limiter {mode} but {allowed:.0f} decisions were counted")


def decisions(exposition: str, decision: str) -> float:
    return sum(
        float(line.split()[-1])
        for line in exposition.splitlines()
        if line.startswith("praxis_rate_limit_decisions_total{")
        and f'decision="{decision}"' in line
    )


def report(results: dict[str, list[float]], args: argparse.Namespace) -> None:
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    say("")
    say(f"GET {PATH} (401, limited), 1 worker, {args.connections} connections, ")
    say(f"{args.rounds} rounds x {args.duration} s per mode")
    say(f"median limiter on : {on:9.0f} req/s  {fmt(results['on'])}")
    say(f"median limiter off: {off:9.0f} req/s  {fmt(results['off'])}")
    say(f"on / off          : {on / off:9.2f}  (cost per request ~{1e6 / on - 1e6 / off:.0f} µs)")
    say("the load generator runs on the same CPUs: compare the modes, not the absolute figures")


if __name__ == "__main__":
    sys.exit(main())
