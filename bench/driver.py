"""What the throughput benchmarks share: a fresh ``praxis serve`` per measurement, a load
generator (``wrk`` when installed, else a small asyncio client in this process, which saturates
first), and the report's formatting."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx

from bench import cpu

# Generous: on a machine shared with other jobs, a start can take most of a minute.
START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 30
WARM_UP_SECONDS = 2
BENCH_JWT_SECRET = "bench-" + "x" * 40


def find_wrk() -> str | None:
    wrk = shutil.which("wrk")
    say(f"load generator: {'wrk' if wrk else 'asyncio client (wrk not installed)'}")
    if not wrk:
        say("  wrk is missing: `apt-get install wrk` for figures the client does not cap")
    say(f"cpus: {os.cpu_count()} (shared by server, Redis and load generator)")
    return wrk


def server_env(port: int, data_dir: Path, redis_url: str, **changes: str) -> dict[str, str]:
    """One worker, its own Redis key namespace, quiet logs; ``changes`` on top."""
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"praxis-bench-{uuid.uuid4().hex[:8]}:",
        "PORT": str(port),
        "WORKERS": "1",
        "JWT_SECRET": BENCH_JWT_SECRET,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **changes,
    }


@contextmanager
def serving(env: dict[str, str], data_dir: Path) -> Iterator[str]:
    """``praxis serve`` with ``env`` (its PORT), answering when the block starts and stopped when
    it ends; yields its base URL. Its output goes to ``data_dir/server.log``."""
    command = [sys.executable, "-m", "service", "serve"]
    base_url = f"http://127.0.0.1:{env['PORT']}"
    with started(command, env, data_dir / "server.log", base_url + "/health"):
        yield base_url


@contextmanager
def started(
    command: list[str], env: dict[str, str], log_path: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running, answering 200 on ``ready_url`` when the block starts and stopped when
    it ends. Its output goes to ``log_path``."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        wait_until_serving(ready_url, process, log_path)
        yield process
    finally:
        stop(process)


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling a starting process, bounded by the deadline
    raise SystemExit(f"the server did not start in time; see {log_path}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process``, and any of its descendants it leaves behind (a worker manager stopped
    while it was still starting its workers does not stop them)."""
    descendants = [(pid, cpu.start_time(pid)) for pid in cpu.tree(process.pid)[1:]]
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        left = [(pid, started) for pid, started in descendants if cpu.running(pid, started)]
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal_number)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while left and time.monotonic() < deadline:
            time.sleep(0.1)  # polling the ending processes, bounded by the deadline
            left = [(pid, started) for pid, started in left if cpu.running(pid, started)]


def warm_up_and_load(
    base_url: str, path: str, seconds: int, connections: int, wrk: str | None
) -> float:
    """Requests per second on ``path`` over ``seconds``, after a short warm-up."""
    load(base_url, path, WARM_UP_SECONDS, connections, wrk)
    return load(base_url, path, seconds, connections, wrk)


def load(base_url: str, path: str, seconds: int, connections: int, wrk: str | None) -> float:
    if wrk:
        return load_with_wrk(wrk, base_url + path, seconds, connections)
    return asyncio.run(load_with_asyncio(base_url, path, seconds, connections))


def load_with_wrk(wrk: str, url: str, seconds: int, connections: int) -> float:
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    return float(match.group(1))


async def load_with_asyncio(base_url: str, path: str, seconds: int, connections: int) -> float:
    """Keep-alive HTTP/1.1 on raw streams: far cheaper per request than an HTTP client library,
    so the server, not the client, is what gets measured (as far as one process allows)."""
    host, port = base_url.removeprefix("http://").split(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
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


def fmt(rates: list[float]) -> str:
    return "[" + ", ".join(f"{rate:.0f}" for rate in rates) + "]"


ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


async def recreate_database(name: str) -> None:
    """Drop the benchmark's database ``name`` (its sessions too) and create it empty."""
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - a command-line report
