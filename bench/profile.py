"""Where a worker's time goes under each scenario of the suite: py-spy samples the one-worker
service while wrk loads it exactly as ``make bench`` does (same data, settings and scripts), and
the samples of the busiest process (the worker) are summed per part of a request.

    make bench-profile                                   # every read scenario, 10 s each
    make bench-profile ARGS="--seconds 20 history"       # one scenario, longer

It prints, side by side for the scenarios, the share of the worker's samples spent in each part
(a frame and everything it calls: the limiter's Redis call, the SQL statement, the SERVER span,
the response middleware and headers...), then each scenario's top frames. The raw stacks
(py-spy's collapsed format, for flame graph tools) and the tables go to
.praxis/bench-run/profile/. py-spy is installed into a venv of its own under .praxis/ from
bench/profile-requirements.txt (pinned, hash-locked), never into the project's environment; it
needs the right to trace the service's processes (ptrace: the same user, and
kernel.yama.ptrace_scope 0 or root).

py-spy leaves idle threads out, so a process's samples are close to its CPU time: a share of
them is a share of what the worker spends (its other threads, such as the span processor's,
included). Compare parts within a scenario; the suite's CPU per request says what a request
costs in all.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench import baselines, dataset, report
from bench.driver import say
from bench.suite import WORK, Bench, Options, Served, Target, find_wrk, scenario_targets
from service.infra.redis_client import LOCAL_REDIS_URL

PROFILER_VENV = baselines.ROOT / ".praxis" / "bench-profiler-venv"
PROFILER_REQUIREMENTS = baselines.ROOT / "bench" / "profile-requirements.txt"
OUTPUT = WORK / "profile"
READ_SCENARIOS = (
    report.HEALTH,
    report.CONTENT_LIST,
    report.CONTENT_DETAIL,
    report.USERS_ME,
    report.HISTORY,
    report.MIX,
)

# The parts of a request: a frame (as py-spy names it, without line numbers) and what it covers.
REQUEST = "handle_request (handle_request)"  # Sanic's handling of one request, all of it
PARTS = (
    (REQUEST, "Sanic's request handling, all of it"),
    ("RateLimiter._run (service/kit/ratelimit.py)", "the limiter's Redis script call"),
    (
        "_async_traced_execute_factory.<locals>._async_traced_execute_command (redis/__init__.py)",
        "of which the traced redis-py command",
    ),
    ("fetch_all (service/infra/sql.py)", "SQL statements and their rows"),
    ("AsyncPGInstrumentor._do_execute (asyncpg/__init__.py)", "of which the traced asyncpg call"),
    ("fetch_all.<locals>.<listcomp> (service/infra/sql.py)", "of which building the typed rows"),
    ("start_server_span (observability/tracing.py)", "the SERVER span's start"),
    ("end_server_span (observability/tracing.py)", "the SERVER span's end"),
    ("load_principal (service/kit/rbac.py)", "the caller: token and cached permissions"),
    (
        "add_injection.<locals>.inject_kwargs (sanic_ext/extensions/injection/injector.py)",
        "sanic-ext's parameter injection",
    ),
    ("json_response (service/kit/web.py)", "the JSON body"),
    ("Request.respond (sanic/request/types.py)", "the response middleware"),
    ("BaseHTTPResponse.send (sanic/response/types.py)", "the response's headers and write"),
)
TOP_FRAMES = 15
_LINE_NUMBER = re.compile(r":\d+\)$")


@dataclass(frozen=True)
class Profile:
    """One process's samples: how many stacks held each frame (once per stack), in all and
    below the request handler (the work of requests, without the loop and process around it)."""

    samples: int
    holding: Counter[str]
    within_requests: Counter[str]

    def share(self, frame: str) -> float:
        return self.holding[frame] / self.samples if self.samples else 0.0

    def top(self, count: int) -> list[tuple[str, float]]:
        """The frames most often on the stack while a request is handled, with their shares
        of all the samples."""
        ranked = self.within_requests.most_common(count)
        return [(frame, held / self.samples) for frame, held in ranked]


def _process_and_frames(stack: str) -> tuple[str, list[str]]:
    """py-spy's ``--subprocesses`` stacks start with ``process PID:"COMMAND"``, and a command
    may hold semicolons (``python -c "...; ..."``): the process ends at its closing quote."""
    end = stack.find('";') + 1 if stack.startswith("process ") else stack.find(";")
    if end <= 0:
        return stack, []
    frames = stack[end + 1 :].split(";")
    return stack[:end], [_LINE_NUMBER.sub(")", frame) for frame in frames]


def busiest_process(collapsed: Iterable[str]) -> Profile:
    """The samples of the process with the most, from py-spy's collapsed stacks recorded with
    ``--subprocesses`` (``process PID:"command";frame;frame COUNT``, outermost frame first)."""
    samples: Counter[str] = Counter()
    holding: dict[str, Counter[str]] = {}
    within: dict[str, Counter[str]] = {}
    for line in collapsed:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        process, frames = _process_and_frames(stack)
        samples[process] += int(count)
        holding.setdefault(process, Counter()).update(dict.fromkeys(frames, int(count)))
        below = frames[frames.index(REQUEST) + 1 :] if REQUEST in frames else []
        within.setdefault(process, Counter()).update(dict.fromkeys(below, int(count)))
    if not samples:
        raise ValueError("py-spy recorded no sample")
    ((busiest, most),) = samples.most_common(1)
    return Profile(most, holding[busiest], within[busiest])


@dataclass(frozen=True)
class Sampled:
    """A scenario's profile, and the rate wrk kept while py-spy sampled it."""

    scenario: str
    profile: Profile
    rate: float


