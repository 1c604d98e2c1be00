"""wrk run with one of the scenario scripts of bench/wrk/, and the report its done() prints.

Every script reports through bench/wrk/common.lua: one line, after a marker, holding a JSON object
with wrk's own summary (requests, duration, socket errors), latency percentiles and the per-thread
tallies the script kept in response() (responses by status, named counters), added up over
threads. The load generator's CPU time comes from the kernel's accounting of the wrk process
(``wait4``), so a report can say what generating the load cost next to what serving it did.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent / "wrk"
REPORT_MARKER = "WRK_REPORT "
# Socket-level failures, as wrk counts them; its "status" count (answers >= 400) is not one.
TRANSPORT_ERRORS = ("connect", "read", "write", "timeout")
# A request slower than this is a wrk timeout (counted as a transport error, not a latency).
REQUEST_TIMEOUT_SECONDS = 5
# wrk stops by itself after its duration; past this much longer it is killed.
OVERRUN_SECONDS = 30


class WrkError(Exception):
    """wrk failed, or printed no report the scripts' done() would have written."""


@dataclass(frozen=True)
class WrkReport:
    requests: int
    duration_seconds: float
    latency_ms: dict[str, float]
    statuses: dict[int, int]
    transport_errors: dict[str, int]
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.duration_seconds if self.duration_seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status <= 299)

    @property
    def transport_error_count(self) -> int:
        return sum(self.transport_errors.values())

    def percentile_ms(self, percentile: str) -> float:
        return self.latency_ms[f"p{percentile}"]

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "duration_seconds": self.duration_seconds,
            "rate": self.rate,
            "latency_ms": self.latency_ms,
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "non_2xx": self.non_2xx,
            "transport_errors": self.transport_errors,
            "counters": self.counters,
        }


@dataclass(frozen=True)
class WrkRun:
    report: WrkReport
    cpu_seconds: float  # user + system time of the wrk process


def parse_wrk_report(output: str) -> WrkReport:
    """The report in wrk's standard output (the line common.lua's done() printed)."""
    lines = [line for line in output.splitlines() if line.startswith(REPORT_MARKER)]
    if len(lines) != 1:
        raise WrkError(f"expected one {REPORT_MARKER.strip()} line in wrk's output:\n{output}")
    data = json.loads(lines[0].removeprefix(REPORT_MARKER))
    latency = data["latency_us"]
    latency_ms = {f"p{p}": float(us) / 1000 for p, us in latency["percentiles"].items()}
    latency_ms |= {name: float(latency[name]) / 1000 for name in ("min", "mean", "max", "stdev")}
    errors = data["errors"]
    return WrkReport(
        requests=int(data["requests"]),
        duration_seconds=float(data["duration_us"]) / 1e6,
        latency_ms=latency_ms,
        statuses={int(status): int(n) for status, n in data["statuses"].items()},
        transport_errors={name: int(errors.get(name, 0)) for name in TRANSPORT_ERRORS},
        counters={name: int(n) for name, n in data["counters"].items()},
    )


def run_wrk(
    wrk: str,
    url: str,
    script: str,
    script_args: Sequence[str] = (),
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
) -> WrkRun:
    """``wrk`` with ``bench/wrk/<script>`` against ``url`` for ``seconds``; its report and the
    CPU time it used."""
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
        "-s",
        str(SCRIPTS / script),
        url,
        "--",
        *script_args,
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err)
        # Reaped here rather than by Popen, to read the child's resource usage.
        watchdog = threading.Timer(seconds + OVERRUN_SECONDS, process.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise WrkError(f"wrk exited with {process.returncode}:\n{stderr}{stdout}")
    return WrkRun(parse_wrk_report(stdout), usage.ru_utime + usage.ru_stime)
