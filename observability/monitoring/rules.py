"""Prometheus recording and alert rules. Recording rules follow the level:metric:operations
naming convention; dashboards and alerts read them rather than repeating their expressions.
Ratios whose numerator may have no series yet (no 5xx, no hit, no refusal) fall back to
``0 * denominator``, so they read 0 rather than "no data"."""

from __future__ import annotations

from typing import Any

from observability.monitoring.slo import (
    BURN_RATE_ALERTS,
    JOB,
    NOT_USER_TRAFFIC,
    SLI_WINDOWS,
    SLIS,
    BurnRateAlert,
    Sli,
)

Rule = dict[str, Any]
Group = dict[str, Any]

RUNBOOK = "docs/operations.md#{anchor}"
BUCKET_RATE = "job_route_le:praxis_http_request_duration_seconds_bucket:rate5m"
DB_BUCKET_RATE = "sum by (job, operation, le) (rate(praxis_db_query_duration_seconds_bucket[5m]))"
DECISIONS = "job_policy_decision_mode:praxis_rate_limit_decisions:rate5m"
CACHE_LOOKUPS = "job_cache_result:praxis_cache_requests:rate5m"


def record(name: str, expr: str) -> Rule:
    return {"record": name, "expr": expr}


def http_rules() -> list[Rule]:
    requests = f"rate(praxis_http_requests_total{{{NOT_USER_TRAFFIC}}}[5m])"
    errors = f'rate(praxis_http_requests_total{{status=~"5..", {NOT_USER_TRAFFIC}}}[5m])'
    buckets = f"rate(praxis_http_request_duration_seconds_bucket{{{NOT_USER_TRAFFIC}}}[5m])"
    quantiles = [
        record(
            f"job_route:praxis_http_request_duration_seconds:p{q}_5m",
            f"histogram_quantile(0.{q}, {BUCKET_RATE})",
        )
        for q in ("50", "95", "99")
    ]
    return [
        record("job_route:praxis_http_requests:rate5m", f"sum by (job, route) ({requests})"),
        record(
            "job_route:praxis_http_errors:rate5m",
            f"sum by (job, route) ({errors})\nor 0 * job_route:praxis_http_requests:rate5m",
        ),
        record(
            "job_route:praxis_http_errors:ratio_rate5m",
            "job_route:praxis_http_errors:rate5m / job_route:praxis_http_requests:rate5m",
        ),
        record(
            "job:praxis_http_requests:rate5m",
            "sum by (job) (job_route:praxis_http_requests:rate5m)",
        ),
        record(
            "job:praxis_http_errors:rate5m", "sum by (job) (job_route:praxis_http_errors:rate5m)"
        ),
        record(
            "job:praxis_http_errors:ratio_rate5m",
            "job:praxis_http_errors:rate5m / job:praxis_http_requests:rate5m",
        ),
        record(BUCKET_RATE, f"sum by (job, route, le) ({buckets})"),
        *quantiles,
        record(
            "job:praxis_http_request_duration_seconds:p95_5m",
            f"histogram_quantile(0.95, sum by (job, le) ({BUCKET_RATE}))",
        ),
    ]


def slo_rules() -> list[Rule]:
    return [record(sli.ratio_series(w), sli.ratio_expr(w)) for sli in SLIS for w in SLI_WINDOWS]


def dependency_rules() -> list[Rule]:
    per_request = "praxis_db_queries_per_request"
    return [
        record(
            "job_operation:praxis_db_query_duration_seconds:p95_5m",
            f"histogram_quantile(0.95, {DB_BUCKET_RATE})",
        ),
        record(
            "job_operation:praxis_db_slow_queries:rate5m",
            "sum by (job, operation) (rate(praxis_db_slow_queries_total[5m]))",
        ),
        record(
            f"job_route:{per_request}:mean5m",
            f"sum by (job, route) (rate({per_request}_sum[5m]))\n"
            f"/ sum by (job, route) (rate({per_request}_count[5m]))",
        ),
        record(
            f"job_route:{per_request}:p95_5m",
            f"histogram_quantile(0.95, sum by (job, route, le) (rate({per_request}_bucket[5m])))",
        ),
        record(
            CACHE_LOOKUPS,
            "sum by (job, cache, result) (rate(praxis_cache_requests_total[5m]))",
        ),
        record("job_cache:praxis_cache_requests:rate5m", f"sum by (job, cache) ({CACHE_LOOKUPS})"),
        record(
            "job_cache:praxis_cache_hit:ratio_rate5m",
            f'(sum by (job, cache) ({CACHE_LOOKUPS}{{result="hit"}})\n'
            " or 0 * job_cache:praxis_cache_requests:rate5m)\n"
            "/ job_cache:praxis_cache_requests:rate5m",
        ),
        record(
            DECISIONS,
            "sum by (job, policy, decision, mode) (rate(praxis_rate_limit_decisions_total[5m]))",
        ),
        record(
            "job_policy_mode:praxis_rate_limit_refusals:rate5m",
            f'sum by (job, policy, mode) ({DECISIONS}{{decision="limited"}})\n'
            f"or 0 * sum by (job, policy, mode) ({DECISIONS})",
        ),
        record(
            "job_policy_mode:praxis_rate_limit_refusals:ratio_rate5m",
            "job_policy_mode:praxis_rate_limit_refusals:rate5m\n"
            f"/ sum by (job, policy, mode) ({DECISIONS})",
        ),
    ]


