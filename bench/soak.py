"""The soak: the mixed benchmark at moderate load against two workers, for ten minutes, watching
for what slowly leaks. Fails (exit 1) when any request errs, when the workers' resident memory
after the warm-up grows by more than 10 %, or when the service's PostgreSQL connections or Redis
clients pass what the pools may hold. Within those bounds the pools grow and shrink with the
load; a leak inside them shows as exhausted pools, hence as failed requests.

    make soak                                    # 10 minutes, 16 connections
    uv run python -m bench.soak --minutes 3 --connections 8

Uses the suite's data set and server set-up (bench/suite.py: ``praxis_bench``, production
settings, tracing on) on a redis-server of its own on a free port, so that its client count is
the service's alone. It recreates ``praxis_bench`` as the suite does: never run both at once.
The load runs in slices of ``--slice`` seconds; after each, the resident
memory of the workers, the database's connections and Redis's clients are sampled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import redis

from bench import cpu, dataset
from bench.driver import free_port, say
from bench.report import MIX
from bench.suite import (
    RESULTS,
    WORK,
    Bench,
    Served,
    Target,
    find_wrk,
    parse_options,
    scenario_targets,
)
from bench.wrk_report import run_wrk
from service.config import Settings
from service.infra.redis_client import REDIS_MAX_CONNECTIONS

MEMORY_GROWTH_LIMIT = 0.10
WARM_UP_SLICES = 2  # memory settles (imports, caches, pools) before the reference sample
START_TIMEOUT_SECONDS = 30
WORKERS = 2
# Each worker's pool, and the one connection of its dependency probe (service/health).
DATABASE_BOUND = WORKERS * (Settings().db_pool_max_size + 1)
REDIS_BOUND = WORKERS * REDIS_MAX_CONNECTIONS


@dataclass(frozen=True)
class Sample:
    elapsed_seconds: float
    requests: int
    failed: int
    p99_ms: float
    worker_rss_mb: float
    database_connections: int
    redis_clients: int


def resident_mb(root: int) -> float:
    """Resident memory of ``root``'s descendants (the workers; the manager only supervises)."""
    total_kb = 0
    for pid in cpu.tree(root)[1:]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


async def database_connections() -> int:
    conn = await asyncpg.connect(dataset.database_url())
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            dataset.DATABASE,
        )
        return count
    finally:
        await conn.close()


def redis_clients(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        info = client.info("clients")
        return int(info["connected_clients"]) - 1  # this probe itself
    finally:
        client.close()


@contextmanager
def private_redis() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", directory]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not _answers(url):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the soak's redis-server did not start")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=START_TIMEOUT_SECONDS)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.2).ping())
    except redis.RedisError:
        return False


def sample(
    bench: Bench, served: Served, target: Target, args: argparse.Namespace, began: float
) -> Sample:
    run = run_wrk(
        bench.wrk,
        served.base_url + target.path,
        target.script,
        target.args,
        seconds=args.slice,
        connections=args.connections,
    )
    report = run.report
    return Sample(
        elapsed_seconds=round(time.monotonic() - began),
        requests=report.requests,
        failed=report.non_2xx + report.transport_error_count,
        p99_ms=report.percentile_ms("99"),
        worker_rss_mb=round(resident_mb(served.pid), 1),
        database_connections=asyncio.run(database_connections()),
        redis_clients=redis_clients(bench.redis_url),
    )


def verdicts(samples: list[Sample]) -> list[str]:
    """Why the soak failed; empty when it passed."""
    reference, last = samples[WARM_UP_SLICES - 1], samples[-1]
    problems = []
    failed = sum(s.failed for s in samples)
    if failed:
        problems.append(f"{failed} requests failed")
    growth = last.worker_rss_mb / reference.worker_rss_mb - 1
    if growth > MEMORY_GROWTH_LIMIT:
        problems.append(f"worker memory grew {growth:.0%} after the warm-up")
    bounds = {"database_connections": DATABASE_BOUND, "redis_clients": REDIS_BOUND}
    for name, bound in bounds.items():
        most = max(getattr(s, name) for s in samples)
        if most > bound:
            problems.append(f"{name.replace('_', ' ')} reached {most}, past the pools' {bound}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--slice", type=int, default=30, help="seconds between samples")
    parser.add_argument("--members", type=int, default=100)
    args = parser.parse_args(argv)
    options = parse_options(["--quick", "--members", str(args.members)])
    WORK.mkdir(parents=True, exist_ok=True)
    slices = max(WARM_UP_SLICES + 1, round(args.minutes * 60 / args.slice))
    # One run at a time per PostgreSQL server: the suite's database is recreated by each.
    with dataset.exclusive_use(), private_redis() as redis_url:
        # No baseline is served here: the FastAPI interpreter is never used.
        bench = Bench(options, find_wrk(), redis_url, Path(sys.executable))
        members = bench.seed()
        with bench.serve("praxis", WORKERS) as served:
            files = bench.log_in(served, members)
            mix = next(t for t in scenario_targets(files, WORKERS, options) if t.name == MIX)
            began = time.monotonic()
            samples = []
            for _ in range(slices):
                samples.append(sample(bench, served, mix, args, began))
                bench.tidy(mix, served)  # sessions cut off by the slice's end
                say(json.dumps(asdict(samples[-1])))
    problems = verdicts(samples)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"samples": [asdict(s) for s in samples], "problems": problems, "args": vars(args)}
    (RESULTS / f"soak-{stamp}.json").write_text(json.dumps(result, indent=2))
    say("PASSED" if not problems else "FAILED: " + "; ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
