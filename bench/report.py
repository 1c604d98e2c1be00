"""The suite's figures: measurements summed up per target (medians over rounds), ratios to the
baselines, the issue's targets with PASS or MISS, and the Markdown tables of a run."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.service_metrics import Counters
from bench.wrk_report import WrkReport

SANIC_HELLO = "Sanic hello"
FASTAPI_HELLO = "FastAPI hello"
FASTAPI_REDIS = "FastAPI Redis GET"
BASELINES = (SANIC_HELLO, FASTAPI_HELLO, FASTAPI_REDIS)

HEALTH = "health"
CONTENT_LIST = "content list"
CONTENT_DETAIL = "content detail"
HISTORY = "history"
USERS_ME = "users/me"
SESSION_WRITES = "session writes"
MIX = "mix"
SCENARIOS = (HEALTH, CONTENT_LIST, CONTENT_DETAIL, HISTORY, USERS_ME, SESSION_WRITES, MIX)

PASS, MISS, UNMEASURED = "PASS", "MISS", "n/a"


@dataclass(frozen=True)
class Measurement:
    """One target measured once: a fresh server (in the default mode), warmed up, then loaded."""

    target: str
    workers: int
    round: int
    report: WrkReport
    server_cpu_seconds: float
    wrk_cpu_seconds: float
    database_cpu_seconds: float | None = None
    counters: Counters | None = None
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "workers": self.workers,
            "round": self.round,
            "wrk": self.report.as_json(),
            "server_cpu_seconds": self.server_cpu_seconds,
            "wrk_cpu_seconds": self.wrk_cpu_seconds,
            "database_cpu_seconds": self.database_cpu_seconds,
            "metrics": self.counters.as_json() if self.counters else None,
            "load_average": self.load_average,
        }


@dataclass(frozen=True)
class Summary:
    """A target's measurements together: medians of rates and latencies over the rounds, sums of
    counts, and ratios computed from the sums (CPU per request, cache hits, queries)."""

    target: str
    workers: int
    rates: list[float]
    rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    transport_errors: int
    server_cpu_per_1k: float
    wrk_cpu_per_1k: float
    database_cpu_per_1k: float | None
    # CPU-seconds per second of load: how many cores the server had. One worker below ~1 was
    # short of CPU (other processes had it), not of work.
    server_cores: float
    cache_hit_ratio: float | None
    queries_per_request: float | None
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.non_2xx + self.transport_errors

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def summarize(measurements: Iterable[Measurement]) -> dict[tuple[str, int], Summary]:
    """Each (target, workers) measured, in the order first measured."""
    groups: dict[tuple[str, int], list[Measurement]] = {}
    for measurement in measurements:
        groups.setdefault((measurement.target, measurement.workers), []).append(measurement)
    return {key: _summary(group) for key, group in groups.items()}


def _summary(group: list[Measurement]) -> Summary:
    reports = [m.report for m in group]
    requests = sum(r.requests for r in reports)
    duration = sum(r.duration_seconds for r in reports)
    server_cpu = sum(m.server_cpu_seconds for m in group)

    def per_1k(seconds: float) -> float:
        return 1000 * seconds / requests if requests else 0.0

    database = [m.database_cpu_seconds for m in group if m.database_cpu_seconds is not None]
    counted = [m.counters for m in group if m.counters is not None]
    counters = functools.reduce(Counters.plus, counted) if counted else None
    lua_counters: dict[str, int] = {}
    for report in reports:
        for name, count in report.counters.items():
            lua_counters[name] = lua_counters.get(name, 0) + count
    return Summary(
        target=group[0].target,
        workers=group[0].workers,
        rates=[r.rate for r in reports],
        rate=statistics.median(r.rate for r in reports),
        p50_ms=statistics.median(r.percentile_ms("50") for r in reports),
        p95_ms=statistics.median(r.percentile_ms("95") for r in reports),
        p99_ms=statistics.median(r.percentile_ms("99") for r in reports),
        requests=requests,
        non_2xx=sum(r.non_2xx for r in reports),
        transport_errors=sum(r.transport_error_count for r in reports),
        server_cpu_per_1k=per_1k(server_cpu),
        wrk_cpu_per_1k=per_1k(sum(m.wrk_cpu_seconds for m in group)),
        database_cpu_per_1k=per_1k(sum(database)) if database else None,
        server_cores=server_cpu / duration if duration else 0.0,
        cache_hit_ratio=counters.cache_hit_ratio if counters else None,
        queries_per_request=counters.queries_per_request if counters else None,
        counters=lua_counters,
    )


def ratios(summary: Summary, summaries: dict[tuple[str, int], Summary]) -> dict[str, float]:
    """The target's median req/s over each measured baseline's."""
    found = {}
    for baseline in BASELINES:
        reference = summaries.get((baseline, 1))
        if reference is not None and reference.rate:
            found[baseline] = summary.rate / reference.rate
    return found


Comparison = Literal[">=", "<", "=="]
Reading = Callable[[Summary, dict[tuple[str, int], Summary]], float | None]


@dataclass(frozen=True)
class Goal:
    """One of the issue's targets for a scenario (one worker)."""

    scenario: str
    what: str
    comparison: Comparison
    bound: float
    unit: Literal["×", "ms", "%", ""]
    reading: Reading

    def verdict(self, value: float | None) -> str:
        if value is None:
            return UNMEASURED
        met = {
            ">=": value >= self.bound,
            "<": value < self.bound,
            "==": value == self.bound,
        }[self.comparison]
        return PASS if met else MISS


