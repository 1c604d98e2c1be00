"""Rate limiter benchmark: what one limiter decision (one EVALSHA to Redis) costs in throughput.

    make bench                                   # 3 rounds x 10 s per mode, 32 connections
    uv run python -m bench.ratelimit_bench --rounds 5 --duration 15 --connections 64

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
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from service.infra.redis_client import LOCAL_REDIS_URL, redis_answers

PATH = "/api/v1/users/me"
HUGE_QUOTA = "100000000/hour"  # ~28 k/s per client: every request allowed, every one decided
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
WARM_UP_SECONDS = 2


def main() -> int:
    args = parse_args()
    redis_url = os.environ.get("REDIS_URL", LOCAL_REDIS_URL)
    if not asyncio.run(redis_answers(redis_url)):
        print(f"no Redis answers at {redis_url}; set REDIS_URL", file=sys.stderr)  # noqa: T201
        return 1
    wrk = shutil.which("wrk")
    say(f"load generator: {'wrk' if wrk else 'asyncio client (wrk not installed)'}")
    if not wrk:
        say("  wrk is missing: `apt-get install wrk` for figures the client does not cap")
    say(f"cpus: {os.cpu_count()} (shared by server, Redis and load generator)")
    results: dict[str, list[float]] = {"on": [], "off": []}
    for round_number in range(1, args.rounds + 1):
        # Alternate which mode goes first, so drift (thermal, other load) hits both alike.
        modes = ("on", "off") if round_number % 2 else ("off", "on")
        for mode in modes:
            rate = measure(mode, args, redis_url, wrk)
            results[mode].append(rate)
            say(f"round {round_number} limiter {mode:>3}: {rate:9.0f} req/s")
    report(results, args)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    return parser.parse_args()


def measure(mode: str, args: argparse.Namespace, redis_url: str, wrk: str | None) -> float:
    with tempfile.TemporaryDirectory(prefix="praxis-bench-") as data_dir:
        port = free_port()
        process = start_server(mode, port, redis_url, Path(data_dir))
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base_url, process)
            load(base_url, WARM_UP_SECONDS, args.connections, wrk)
            rate = load(base_url, args.duration, args.connections, wrk)
            check_decisions(base_url, mode)
        finally:
            stop(process)
        fallbacks = (Path(data_dir) / "server.log").read_text().count("Redis call failed")
        if fallbacks:
            say(f"  note: the limiter fell back to in-process {fallbacks} time(s) in this round")
        return rate


def start_server(mode: str, port: int, redis_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"praxis-bench-{uuid.uuid4().hex[:8]}:",
        "PORT": str(port),
        "WORKERS": "1",
        "JWT_SECRET": "bench-" + "x" * 40,
        "RATE_LIMIT_ENABLED": "true" if mode == "on" else "false",
        "RATE_LIMIT_ANON": HUGE_QUOTA,
        "RATE_LIMIT_USER": HUGE_QUOTA,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
    }
    with (data_dir / "server.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "service", "serve"], env=env, stdout=log, stderr=log
        )


def wait_until_serving(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}; see its log")
        try:
            if httpx.get(base_url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start in time")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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


def load(base_url: str, seconds: int, connections: int, wrk: str | None) -> float:
    if wrk:
        return load_with_wrk(wrk, base_url, seconds, connections)
    return asyncio.run(load_with_asyncio(base_url, seconds, connections))


def load_with_wrk(wrk: str, base_url: str, seconds: int, connections: int) -> float:
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", base_url + PATH]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    return float(match.group(1))


async def load_with_asyncio(base_url: str, seconds: int, connections: int) -> float:
    """Keep-alive HTTP/1.1 on raw streams: far cheaper per request than an HTTP client library,
    so the server, not the client, is what gets measured (as far as one process allows)."""
    host, port = base_url.removeprefix("http://").split(":")
    request = f"GET {PATH} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    deadline = time.monotonic() + seconds

    async def connection() -> int:
        reader, writer = await asyncio.open_connection(host, int(port))
        done = 0
        while time.monotonic() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            done += 1
        writer.close()
        await writer.wait_closed()
        return done

    started = time.monotonic()
    counts = await asyncio.gather(*(connection() for _ in range(connections)))
    return sum(counts) / (time.monotonic() - started)


def report(results: dict[str, list[float]], args: argparse.Namespace) -> None:
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    say("")
    say(f"GET {PATH} (401, limited), 1 worker, {args.connections} connections, ")
    say(f"{args.rounds} rounds x {args.duration} s per mode")
    say(f"median limiter on : {on:9.0f} req/s  {fmt(results['on'])}")
    say(f"median limiter off: {off:9.0f} req/s  {fmt(results['off'])}")
    say(f"on / off          : {on / off:9.2f}  (cost per request ~{1e6 / on - 1e6 / off:.0f} µs)")
    say("the load generator runs on the same CPUs: compare the modes, not the absolute figures")


def fmt(rates: list[float]) -> str:
    return "[" + ", ".join(f"{rate:.0f}" for rate in rates) + "]"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - a command-line report


if __name__ == "__main__":
    sys.exit(main())
