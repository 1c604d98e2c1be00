"""The suite's figures: measurements summed up per target (medians over rounds), ratios to the
baselines, the issue's targets with PASS or MISS, and the Markdown tables of a run."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bench.service_metrics import Counters
from bench.tracing_floor import Floor
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
    baseline: str | None = None  # the one its reading is a ratio to

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


def rate_vs(scenario: str, bound: float, baseline: str = SANIC_HELLO) -> Goal:
    """req/s at least ``bound`` times the baseline's in the same run."""
    return Goal(scenario, f"req/s vs {baseline}", ">=", bound, "×", ratio_to(baseline), baseline)


GOALS = (
    rate_vs(CONTENT_DETAIL, 0.35),
    rate_vs(CONTENT_DETAIL, 1.0, FASTAPI_REDIS),
    rate_vs(CONTENT_LIST, 0.30),
    rate_vs(USERS_ME, 0.25),
    rate_vs(HISTORY, 0.15),
    Goal(HISTORY, "p99 latency", "<", 50, "ms", p99),
    rate_vs(HEALTH, 0.85),
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
class Needs:
    """What every request of a scenario must run beside a bare hello's work, whatever the code:
    the limiter's one Redis call (which also answers the cache generation and the caller's
    cached permissions) and the statements no cache serves."""

    redis_commands: int
    statements: int

    def __str__(self) -> str:
        parts = []
        if self.redis_commands:
            parts.append(f"{self.redis_commands} Redis")
        if self.statements:
            parts.append(f"{self.statements} SQL")
        return " + ".join(parts) or "nothing"


NEEDS = {
    HEALTH: Needs(0, 0),  # exempt from the limiter, answered from memory
    CONTENT_LIST: Needs(1, 0),
    CONTENT_DETAIL: Needs(1, 0),
    USERS_ME: Needs(1, 0),
    HISTORY: Needs(1, 1),
}
OUT_OF_REACH, WITHIN_REACH = "out of reach", "within reach"


@dataclass(frozen=True)
class Reach:
    """What a ratio target leaves the service while every request is traced. The target allows
    a request ``baseline_us / bound`` of CPU; the floor (``least_us``) takes its share before any
    line of Praxis runs, and the rest is all the service's own work may cost."""

    goal: Goal
    needs: Needs
    least_us: float
    baseline_us: float  # the baseline's CPU per request in the same run
    measured: float | None  # the target's ratio
    spent_us: float | None  # the scenario's CPU per request

    @property
    def best_ratio(self) -> float:
        return self.baseline_us / self.least_us

    @property
    def left_us(self) -> float:
        """CPU per request the target leaves for the service's own work (< 0: none at all)."""
        return self.baseline_us / self.goal.bound - self.least_us

    @property
    def own_us(self) -> float | None:
        """What the service's own work costs a request now: its CPU above the floor."""
        return None if self.spent_us is None else self.spent_us - self.least_us

    @property
    def verdict(self) -> str:
        return OUT_OF_REACH if self.left_us < 0 else WITHIN_REACH

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.goal.scenario,
            "what": self.goal.what,
            "bound": self.goal.bound,
            "least_cpu_us": self.least_us,
            "baseline_cpu_us": self.baseline_us,
            "best_ratio": self.best_ratio,
            "left_for_the_service_us": self.left_us,
            "service_own_us": self.own_us,
            "measured": self.measured,
            "verdict": self.verdict,
        }


def reach(floor: Floor, summaries: dict[tuple[str, int], Summary]) -> list[Reach]:
    """Each ratio target's reach, from the CPU per request of the baselines measured in the
    same run."""
    hello = summaries.get((SANIC_HELLO, 1))
    if hello is None:
        return []
    found = []
    for goal in GOALS:
        baseline = summaries.get((goal.baseline, 1)) if goal.baseline else None
        needs = NEEDS.get(goal.scenario)
        if baseline is None or needs is None:
            continue
        least = floor.least_request_us(
            hello.server_cpu_per_1k * 1000, needs.redis_commands, needs.statements
        )
        summary = summaries.get((goal.scenario, 1))
        measured = goal.reading(summary, summaries) if summary else None
        spent = summary.server_cpu_per_1k * 1000 if summary else None
        found.append(Reach(goal, needs, least, baseline.server_cpu_per_1k * 1000, measured, spent))
    return found


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
    floor: Floor | None = None

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
            "floor": asdict(self.floor) if self.floor else None,
            "reach": [r.as_json() for r in reach(self.floor, summaries)] if self.floor else [],
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


REACH_LEGEND = (
    "The least CPU a traced request of the scenario can take, before any line of Praxis runs: "
    "the Sanic hello's CPU per request in this run, a SERVER span, and each Redis command and "
    "SQL statement it must run with its CLIENT span (bench.tracing_floor, measured after the "
    "rounds). The baseline's CPU per request over it is the best ratio possible while every "
    "request is traced. A target allows a request the baseline's CPU over the bound: what is "
    "left of that above the floor is all the service's own work may cost (out of reach when "
    "nothing is left), beside what it costs now (the scenario's CPU per request above the floor)."
)


def _reach_section(floor: Floor, summaries: dict[tuple[str, int], Summary]) -> list[str]:
    lines = ["", "## What the floor leaves of the targets", "", REACH_LEGEND, ""]
    lines += [
        (
            f"Floor: SERVER span {floor.server_span_us:.0f} µs; Redis command "
            f"{floor.redis_command_us:.0f} µs + span {floor.redis_span_us:.0f} µs; SQL statement "
            f"{floor.statement_us:.0f} µs + span {floor.statement_span_us:.0f} µs."
        ),
        "",
    ]
    return lines + _table(
        ["scenario", "target", "must run", "floor µs", "best possible", "measured"]
        + ["µs left for the service", "service's own µs now", "verdict"],
        [
            [r.goal.scenario, f"{r.goal.what} {_bound(r.goal)}", str(r.needs)]
            + [_number(r.least_us), f"{r.best_ratio:.2f}×", _value(r.measured, "×")]
            + [_number(r.left_us), _number(r.own_us), r.verdict]
            for r in reach(floor, summaries)
        ],
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
    if run.floor:
        lines += _reach_section(run.floor, summaries)
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
