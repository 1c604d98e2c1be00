"""Liveness and readiness. Readiness asks each dependency with a short timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from service.infra.redis_client import RedisClient, ping

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


class DatabaseProbe:
    """A connection of the probe's own, opened again after any failure. Not the ORM's pool:
    a full pool says nothing about the database (and would fail readiness under load), a hung
    server would hold a pool connection's release, and the pool belongs to the event loop that
    opened it while apps sharing a process (the tests) each probe from their own loop.
    Concurrent callers (readiness while the periodic watch probes) share one attempt."""

    def __init__(self, url: str, connect_options: Mapping[str, Any] | None = None) -> None:
        self._url = url
        # asyncpg's options for this server (the driver's for a transaction pooler).
        self._connect_options = dict(connect_options or {})
        self._conn: asyncpg.Connection | None = None
        self._attempt: asyncio.Future[CheckResult] | None = None

    async def check(self) -> CheckResult:
        if self._attempt is None or self._attempt.done():
            self._attempt = asyncio.ensure_future(self._ask())
        # Shielded: a caller that gives up does not cancel the attempt others wait for.
        return await asyncio.shield(self._attempt)

    async def reachable(self) -> bool:
        return (await self.check()).status == "pass"

    async def _ask(self) -> CheckResult:
        started = time.perf_counter()
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(
                    self._url, timeout=CHECK_TIMEOUT_SECONDS, **self._connect_options
                )
            # asyncpg's own timeout gives up at once; cancelling would wait for the server.
            await self._conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT_SECONDS)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self.close()
            return CheckResult("fail", _elapsed_ms(started), _describe(exc))
        return CheckResult("pass", _elapsed_ms(started))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.terminate()  # no goodbye to a server that may be gone
            self._conn = None


async def check_redis(redis: RedisClient | None) -> CheckResult:
    started = time.perf_counter()
    if redis is None:
        return CheckResult("warn", 0.0, "no Redis configured: in-process fallbacks serving")
    try:
        await asyncio.wait_for(ping(redis), CHECK_TIMEOUT_SECONDS)
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
