"""The benchmark suite: the service's main endpoints under wrk, against a bare Sanic hello and a
bare FastAPI app measured in the same run, with the issue's targets marked PASS or MISS.

    make bench                              # the whole suite (about 20 minutes)
    make bench-quick                        # one short round, one worker: under 2 minutes
    uv run python -m bench.suite --rounds 3 --duration 10

Seeds a database of its own (``praxis_bench``, recreated each run) with ``praxis seed``: the demo
data plus members with about 30 finished sessions each, whose tokens come from logging in through
the API. Each measurement starts a fresh ``praxis serve`` (1 or 2 workers) configured as in
production: ENV=production, the limiter on with quotas every request passes (each still decided),
metrics, request ids, CORS (every request sends an allowed Origin), tracing on without an exporter.
It is warmed up, then loaded by wrk with a Lua script of bench/wrk/ while the service's /metrics
and the CPU time of the server, its PostgreSQL backends and wrk are read before and after. Rounds
alternate the order of baselines and scenarios; the report gives medians over rounds.

Results: bench/results/<time>.json (every figure) and bench/results/latest.md (the tables;
latest-quick.md for --quick). Exits 0 whether targets are met or missed, 1 when any request failed
at the transport level (connect, read, write, timeout) or the bench itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Literal

import redis

from bench import baselines, cpu, dataset, ratelimit_bench, tracing_bench, tracing_floor
from bench.driver import free_port, recreate_database, say, started
from bench.report import (
    CONTENT_DETAIL,
    CONTENT_LIST,
    FASTAPI_HELLO,
    FASTAPI_REDIS,
    HEALTH,
    HISTORY,
    MIX,
    SANIC_HELLO,
    SESSION_WRITES,
    USERS_ME,
    Measurement,
    ModeComparison,
    Run,
    evaluate,
    render_markdown,
)
from bench.service_metrics import scrape
from bench.wrk_report import WrkReport, run_wrk
from service.config import Settings
from service.infra.redis_client import LOCAL_REDIS_URL, redis_answers

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / ".praxis" / "bench-run"
# Every request is allowed, yet each is still decided (one Redis script call), as in production.
HUGE_QUOTA = "100000000/hour"
# The members log in once per run; their tokens must outlive the run.
TOKEN_LIFETIME_SECONDS = 4 * 3600
# The Origin every script sends (bench/wrk/common.lua), allowed by CORS_ORIGINS.
ORIGIN = "https://app.bench.invalid"
HOST = "127.0.0.1"
WRITING_SCRIPTS = frozenset({"sessions.lua", "mix.lua"})

Server = Literal["praxis", "sanic", "fastapi"]


@dataclass(frozen=True)
class Options:
    quick: bool
    rounds: int
    duration: int
    warm_up: int
    connections: int
    mix_connections: int
    members: int
    two_workers: bool
    comparisons: bool
    # False: one server per worker count for all scenarios of a round (--quick: starts are slow)
    fresh_servers: bool

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"


@dataclass(frozen=True)
class Target:
    """What one measurement loads: a server, and wrk with a script, URL path and inputs."""

    name: str
    server: Server
    workers: int
    script: str
    path: str = "/"
    args: tuple[str, ...] = ()
    connections: int = 32
    # Session flows cut off when wrk stops leave sessions active (bench/wrk/flow.lua).
    writes_sessions: bool = False


@dataclass(frozen=True)
class Served:
    base_url: str
    pid: int
    is_praxis: bool


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 short round, 1 worker, no extras")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=int, help="seconds per measurement")
    parser.add_argument("--warm-up", type=int, help="seconds of load before each measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--mix-connections", type=int, default=64)
    parser.add_argument("--members", type=int, help="members logged in, whose tokens rotate")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        quick=quick,
        rounds=args.rounds or (1 if quick else 2),
        duration=args.duration or (2 if quick else 8),
        warm_up=args.warm_up or (1 if quick else 2),
        connections=args.connections,
        mix_connections=args.mix_connections,
        members=args.members or (16 if quick else 200),
        two_workers=not quick,
        comparisons=not quick,
        fresh_servers=not quick,
    )


def baseline_targets(connections: int) -> list[Target]:
    return [
        Target(SANIC_HELLO, "sanic", 1, "fixed.lua", "/hello", connections=connections),
        Target(FASTAPI_HELLO, "fastapi", 1, "fixed.lua", "/hello", connections=connections),
        Target(FASTAPI_REDIS, "fastapi", 1, "fixed.lua", "/redis", connections=connections),
    ]


def scenario_targets(files: dataset.Files, workers: int, options: Options) -> list[Target]:
    flow_inputs = (str(files.tokens), str(files.slugs))
    mix_inputs = (str(files.reads), str(files.history), *flow_inputs)

    def on(name: str, script: str, path: str = "/", *args: str) -> Target:
        connections = options.mix_connections if name == MIX else options.connections
        writes = script in WRITING_SCRIPTS
        return Target(name, "praxis", workers, script, path, args, connections, writes)

    return [
        on(HEALTH, "fixed.lua", "/health"),
        on(CONTENT_LIST, "fixed.lua", dataset.LIST_PATH),
        on(CONTENT_DETAIL, "rotate.lua", "/", str(files.details)),
        on(HISTORY, "rotate.lua", "/", str(files.history)),
        on(USERS_ME, "rotate.lua", "/", str(files.me)),
        on(SESSION_WRITES, "sessions.lua", "/", *flow_inputs),
        on(MIX, "mix.lua", "/", *mix_inputs),
    ]


def _configures_service(name: str) -> bool:
    """A variable of the caller's environment that would change how the service runs."""
    return (
        name.startswith("OTEL_")
        or name.lower() in Settings.model_fields
        or name == "PROMETHEUS_MULTIPROC_DIR"
    )


