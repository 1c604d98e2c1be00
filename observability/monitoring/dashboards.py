"""The Grafana dashboards: service overview, dependencies and SLOs. Panels read the recording
rules; every query is a target's ``expr`` (the Prometheus harness test evaluates each one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from observability.monitoring.rules import CACHE_LOOKUPS, DECISIONS
from observability.monitoring.slo import (
    BURN_RATE_ALERTS,
    JOB,
    NOT_USER_TRAFFIC,
    SLI_WINDOWS,
    SLIS,
    SLO_PERIOD,
    Sli,
)

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # provisioned with this fixed uid
WIDTH, HEIGHT, COLUMNS = 12, 8, 2
Json = dict[str, Any]


@dataclass(frozen=True)
class Panel:
    title: str
    targets: tuple[tuple[str, str], ...]  # (expr, legend)
    unit: str = "short"
    kind: str = "timeseries"
    description: str = ""
    thresholds: tuple[float, ...] = field(default=())

    def to_json(self, panel_id: int) -> Json:
        row, column = divmod(panel_id - 1, COLUMNS)
        steps: list[Json] = [{"color": "green", "value": None}]
        steps += [
            {"color": color, "value": value}
            for color, value in zip(("yellow", "orange", "red"), self.thresholds, strict=False)
        ]
        defaults: Json = {"unit": self.unit, "thresholds": {"mode": "absolute", "steps": steps}}
        if self.kind == "timeseries" and self.thresholds:
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        return {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": DATASOURCE,
            "gridPos": {"x": column * WIDTH, "y": row * HEIGHT, "w": WIDTH, "h": HEIGHT},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom"}}
            if self.kind == "timeseries"
            else {"reduceOptions": {"calcs": ["lastNotNull"]}},
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "datasource": DATASOURCE,
                    "expr": expr,
                    "legendFormat": legend,
                }
                for i, (expr, legend) in enumerate(self.targets)
            ],
        }


def dashboard(uid: str, title: str, panels: list[Panel]) -> Json:
    return {
        "uid": uid,
        "title": title,
        "tags": ["praxis"],
        "timezone": "utc",
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": []},
        "panels": [panel.to_json(i) for i, panel in enumerate(panels, start=1)],
    }


def overview() -> Json:
    quantiles = [
        Panel(
            f"Latency p{q} by route",
            ((f"job_route:praxis_http_request_duration_seconds:p{q}_5m", "{{route}}"),),
            unit="s",
        )
        for q in ("50", "95", "99")
    ]
    return dashboard(
        "praxis-overview",
        "Praxis / Service overview",
        [
            Panel(
                "Requests per second by route",
                (("job_route:praxis_http_requests:rate5m", "{{route}}"),),
                unit="reqps",
            ),
            Panel(
                "Requests per second by status",
                (
                    (
                        (
                            "sum by (status) "
                            f"(rate(praxis_http_requests_total{{{NOT_USER_TRAFFIC}}}[5m]))"
                        ),
                        "{{status}}",
                    ),
                ),
                unit="reqps",
            ),
            Panel(
                "5xx ratio by route",
                (
                    ("job_route:praxis_http_errors:ratio_rate5m", "{{route}}"),
                    ("job:praxis_http_errors:ratio_rate5m", "all routes"),
                ),
                unit="percentunit",
            ),
            *quantiles,
            Panel(
                "Requests in flight by instance",
                (("sum by (instance) (praxis_http_requests_in_flight)", "{{instance}}"),),
            ),
            Panel(
                "Scrape targets up",
                ((f'up{{job="{JOB}"}}', "{{instance}}"),),
                description="1 when Prometheus scraped the instance's /metrics.",
            ),
            Panel(
                "Instances by version",
                (("count by (version) (praxis_build_info)", "{{version}}"),),
                kind="stat",
            ),
        ],
    )


def dependencies() -> Json:
    refusals = "job_policy_mode:praxis_rate_limit_refusals:rate5m"
    return dashboard(
        "praxis-dependencies",
        "Praxis / Dependencies",
        [
            Panel(
                "Query p95 by operation",
                (("job_operation:praxis_db_query_duration_seconds:p95_5m", "{{operation}}"),),
                unit="s",
            ),
            Panel(
                "Slow queries per second by operation",
                (("job_operation:praxis_db_slow_queries:rate5m", "{{operation}}"),),
                description="Statements slower than SLOW_QUERY_MS (also logged, with the route).",
            ),
            Panel(
                "SQL queries per request by route",
                (
                    ("job_route:praxis_db_queries_per_request:mean5m", "{{route}} mean"),
                    ("job_route:praxis_db_queries_per_request:p95_5m", "{{route}} p95"),
                ),
                description="A count that grows with traffic or page size is an N+1.",
            ),
            Panel(
                "Cache hit ratio by tier",
                (("job_cache:praxis_cache_hit:ratio_rate5m", "{{cache}}"),),
                unit="percentunit",
            ),
            Panel(
                "Cache lookups by tier and result",
                ((CACHE_LOOKUPS, "{{cache}} {{result}}"),),
                unit="ops",
            ),
            Panel(
                "Redis errors",
                (
                    (
                        f'sum by (cache) ({CACHE_LOOKUPS}{{result="error"}})',
                        "{{cache}}",
                    ),
                ),
                unit="ops",
                description="Lookups that failed or skipped Redis; the local tier answered.",
            ),
            Panel(
                "Rate-limit decisions by policy",
                ((f"sum by (policy, decision) ({DECISIONS})", "{{policy}} {{decision}}"),),
                unit="reqps",
            ),
            Panel(
                "Rate-limit refusals (enforce) and would-be refusals (shadow)",
                (
                    (f'{refusals}{{mode="enforce"}}', "{{policy}} refused"),
                    (f'{refusals}{{mode="shadow"}}', "{{policy}} would refuse (shadow)"),
                ),
                unit="reqps",
                description="With RATE_LIMIT_MODE=shadow the limiter counts, but never refuses.",
            ),
            Panel(
                "Dependency up by instance",
                (
                    (
                        "min by (instance, dependency) (praxis_dependency_up)",
                        "{{instance}} {{dependency}}",
                    ),
                ),
            ),
        ],
    )


def slo_panels(sli: Sli) -> list[Panel]:
    period_ratio = sli.ratio_series(SLO_PERIOD)
    objective = f"{sli.objective * 100:g} %"
    return [
        Panel(
            f"{sli.title}: error budget remaining ({SLO_PERIOD})",
            ((f"1 - {period_ratio} / {sli.budget}", "{{job}}"),),
            unit="percentunit",
            kind="stat",
            description=f"Objective {objective}; the budget is {sli.budget} of requests.",
        ),
        Panel(
            f"{sli.title}: burn rate",
            tuple((f"{sli.ratio_series(w)} / {sli.budget}", w) for w in SLI_WINDOWS),
            description="1 spends the budget exactly over the period; lines: alert thresholds.",
            thresholds=tuple(sorted(row.factor for row in BURN_RATE_ALERTS)),
        ),
    ]


def slo() -> Json:
    return dashboard(
        "praxis-slo", "Praxis / SLOs", [panel for sli in SLIS for panel in slo_panels(sli)]
    )


DASHBOARDS = {"overview": overview, "dependencies": dependencies, "slo": slo}
