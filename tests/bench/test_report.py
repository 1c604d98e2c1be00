"""The suite's figures: medians over rounds, ratios to the baselines, the targets' verdicts and the
Markdown tables of a run."""

from __future__ import annotations

import pytest

from bench.report import (
    CONTENT_DETAIL,
    FASTAPI_REDIS,
    GOALS,
    HEALTH,
    HISTORY,
    MISS,
    MIX,
    OUT_OF_REACH,
    PASS,
    SANIC_HELLO,
    UNMEASURED,
    WITHIN_REACH,
    Measurement,
    ModeComparison,
    Run,
    evaluate,
    reach,
    render_markdown,
    scaling,
    summarize,
)
from bench.service_metrics import Counters
from bench.tracing_floor import Floor
from bench.wrk_report import WrkReport

SECONDS = 8.0


def wrk(
    rate: float,
    *,
    p95: float = 10.0,
    p99: float = 20.0,
    statuses: dict[int, int] | None = None,
    timeouts: int = 0,
) -> WrkReport:
    requests = round(rate * SECONDS)
    return WrkReport(
        requests=requests,
        duration_seconds=SECONDS,
        latency_ms={"p50": p95 / 2, "p95": p95, "p99": p99},
        statuses=statuses or {200: requests},
        transport_errors={"connect": 0, "read": 0, "write": 0, "timeout": timeouts},
    )


def measured(
    target: str,
    report: WrkReport,
    *,
    workers: int = 1,
    round_number: int = 1,
    server_cpu: float = 4.0,
    counters: Counters | None = None,
) -> Measurement:
    return Measurement(target, workers, round_number, report, server_cpu, 0.5, None, counters)


def cache(hits: float, misses: float) -> Counters:
    return Counters({("redis", "hit"): hits, ("redis", "miss"): misses}, 10.0, hits + misses)


def test_a_summary_takes_medians_over_rounds_and_sums_counts() -> None:
    rounds = [
        measured(HISTORY, wrk(900, p99=30, statuses={200: 7000, 503: 200}), round_number=1),
        measured(HISTORY, wrk(1000, p99=60, timeouts=1), round_number=2),
        measured(HISTORY, wrk(1200, p99=40), round_number=3),
    ]

    summary = summarize(rounds)[(HISTORY, 1)]

    assert summary.rate == pytest.approx(1000)
    assert summary.rates == pytest.approx([900, 1000, 1200])
    assert summary.p99_ms == 40
    assert summary.non_2xx == 200
    assert summary.transport_errors == 1
    assert summary.errors == 201


def test_cpu_per_thousand_requests_and_cores_come_from_the_sums_over_rounds() -> None:
    rounds = [
        measured(HISTORY, wrk(500), server_cpu=4.0),
        measured(HISTORY, wrk(1500), round_number=2, server_cpu=8.0),
    ]

    summary = summarize(rounds)[(HISTORY, 1)]

    assert summary.server_cpu_per_1k == pytest.approx(1000 * 12.0 / (2000 * SECONDS))
    assert summary.wrk_cpu_per_1k == pytest.approx(1000 * 1.0 / (2000 * SECONDS))
    assert summary.server_cores == pytest.approx(12.0 / (2 * SECONDS))


def test_the_cache_hit_ratio_adds_up_the_windows_of_all_rounds() -> None:
    rounds = [
        measured(MIX, wrk(100), counters=cache(hits=90, misses=10)),
        measured(MIX, wrk(100), round_number=2, counters=cache(hits=290, misses=10)),
    ]

    assert summarize(rounds)[(MIX, 1)].cache_hit_ratio == pytest.approx(380 / 400)


def test_targets_compare_each_scenario_to_the_baselines_of_the_same_run() -> None:
    summaries = summarize(
        [
            measured(SANIC_HELLO, wrk(10_000)),
            measured(FASTAPI_REDIS, wrk(3_000)),
            measured(CONTENT_DETAIL, wrk(3_600)),  # 0.36 of the Sanic hello, 1.2 of FastAPI's GET
            measured(HISTORY, wrk(1_400, p99=50.0)),  # 0.14 of the hello; p99 must stay below 50
        ]
    )

    verdicts = {(o.goal.scenario, o.goal.what): (o.value, o.verdict) for o in evaluate(summaries)}

    assert verdicts[(CONTENT_DETAIL, f"req/s vs {SANIC_HELLO}")] == (0.36, PASS)
    assert verdicts[(CONTENT_DETAIL, f"req/s vs {FASTAPI_REDIS}")] == (1.2, PASS)
    assert verdicts[(HISTORY, f"req/s vs {SANIC_HELLO}")] == (0.14, MISS)
    assert verdicts[(HISTORY, "p99 latency")] == (50.0, MISS)
    assert verdicts[(MIX, "p99 latency")] == (None, UNMEASURED)


def test_the_mix_needs_zero_errors_and_nine_hits_in_ten() -> None:
    def outcomes(mix: Measurement) -> dict[str, str]:
        found = evaluate(summarize([mix]))
        return {o.goal.what: o.verdict for o in found if o.goal.scenario == MIX}

    clean = outcomes(measured(MIX, wrk(100, p95=40, p99=90), counters=cache(hits=95, misses=5)))
    failing = outcomes(
        measured(MIX, wrk(100, statuses={200: 799, 409: 1}), counters=cache(hits=89, misses=11))
    )

    assert set(clean.values()) == {PASS}
    assert failing["errors (non-2xx + transport)"] == MISS
    assert failing["cache hit ratio"] == MISS


