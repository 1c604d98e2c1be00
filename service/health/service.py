"""Liveness and readiness. Readiness asks each dependency with a short timeout."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from service.infra import db

CHECK_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class CheckResult:
    status: str  # "pass", "warn" or "fail", as in draft-inadarei-api-health-check
    duration_ms: float
    output: str | None = None

    def as_json(self, component_type: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "status": self.status,
            "componentType": component_type,
            "observedValue": round(self.duration_ms, 2),
            "observedUnit": "ms",
        }
        if self.output:
            entry["output"] = self.output
        return entry


async def check_database() -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(db.connection().execute_query("SELECT 1"), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return CheckResult("fail", _elapsed_ms(started), _describe(exc))
    return CheckResult("pass", _elapsed_ms(started))


async def check_redis(redis: Redis | None) -> CheckResult:
    started = time.perf_counter()
    if redis is None:
        return CheckResult("warn", 0.0, "no Redis configured: in-process fallbacks serving")
    try:
        await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - fallbacks keep serving: a warning, not a failure
        return CheckResult("warn", _elapsed_ms(started), _describe(exc) + "; fallbacks serving")
    return CheckResult("pass", _elapsed_ms(started))


def overall_status(results: list[CheckResult]) -> str:
    statuses = {r.status for r in results}
    if "fail" in statuses:
        return "fail"
    return "warn" if "warn" in statuses else "pass"


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return type(exc).__name__