@dataclass(frozen=True)
class Outcome:
    goal: Goal
    value: float | None
    verdict: str

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.goal.scenario,
            "what": self.goal.what,
            "comparison": self.goal.comparison,
            "bound": self.goal.bound,
            "unit": self.goal.unit,
            "value": self.value,
            "verdict": self.verdict,
        }


def ratio_to(baseline: str) -> Reading:
    def reading(summary: Summary, summaries: dict[tuple[str, int], Summary]) -> float | None:
        return ratios(summary, summaries).get(baseline)

    return reading


def p95(summary: Summary, _: dict[tuple[str, int], Summary]) -> float | None:
    return summary.p95_ms


def p99(summary: Summary, _: dict[tuple[str, int], Summary]) -> float | None:
    return summary.p99_ms


def errors(summary: Summary, _: dict[tuple[str, int], Summary]) -> float | None:
    return float(summary.errors)


def cache_hits(summary: Summary, _: dict[tuple[str, int], Summary]) -> float | None:
    return summary.cache_hit_ratio


VS_SANIC = f"req/s vs {SANIC_HELLO}"
GOALS = (
    Goal(CONTENT_DETAIL, VS_SANIC, ">=", 0.35, "×", ratio_to(SANIC_HELLO)),
    Goal(CONTENT_DETAIL, f"req/s vs {FASTAPI_REDIS}", ">=", 1.0, "×", ratio_to(FASTAPI_REDIS)),
    Goal(CONTENT_LIST, VS_SANIC, ">=", 0.30, "×", ratio_to(SANIC_HELLO)),
    Goal(USERS_ME, VS_SANIC, ">=", 0.25, "×", ratio_to(SANIC_HELLO)),
    Goal(HISTORY, VS_SANIC, ">=", 0.15, "×", ratio_to(SANIC_HELLO)),
    Goal(HISTORY, "p99 latency", "<", 50, "ms", p99),
    Goal(HEALTH, VS_SANIC, ">=", 0.85, "×", ratio_to(SANIC_HELLO)),
    Goal(MIX, "p95 latency", "<", 50, "ms", p95),
    Goal(MIX, "p99 latency", "<", 100, "ms", p99),
    Goal(MIX, "errors (non-2xx + transport)", "==", 0, "", errors),
    Goal(MIX, "cache hit ratio", ">=", 0.90, "%", cache_hits),
)


def evaluate(
    summaries: dict[tuple[str, int], Summary], goals: Iterable[Goal] = GOALS
) -> list[Outcome]:
    outcomes = []
    for goal in goals:
        summary = summaries.get((goal.scenario, 1))
        value = goal.reading(summary, summaries) if summary else None
        outcomes.append(Outcome(goal, value, goal.verdict(value)))
    return outcomes


@dataclass(frozen=True)
class Scaling:
    target: str
    one: Summary
    two: Summary

    @property
    def factor(self) -> float:
        return self.two.rate / self.one.rate if self.one.rate else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "rate_1_worker": self.one.rate,
            "rate_2_workers": self.two.rate,
            "scaling": self.factor,
            "server_cpu_per_1k": [self.one.server_cpu_per_1k, self.two.server_cpu_per_1k],
            "wrk_cpu_per_1k": [self.one.wrk_cpu_per_1k, self.two.wrk_cpu_per_1k],
        }


def scaling(summaries: dict[tuple[str, int], Summary]) -> list[Scaling]:
    return [
        Scaling(target, one, summaries[(target, 2)])
        for (target, workers), one in summaries.items()
        if workers == 1 and (target, 2) in summaries
    ]


@dataclass(frozen=True)
class ModeComparison:
    """A comparison of one endpoint's modes (limiter on/off, tracing on/export/.../off)."""

    title: str
    load: str
    reference: str  # the mode the others are divided by
    rates: dict[str, list[float]]

    def median(self, mode: str) -> float:
        return statistics.median(self.rates[mode])

    def ratio(self, mode: str) -> float:
        return self.median(mode) / self.median(self.reference)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "load": self.load,
            "reference": self.reference,
            "rates": self.rates,
            "medians": {mode: self.median(mode) for mode in self.rates},
            "ratios": {mode: self.ratio(mode) for mode in self.rates},
        }