def test_scaling_divides_two_workers_by_one_for_targets_measured_with_both() -> None:
    summaries = summarize(
        [
            measured(HISTORY, wrk(1000)),
            measured(HISTORY, wrk(1700), workers=2),
            measured(MIX, wrk(500)),
        ]
    )

    (only,) = scaling(summaries)

    assert only.target == HISTORY
    assert only.factor == pytest.approx(1.7)


def test_the_markdown_has_a_row_per_target_a_verdict_per_goal_and_each_comparison() -> None:
    run = Run(
        {"started": "2026-12-02 10:00 UTC", "load average before (1/5/15 min)": "0.50 / 0.40"},
        [
            measured(SANIC_HELLO, wrk(10_000)),
            measured(CONTENT_DETAIL, wrk(4_000)),
            measured(CONTENT_DETAIL, wrk(6_500), workers=2),
        ],
        [ModeComparison("Rate limiter on/off", "GET /x", "off", {"on": [30.0], "off": [60.0]})],
    )

    markdown = render_markdown(run)
    lines = markdown.splitlines()

    assert "- load average before (1/5/15 min): 0.50 / 0.40" in lines
    detail_row = next(line for line in lines if line.startswith(f"| {CONTENT_DETAIL} | 4 000 |"))
    assert "| 0.40× |" in detail_row
    verdict_rows = [line for line in lines if line.endswith((f"| {PASS} |", f"| {MISS} |"))]
    verdict_rows += [line for line in lines if line.endswith(f"| {UNMEASURED} |")]
    assert len(verdict_rows) == len(GOALS)
    assert "## Two workers" in lines
    assert any(line.startswith(f"| {CONTENT_DETAIL} | 4 000 | 6 500 | 1.62 |") for line in lines)
    assert "| on | 30 | 0.50 | 30 |" in lines


def test_the_markdown_leaves_out_the_two_worker_table_when_none_was_measured() -> None:
    markdown = render_markdown(Run({}, [measured(SANIC_HELLO, wrk(10_000))]))

    assert "## Two workers" not in markdown


FLOOR = Floor(
    server_span_us=20, redis_span_us=30, redis_command_us=100, statement_span_us=50, statement_us=50
)


def test_the_floor_rules_out_a_target_the_baselines_cpu_per_request_cannot_reach() -> None:
    summaries = summarize(
        [
            measured(SANIC_HELLO, wrk(10_000), server_cpu=4.0),  # 80 000 requests: 50 µs each
            measured(FASTAPI_REDIS, wrk(3_000), server_cpu=6.0),  # 24 000 requests: 250 µs each
            measured(CONTENT_DETAIL, wrk(2_000)),
        ]
    )

    found = {(r.goal.scenario, r.goal.baseline): r for r in reach(FLOOR, summaries)}

    # health: 50 + the SERVER span = 70 µs, at best 50 / 70 of the hello's rate
    assert found[(HEALTH, SANIC_HELLO)].best_ratio == pytest.approx(50 / 70)
    assert found[(HEALTH, SANIC_HELLO)].verdict == OUT_OF_REACH
    # detail: 70 + the limiter's Redis command and its span = 200 µs; 0.35× allows 143 µs
    detail = found[(CONTENT_DETAIL, SANIC_HELLO)]
    assert (detail.least_us, detail.best_ratio, detail.verdict) == (200, 0.25, OUT_OF_REACH)
    assert detail.left_us == pytest.approx(50 / 0.35 - 200)
    assert detail.measured == pytest.approx(0.2)
    assert detail.own_us == pytest.approx(250 - 200)  # 4 s of CPU over 16 000 requests
    # 1.0× FastAPI's GET allows 250 µs: 50 µs for the service's own work
    vs_fastapi = found[(CONTENT_DETAIL, FASTAPI_REDIS)]
    assert vs_fastapi.best_ratio == pytest.approx(1.25)
    assert vs_fastapi.left_us == pytest.approx(50)
    assert vs_fastapi.verdict == WITHIN_REACH
    # history: 200 + one statement and its span = 300 µs; 0.15× allows 333 µs
    history = found[(HISTORY, SANIC_HELLO)]
    assert (history.verdict, history.measured, history.own_us) == (WITHIN_REACH, None, None)


def test_the_markdown_shows_the_floor_when_it_was_measured() -> None:
    hello = measured(SANIC_HELLO, wrk(10_000), server_cpu=4.0)

    with_floor = render_markdown(Run({}, [hello], floor=FLOOR)).splitlines()
    without = render_markdown(Run({}, [hello]))

    assert "## What the floor leaves of the targets" in with_floor
    health = "| health | req/s vs Sanic hello ≥ 0.85× | nothing | 70 | 0.71× | – | -11 | – |"
    assert health + " out of reach |" in with_floor
    history = "| history | req/s vs Sanic hello ≥ 0.15× | 1 Redis + 1 SQL | 300 | 0.17× | – | 33 |"
    assert history + " – | within reach |" in with_floor
    assert "What the floor leaves" not in without
