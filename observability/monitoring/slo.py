"""The service level objectives and the burn-rate alert table, shared by rules and dashboards."""

from __future__ import annotations

from dataclasses import dataclass

JOB = "praxis"
# Probes and scrapes are not user traffic: left out of every request SLI and panel.
NOT_USER_TRAFFIC = 'route!~"/health.*|/metrics"'

AVAILABILITY_OBJECTIVE = 0.999  # of requests answered without a 5xx
LATENCY_OBJECTIVE = 0.99  # of requests answered within LATENCY_THRESHOLD seconds
LATENCY_THRESHOLD = "0.25"  # the le label of a bucket of the request-duration histogram
SLO_PERIOD = "30d"
SLI_WINDOWS = ("5m", "30m", "1h", "6h", "3d", SLO_PERIOD)


def _rate(series: str, matchers: str = "") -> str:
    """The rate of ``series`` by job over ``$window``, user traffic only."""
    selector = ", ".join(m for m in (matchers, NOT_USER_TRAFFIC) if m)
    return f"sum by (job) (rate({series}{{{selector}}}[$window]))"


@dataclass(frozen=True)
class Sli:
    """An SLI as the ratio of bad to all requests; ``name`` appears in series and alert names.
    ``bad_events`` and ``all_events`` are PromQL rates by job over ``$window``."""

    name: str
    title: str
    objective: float
    bad_events: str
    all_events: str

    @property
    def budget(self) -> str:
        """The error budget as a PromQL literal (1 - objective, without float noise)."""
        return f"{1 - self.objective:.6g}"

    def ratio_series(self, window: str) -> str:
        return f"job:praxis_slo_{self.name}_errors:ratio_rate{window}"

    def ratio_expr(self, window: str) -> str:
        return f"{self.bad_events}\n/ {self.all_events}".replace("$window", window)


_REQUESTS = _rate("praxis_http_requests_total")
_FAILED = _rate("praxis_http_requests_total", 'status=~"5.."')
_TIMED = _rate("praxis_http_request_duration_seconds_count")
_FAST = _rate("praxis_http_request_duration_seconds_bucket", f'le="{LATENCY_THRESHOLD}"')

AVAILABILITY = Sli(
    name="availability",
    title="Availability",
    objective=AVAILABILITY_OBJECTIVE,
    # No 5xx yet is a ratio of 0, not "no data": the alerts and the budget stay evaluable.
    bad_events=f"(\n  {_FAILED}\n  or 0 * {_REQUESTS}\n)",
    all_events=_REQUESTS,
)
LATENCY = Sli(
    name="latency",
    title="Latency",
    objective=LATENCY_OBJECTIVE,
    bad_events=f"(\n  {_TIMED}\n  - {_FAST}\n)",
    all_events=_TIMED,
)
SLIS = (AVAILABILITY, LATENCY)


@dataclass(frozen=True)
class BurnRateAlert:
    """One row of the SRE workbook's multi-window, multi-burn-rate table: fire when both windows
    burn the budget ``factor`` times faster than the SLO period allows."""

    speed: str  # Fast, Medium or Slow: part of the alert name
    factor: float
    long_window: str
    short_window: str
    for_: str
    severity: str
    budget_spent: str  # share of the period's budget spent in long_window at this rate

    def alert_name(self, sli: Sli) -> str:
        return f"Praxis{sli.title}{self.speed}Burn"


BURN_RATE_ALERTS = (
    BurnRateAlert("Fast", 14.4, "1h", "5m", "2m", "page", "2 %"),
    BurnRateAlert("Medium", 6, "6h", "30m", "15m", "page", "5 %"),
    BurnRateAlert("Slow", 1, "3d", "6h", "1h", "ticket", "10 %"),
)