class Bench:
    def __init__(self, options: Options, wrk: str, redis_url: str, fastapi: Path) -> None:
        self.options = options
        self.wrk = wrk
        self.redis_url = redis_url
        self.fastapi = fastapi
        self.secret = secrets.token_urlsafe(48)
        self.members: list[dataset.Member] = []
        self.servers_started = 0
        self.seconds: dict[str, float] = {}  # how long each phase took
        self.started_at = 0.0

    def praxis_env(
        self, port: int, data_dir: Path, workers: int, redis_prefix: str
    ) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not _configures_service(k)}
        return {
            **inherited,
            "ENV": "production",
            "DATABASE_URL": dataset.database_url(),
            "REDIS_URL": self.redis_url,
            "REDIS_KEY_PREFIX": redis_prefix,
            "HOST": HOST,
            "PORT": str(port),
            "PUBLIC_URL": f"http://{HOST}:{port}",
            "WORKERS": str(workers),
            "JWT_SECRET": self.secret,
            "JWT_ACCESS_TTL_SECONDS": str(TOKEN_LIFETIME_SECONDS),
            "CORS_ORIGINS": ORIGIN,
            "RATE_LIMIT_ANON": HUGE_QUOTA,
            "RATE_LIMIT_USER": HUGE_QUOTA,
            "RATE_LIMIT_AUTH": HUGE_QUOTA,
            "DATA_DIR": str(data_dir),
        }

    @contextmanager
    def serve(self, server: Server, workers: int) -> Iterator[Served]:
        self.servers_started += 1
        port = free_port()
        data_dir = WORK / f"{self.servers_started:03d}-{server}-{workers}w"
        data_dir.mkdir(parents=True)
        base_url = f"http://{HOST}:{port}"
        log = data_dir / "server.log"
        if server == "praxis":
            command = [sys.executable, "-m", "service", "serve"]
            # Its own Redis namespace: cold caches and fresh limiter counters at every start.
            prefix = f"praxis-bench-{uuid.uuid4().hex[:8]}:"
            env = self.praxis_env(port, data_dir, workers, prefix)
            with started(command, env, log, base_url + "/health") as process:
                try:
                    yield Served(base_url, process.pid, is_praxis=True)
                finally:
                    forget_keys(self.redis_url, prefix)
        elif server == "sanic":
            command = baselines.sanic_hello_command(port)
            with started(command, dict(os.environ), log, base_url + "/hello") as process:
                yield Served(base_url, process.pid, is_praxis=False)
        else:
            key = f"praxis-bench-baseline-{uuid.uuid4().hex[:8]}:value"
            env = {**os.environ, "REDIS_URL": self.redis_url, "BASELINE_REDIS_KEY": key}
            command = baselines.fastapi_command(self.fastapi, port)
            with started(command, env, log, base_url + "/redis") as process:
                yield Served(base_url, process.pid, is_praxis=False)

    def seed(self) -> list[dataset.Member]:
        started_at = time.monotonic()
        asyncio.run(recreate_database(dataset.DATABASE))
        dataset.seed(self.options.members)
        members = asyncio.run(dataset.members_with_full_history(self.options.members))
        self.seconds["seeding"] = time.monotonic() - started_at
        say(f"seeded {dataset.DATABASE} in {self.seconds['seeding']:.0f} s")
        return members

    def log_in(self, served: Served, members: list[dataset.Member]) -> dataset.Files:
        self.members = asyncio.run(dataset.log_in(served.base_url, members))
        items = dataset.published_items(served.base_url)
        self.seconds["logins (with the server's start)"] = time.monotonic() - self.started_at
        say(f"{len(self.members)} members logged in")
        return dataset.write_files(WORK, self.members, items)

    def run(self) -> list[Measurement]:
        """Seed, log the members in, and measure every round. Logins are Argon2 verifications,
        CPU-bound: two workers serve them, unless (--quick) the server that serves them is kept
        for the one-worker scenarios, which saves a start."""
        members = self.seed()
        self.started_at = time.monotonic()
        if self.options.fresh_servers:
            with self.serve("praxis", 2) as served:
                files = self.log_in(served, members)
            return self.rounds(files)
        with self.serve("praxis", 1) as served:
            return self.rounds(self.log_in(served, members), served)

    def wrk_run(self, target: Target, served: Served, seconds: int) -> tuple[WrkReport, float]:
        run = run_wrk(
            self.wrk,
            served.base_url + target.path,
            target.script,
            target.args,
            seconds=seconds,
            connections=target.connections,
        )
        return run.report, run.cpu_seconds

    def tidy(self, target: Target, served: Served) -> None:
        if target.writes_sessions:
            asyncio.run(dataset.abandon_active_sessions(served.base_url, self.members))

    def measure(self, target: Target, served: Served, round_number: int) -> Measurement:
        self.tidy(target, served)
        warm, _ = self.wrk_run(target, served, self.options.warm_up)
        if warm.non_2xx == warm.requests:
            raise SystemExit(f"{target.name}: no request succeeded while warming up: {warm}")
        self.tidy(target, served)
        load_average = os.getloadavg()
        counters = scrape(served.base_url) if served.is_praxis else None
        backends = cpu.backends_cpu_seconds(dataset.DATABASE) if served.is_praxis else {}
        server_cpu = cpu.tree_cpu_seconds(served.pid)
        report, wrk_cpu = self.wrk_run(target, served, self.options.duration)
        server_cpu = cpu.tree_cpu_seconds(served.pid) - server_cpu
        database_cpu = None
        if served.is_praxis:
            database_cpu = cpu.used_since(backends, cpu.backends_cpu_seconds(dataset.DATABASE))
        delta = scrape(served.base_url).minus(counters) if counters else None
        measurement = Measurement(
            target.name,
            target.workers,
            round_number,
            report,
            server_cpu,
            wrk_cpu,
            database_cpu,
            delta,
            load_average,
        )
        say(progress_line(measurement))
        return measurement

    def rounds(self, files: dataset.Files, kept: Served | None = None) -> list[Measurement]:
        """Every target in every round; ``kept``, a running one-worker server, serves the
        one-worker scenarios when servers are shared rather than fresh."""
        targets = baseline_targets(self.options.connections)
        targets += scenario_targets(files, 1, self.options)
        if self.options.two_workers:
            targets += scenario_targets(files, 2, self.options)
        started_at = time.monotonic()
        measurements = []
        for round_number in range(1, self.options.rounds + 1):
            # Every other round runs backwards, so drift (other jobs, heat) hits all targets alike.
            ordered = targets if round_number % 2 else targets[::-1]
            for group in self.server_groups(ordered):
                first = group[0]
                reuse = (first.server, first.workers) == ("praxis", 1)
                server = (
                    nullcontext(kept)
                    if kept is not None and reuse
                    else self.serve(first.server, first.workers)
                )
                with server as served:
                    measurements += [self.measure(t, served, round_number) for t in group]
        self.seconds["rounds"] = time.monotonic() - started_at
        return measurements

    def server_groups(self, targets: list[Target]) -> list[list[Target]]:
        """Targets measured on one server each (fresh servers), or runs of targets that share
        their server's kind and worker count."""
        groups: list[list[Target]] = []
        for target in targets:
            shares = groups and (groups[-1][0].server, groups[-1][0].workers) == (
                target.server,
                target.workers,
            )
            if shares and not self.options.fresh_servers:
                groups[-1].append(target)
            else:
                groups.append([target])
        return groups

    def floor(self) -> tracing_floor.Floor:
        started_at = time.monotonic()
        floor = tracing_floor.measure(self.redis_url)
        self.seconds["floor"] = time.monotonic() - started_at
        return floor

    def comparisons(self, floor: tracing_floor.Floor) -> list[ModeComparison]:
        started_at = time.monotonic()
        options, env = self.options, {"DATABASE_URL": dataset.database_url()}
        rounds, duration, connections = options.rounds, options.duration, options.connections
        limiter = ratelimit_bench.compare(
            rounds, duration, connections, self.redis_url, self.wrk, **env
        )
        tracing, path = tracing_bench.compare(
            rounds, duration, connections, self.redis_url, self.wrk, **env
        )
        how = f"wrk -t1 -c{connections}, {rounds} rounds × {duration} s per mode, 1 worker"
        self.seconds["comparisons"] = time.monotonic() - started_at
        return [
            ModeComparison(
                "Rate limiter on/off (bench.ratelimit_bench)",
                f"GET {ratelimit_bench.PATH} without a token (401, limited); {how}.",
                "off",
                limiter,
            ),
            ModeComparison(
                "Tracing on/export/sample/off (bench.tracing_bench)",
                f"GET {path} (cached); {how}. "
                + "; ".join(tracing_floor.describe(floor, statistics.median(tracing["off"])))
                + " (bench.tracing_floor).",
                "off",
                tracing,
            ),
        ]