def markdown(sampled: list[Sampled]) -> str:
    """The parts of a request side by side for every scenario, then each one's top frames."""
    lines = ["# Where a worker's time goes (bench.profile)", ""]
    lines += ["Shares of the worker's samples.", ""]
    lines += ["| part of a request | " + " | ".join(s.scenario for s in sampled) + " |"]
    lines += ["| --- |" + " --- |" * len(sampled)]
    for frame, label in PARTS:
        shares = (f"{100 * s.profile.share(frame):.0f} %" for s in sampled)
        lines += [f"| {label} | " + " | ".join(shares) + " |"]
    lines += ["| samples | " + " | ".join(str(s.profile.samples) for s in sampled) + " |"]
    lines += ["| req/s while sampled | " + " | ".join(f"{s.rate:.0f}" for s in sampled) + " |"]
    for one in sampled:
        lines += ["", f"## {one.scenario}: top frames within requests", ""]
        lines += ["| frame (inclusive) | share |", "| --- | --- |"]
        lines += [
            f"| `{frame}` | {100 * share:.1f} % |" for frame, share in one.profile.top(TOP_FRAMES)
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Sampling:
    """How each scenario is sampled: for how long, after how much warm-up, how often."""

    py_spy: Path
    seconds: int
    warm_up: int
    rate: int  # samples per second

    def start(self, pid: int, output: Path) -> subprocess.Popen[bytes]:
        """py-spy recording ``pid`` and its children for ``seconds``. It pauses a process for
        each sample (``--nonblocking`` would not, but then reads half its stacks torn)."""
        command = [str(self.py_spy), "record", "--pid", str(pid), "--subprocesses"]
        command += ["--rate", str(self.rate), "--duration", str(self.seconds)]
        command += ["--format", "raw", "--output", str(output)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def profile_target(bench: Bench, target: Target, served: Served, sampling: Sampling) -> Sampled:
    """The scenario warmed up, then loaded while py-spy samples it."""
    bench.tidy(target, served)
    bench.wrk_run(target, served, sampling.warm_up)
    bench.tidy(target, served)
    raw = OUTPUT / f"{re.sub(r'[^a-z]+', '-', target.name)}.txt"
    sampler = sampling.start(served.pid, raw)
    load, _ = bench.wrk_run(target, served, sampling.seconds)
    _, errors = sampler.communicate(timeout=sampling.seconds + 60)
    if sampler.returncode != 0:
        raise SystemExit(f"py-spy failed ({sampler.returncode}): {errors.decode().strip()}")
    say(f"{target.name}: {load.rate:.0f} req/s while sampled")
    with raw.open() as collapsed:
        return Sampled(target.name, busiest_process(collapsed), load.rate)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"of {', '.join(READ_SCENARIOS)} (all)")
    parser.add_argument("--seconds", type=int, default=10, help="of sampled load per scenario")
    parser.add_argument("--warm-up", type=int, default=2)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--members", type=int, default=16, help="members whose tokens rotate")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(READ_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    py_spy = baselines.private_venv(PROFILER_VENV, PROFILER_REQUIREMENTS).parent / "py-spy"
    sampling = Sampling(py_spy, args.seconds, args.warm_up, args.rate)
    options = Options(
        quick=True,
        rounds=1,
        duration=args.seconds,
        warm_up=args.warm_up,
        connections=32,
        mix_connections=64,
        members=args.members,
        two_workers=False,
        comparisons=False,
        fresh_servers=False,
    )
    redis_url = os.environ.get("REDIS_URL", LOCAL_REDIS_URL)
    fastapi = baselines.FASTAPI_VENV / "bin" / "python"  # the suite's baseline: not started here
    bench = Bench(options, find_wrk(), redis_url, fastapi)
    shutil.rmtree(WORK, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    wanted = args.scenarios or list(READ_SCENARIOS)
    with dataset.exclusive_use():
        members = bench.seed()
        with bench.serve("praxis", 1) as served:
            targets = {
                t.name: t for t in scenario_targets(bench.log_in(served, members), 1, options)
            }
            sampled = [profile_target(bench, targets[name], served, sampling) for name in wanted]
    result = OUTPUT / "profile.md"
    result.write_text(markdown(sampled))
    say("\n" + result.read_text())
    say(f"written: {result.relative_to(baselines.ROOT)} and the raw stacks beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