@dataclass(frozen=True)
class Run:
    """Everything one suite run measured, and what it was measured on."""

    meta: dict[str, str]
    measurements: list[Measurement]
    comparisons: list[ModeComparison] = field(default_factory=list)

    @property
    def summaries(self) -> dict[tuple[str, int], Summary]:
        return summarize(self.measurements)

    @property
    def transport_errors(self) -> int:
        return sum(m.report.transport_error_count for m in self.measurements)

    def as_json(self) -> dict[str, Any]:
        summaries = self.summaries
        return {
            "meta": self.meta,
            "summaries": [
                {**s.as_json(), "ratios": ratios(s, summaries)} for s in summaries.values()
            ],
            "targets": [outcome.as_json() for outcome in evaluate(summaries)],
            "scaling": [s.as_json() for s in scaling(summaries)],
            "comparisons": [c.as_json() for c in self.comparisons],
            "measurements": [m.as_json() for m in self.measurements],
        }


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", " ")


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "%":
        return f"{100 * value:.1f} %"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "×":
        return f"{value:.2f}×"
    return _number(value)


def _bound(goal: Goal) -> str:
    comparison = {">=": "≥", "<": "<", "==": "="}[goal.comparison]
    return f"{comparison} {_value(goal.bound, goal.unit)}"


def _pair(one: float, two: float, digits: int = 2) -> str:
    return f"{one:.{digits}f} → {two:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _figures_row(summary: Summary, summaries: dict[tuple[str, int], Summary]) -> list[str]:
    to = ratios(summary, summaries)
    hits = summary.cache_hit_ratio
    return [
        summary.target,
        _number(summary.rate),
        f"{summary.p50_ms:.1f}",
        f"{summary.p95_ms:.1f}",
        f"{summary.p99_ms:.1f}",
        str(summary.non_2xx),
        str(summary.transport_errors),
        "–" if hits is None else f"{100 * hits:.1f} %",
        _number(summary.queries_per_request, 2),
        *(_value(to.get(baseline), "×") for baseline in BASELINES),
        f"{summary.server_cpu_per_1k:.2f}",
        f"{summary.server_cores:.2f}",
        f"{summary.wrk_cpu_per_1k:.2f}",
        _number(summary.database_cpu_per_1k, 2),
        ", ".join(_number(rate) for rate in summary.rates),
    ]


FIGURES_HEADER = [
    "target",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "non-2xx",
    "transport errors",
    "cache hits",
    "queries/req",
    *(f"× {baseline}" for baseline in BASELINES),
    "server CPU s/1k req",
    "server cores busy",
    "wrk CPU s/1k req",
    "PostgreSQL CPU s/1k req",
    "req/s per round",
]


LEGEND = (
    "req/s and the latency percentiles are medians over the rounds; × a baseline is the median "
    "req/s over the baseline's in the same run; non-2xx and errors are totals; cache hits and "
    "queries/req come from the service's /metrics around each measured window; CPU s/1k req is "
    "CPU-seconds per 1 000 requests; server cores busy is the server's CPU-seconds per second "
    "of load (below 1 with one worker: other processes had the CPU)."
)


def render_markdown(run: Run) -> str:
    summaries = run.summaries
    lines = [f"# Praxis benchmark, {run.meta.get('started', '')}", ""]
    lines += [f"- {name}: {value}" for name, value in run.meta.items() if name != "started"]
    one_worker = [s for s in summaries.values() if s.workers == 1]
    lines += ["", "## Throughput and latency, one worker", "", LEGEND, ""]
    lines += _table(FIGURES_HEADER, [_figures_row(s, summaries) for s in one_worker])
    outcomes = evaluate(summaries)
    lines += ["", "## Targets (one worker)", ""]
    lines += _table(
        ["scenario", "target", "measured", "verdict"],
        [
            [o.goal.scenario, f"{o.goal.what} {_bound(o.goal)}", _value(o.value, o.goal.unit)]
            + [o.verdict]
            for o in outcomes
        ],
    )
    scaled = scaling(summaries)
    if scaled:
        lines += ["", "## Two workers", ""]
        lines += _table(
            ["target", "req/s, 1 worker", "req/s, 2 workers", "2 w / 1 w"]
            + ["server CPU s/1k req", "server cores busy", "wrk CPU s/1k req", "p99 ms"],
            [
                [s.target, _number(s.one.rate), _number(s.two.rate), f"{s.factor:.2f}"]
                + [_pair(s.one.server_cpu_per_1k, s.two.server_cpu_per_1k)]
                + [_pair(s.one.server_cores, s.two.server_cores)]
                + [_pair(s.one.wrk_cpu_per_1k, s.two.wrk_cpu_per_1k)]
                + [_pair(s.one.p99_ms, s.two.p99_ms, digits=1)]
                for s in scaled
            ],
        )
    for comparison in run.comparisons:
        lines += ["", f"## {comparison.title}", "", comparison.load, ""]
        lines += _table(
            ["mode", "median req/s", f"÷ {comparison.reference}", "req/s per round"],
            [
                [mode, _number(comparison.median(mode)), f"{comparison.ratio(mode):.2f}"]
                + [", ".join(_number(rate) for rate in rates)]
                for mode, rates in comparison.rates.items()
            ],
        )
    return "\n".join(lines) + "\n"