def forget_keys(redis_url: str, prefix: str) -> None:
    """Delete a finished server's Redis keys (limiter counters, cache entries)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def progress_line(m: Measurement) -> str:
    r = m.report
    return (
        f"round {m.round} {m.target} ({m.workers} w): {r.rate:8.0f} req/s  "
        f"p50 {r.percentile_ms('50'):6.1f} p99 {r.percentile_ms('99'):6.1f} ms  "
        f"non-2xx {r.non_2xx}  transport errors {r.transport_error_count}"
    )


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("the suite needs wrk: `make bench` installs it (apt-get install wrk)")
    return wrk


def versions(fastapi: Path, wrk: str) -> str:
    # wrk --version prints its banner and usage, and exits 1.
    banner = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    found = baselines.installed_versions(fastapi, "fastapi", "uvicorn")
    return (
        f"Python {platform.python_version()}, Sanic {metadata.version('sanic')}, "
        f"{' '.join(banner.stdout.split()[:2])}; baseline FastAPI {found['fastapi']}, "
        f"uvicorn {found['uvicorn']}"
    )


def git_commit() -> str:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def meta(options: Options, fastapi: Path, wrk: str) -> dict[str, str]:
    how = (
        f"wrk -t1 -c{options.connections} (mix -c{options.mix_connections}), "
        f"{options.rounds} round(s) × {options.duration} s per target after "
        f"{options.warm_up} s of warm-up; medians over rounds"
    )
    return {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": options.mode
        + ("" if options.fresh_servers else " (one server per worker count for all scenarios)"),
        "commit": git_commit(),
        "machine": f"{os.cpu_count()} CPUs shared by server, Redis, PostgreSQL and wrk",
        "load average before (1/5/15 min)": load_average(),
        "software": versions(fastapi, wrk),
        "load": how,
        "data": (
            f"{dataset.DATABASE}: demo data + {options.members} members with "
            f"~{dataset.SESSIONS_PER_MEMBER} finished sessions each, "
            f"{dataset.CONTENT_ITEMS} bulk content items"
        ),
    }


def write_results(run: Run, options: Options) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}-{options.mode}.json").write_text(json.dumps(run.as_json(), indent=2))
    markdown = RESULTS / ("latest.md" if not options.quick else "latest-quick.md")
    markdown.write_text(render_markdown(run))
    return markdown


def main(argv: list[str] | None = None) -> int:
    began = time.monotonic()
    options = parse_options(argv)
    wrk = find_wrk()
    redis_url = os.environ.get("REDIS_URL", LOCAL_REDIS_URL)
    if not asyncio.run(redis_answers(redis_url)):
        raise SystemExit(f"no Redis answers at {redis_url}; set REDIS_URL")
    fastapi = baselines.fastapi_python()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    info = meta(options, fastapi, wrk)
    bench = Bench(options, wrk, redis_url, fastapi)
    with dataset.exclusive_use():
        measurements = bench.run()
        floor = bench.floor()
        comparisons = bench.comparisons(floor) if options.comparisons else []
    info["load average after (1/5/15 min)"] = load_average()
    phases = ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in bench.seconds.items())
    info["duration"] = f"{time.monotonic() - began:.0f} s ({phases})"
    run = Run(info, measurements, comparisons, floor)
    markdown = write_results(run, options)
    say("\n" + markdown.read_text())
    say(f"written: {markdown.relative_to(ROOT)} and the JSON beside it")
    misses = [o for o in evaluate(run.summaries) if o.verdict != "PASS"]
    say(f"{len(misses)} target(s) not met; the bench measures, it does not judge the exit status")
    if run.transport_errors:
        say(f"FAILED: {run.transport_errors} requests failed at the transport level")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