def recording_groups() -> list[Group]:
    return [
        {"name": "praxis-http", "rules": http_rules()},
        {"name": "praxis-slo", "rules": slo_rules()},
        {"name": "praxis-dependencies", "rules": dependency_rules()},
    ]


def alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> Rule:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": RUNBOOK.format(anchor=name.lower()),
        },
    }


def burn_rate_alert(sli: Sli, row: BurnRateAlert) -> Rule:
    threshold = f"({row.factor:g} * {sli.budget})"
    return alert(
        row.alert_name(sli),
        f"{sli.ratio_series(row.long_window)} > {threshold}\n"
        f"and {sli.ratio_series(row.short_window)} > {threshold}",
        row.for_,
        row.severity,
        f"{sli.title} SLO: error budget burning at {row.factor:g}x the sustainable rate",
        f"{{{{ $labels.job }}}}: {{{{ $value | humanizePercentage }}}} of requests missed the "
        f"{sli.title.lower()} SLO ({sli.objective * 100:g} %) over {row.long_window}, and "
        f"still over {row.short_window}; {row.budget_spent} of the 30-day budget spent in "
        f"{row.long_window}.",
    )


def service_alerts() -> list[Rule]:
    traffic = "job_route:praxis_http_requests:rate5m > 0.1"
    return [
        alert(
            "PraxisHighErrorRatio",
            f"job_route:praxis_http_errors:ratio_rate5m > 0.05\nand {traffic}",
            "5m",
            "ticket",
            "More than 5 % of a route's requests answer 5xx",
            "{{ $labels.route }}: {{ $value | humanizePercentage }} of requests answered 5xx "
            "over 5 minutes.",
        ),
        alert(
            "PraxisHighLatencyP95",
            f"job_route:praxis_http_request_duration_seconds:p95_5m > 0.5\nand {traffic}",
            "10m",
            "ticket",
            "A route's p95 latency is above 500 ms",
            "{{ $labels.route }}: p95 latency {{ $value | humanizeDuration }} over 5 minutes.",
        ),
        alert(
            "PraxisTargetDown",
            f'up{{job="{JOB}"}} == 0',
            "2m",
            "page",
            "Prometheus cannot scrape a Praxis instance",
            "{{ $labels.instance }} has not answered /metrics for 2 minutes.",
        ),
    ]


def dependency_down(name: str, dependency: str, for_: str, severity: str, effect: str) -> Rule:
    return alert(
        name,
        f'min by (job, instance) (praxis_dependency_up{{dependency="{dependency}"}}) == 0',
        for_,
        severity,
        f"{{{{ $labels.instance }}}} cannot reach {dependency}",
        f"{{{{ $labels.instance }}}} reports {dependency} down; {effect}",
    )


def dependency_alerts() -> list[Rule]:
    return [
        dependency_down(
            "PraxisDatabaseDown", "database", "1m", "page", "readiness fails, requests fail."
        ),
        dependency_down(
            "PraxisRedisDown",
            "redis",
            "5m",
            "ticket",
            "in-process cache and limiter serve meanwhile (limits are per worker).",
        ),
        alert(
            "PraxisLowCacheHitRatio",
            "job_cache:praxis_cache_hit:ratio_rate5m < 0.5\n"
            "and job_cache:praxis_cache_requests:rate5m > 0.1",
            "15m",
            "ticket",
            "Fewer than half of the cache lookups hit",
            "{{ $labels.cache }} cache: {{ $value | humanizePercentage }} hits over 5 minutes.",
        ),
        alert(
            "PraxisRateLimitRefusalSpike",
            'job_policy_mode:praxis_rate_limit_refusals:ratio_rate5m{mode="enforce"} > 0.1\n'
            'and job_policy_mode:praxis_rate_limit_refusals:rate5m{mode="enforce"} > 1',
            "10m",
            "ticket",
            "The rate limiter refuses more than 10 % of requests",
            "policy {{ $labels.policy }}: {{ $value | humanizePercentage }} of decisions "
            "refused over 5 minutes.",
        ),
        alert(
            "PraxisSlowQueries",
            "job_operation:praxis_db_slow_queries:rate5m > 0.1",
            "10m",
            "ticket",
            "Slow SQL statements are frequent",
            '{{ $labels.operation }}: {{ printf "%.2f" $value }} statements per second slower '
            "than SLOW_QUERY_MS over 5 minutes.",
        ),
    ]


def alert_groups() -> list[Group]:
    burn_rates = [burn_rate_alert(sli, row) for sli in SLIS for row in BURN_RATE_ALERTS]
    return [
        {"name": "praxis-slo-alerts", "rules": burn_rates},
        {"name": "praxis-service-alerts", "rules": service_alerts()},
        {"name": "praxis-dependency-alerts", "rules": dependency_alerts()},
    ]
