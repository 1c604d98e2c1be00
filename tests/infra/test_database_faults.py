"""PostgreSQL faults under traffic, with real processes: a two-worker ``praxis serve`` on a
PostgreSQL cluster of this module's own, while members start and complete sessions. The database
is restarted, hung (SIGSTOP) and its pool exhausted (rows locked from outside): readiness fails
quickly, requests answer 503 within the configured bounds (never a 500, never a hang), the
service recovers by itself, and every write acknowledged with a 2xx is in the database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.support.api import CONTENT, SESSIONS
from tests.support.caches import REDIS_URL
from tests.support.postgres import PrivatePostgres, running_private_postgres
from tests.support.processes import free_port, praxis_serve
from tests.support.traffic import (
    Member,
    Practice,
    Traffic,
    eventually,
    sign_up_members,
)

WORKERS = 2
MEMBERS = 6
POOL_MAX_SIZE = 2
ACQUIRE_TIMEOUT = 0.5
COMMAND_TIMEOUT = 2.0
# A request that meets a broken database answers within this: a statement's timeout, then the
# release of its connection (the acquire's timeout), plus the slack of a loaded machine.
REQUEST_BOUND_SECONDS = COMMAND_TIMEOUT + 2 * ACQUIRE_TIMEOUT + 1.5
READY_FAILS_WITHIN_SECONDS = 2.0
RECOVERY_WITHIN_SECONDS = 20.0


@dataclass(frozen=True)
class Served:
    base_url: str
    database: PrivatePostgres
    members: list[Member]
    content_slug: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with running_private_postgres(tmp_path_factory.mktemp("faults-pg")) as database:
        data_dir = tmp_path_factory.mktemp("faults-data")
        env = {
            "ENV": "test",
            "DATABASE_URL": database.url,
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": f"praxis-faults-{uuid.uuid4().hex[:8]}:",
            "PORT": str(free_port()),
            "WORKERS": str(WORKERS),
            "JWT_SECRET": "faults-secret-" + "x" * 40,
            "RATE_LIMIT_AUTH": "100000/minute",
            "RATE_LIMIT_USER": "100000/minute",
            "RATE_LIMIT_ANON": "100000/minute",
            "DB_POOL_MAX_SIZE": str(POOL_MAX_SIZE),
            "DB_ACQUIRE_TIMEOUT_SECONDS": str(ACQUIRE_TIMEOUT),
            "DB_COMMAND_TIMEOUT_SECONDS": str(COMMAND_TIMEOUT),
            "DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING",
        }
        seed = [sys.executable, "-m", "service", "seed", "--demo"]
        subprocess.run(seed, env=_environ(env), check=True, capture_output=True, timeout=120)
        with praxis_serve(env, data_dir / "server.log"):
            base_url = f"http://127.0.0.1:{env['PORT']}"
            members = asyncio.run(sign_up_members(base_url, MEMBERS))
            slug = httpx.get(base_url + CONTENT, timeout=10).json()["items"][0]["slug"]
            yield Served(base_url, database, members, slug)


def _environ(env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **env}


async def _ready_status(base_url: str) -> int:
    async with httpx.AsyncClient(timeout=READY_FAILS_WITHIN_SECONDS) as http:
        try:
            return (await http.get(base_url + "/health/ready")).status_code
        except httpx.TimeoutException:
            return 0


async def _readiness_is(base_url: str, status: int) -> bool:
    return await _ready_status(base_url) == status


async def _practised_since(traffic: Traffic, moment: float, count: int) -> bool:
    recovered = [a for a in traffic.since(moment) if 200 <= a.status < 300]
    return len(recovered) >= count


async def _unacknowledged(database_url: str, traffic: Traffic) -> tuple[set[str], dict[str, str]]:
    """Acknowledged writes missing from the database: sessions absent, and the sessions whose
    acknowledged completion is not there, with the status they have instead."""
    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT id::text, status FROM practice_sessions WHERE id = ANY($1::uuid[])",
            # Members may complete a session an earlier test started.
            [*traffic.started_ids, *traffic.completed_ids],
        )
    finally:
        await conn.close()
    status = {row["id"]: row["status"] for row in rows}
    missing = set(traffic.started_ids) - set(status)
    not_completed = {
        i: status.get(i, "absent") for i in traffic.completed_ids if status.get(i) != "completed"
    }
    return missing, not_completed


def _assert_only_503_failures(traffic: Traffic) -> None:
    statuses = traffic.statuses()
    failures = {s: n for s, n in statuses.items() if s >= 500 or s == 0}
    assert set(failures) <= {503}, statuses
    assert traffic.slowest() < REQUEST_BOUND_SECONDS, traffic.slowest()


def test_a_restarted_database_answers_503_then_recovers_keeping_every_acknowledged_write(
    served: Served,
) -> None:
    async def scenario() -> Traffic:
        async with Practice(served.base_url, served.members, served.content_slug) as traffic:
            await eventually(lambda: _practised_since(traffic, 0, 20), 20, "traffic")
            await asyncio.to_thread(served.database.stop)
            await eventually(
                lambda: _readiness_is(served.base_url, 503), READY_FAILS_WITHIN_SECONDS, "fail"
            )
            down = time.monotonic()
            await eventually(
                lambda: _has_503_since(traffic, down), REQUEST_BOUND_SECONDS, "503 while down"
            )
            await asyncio.to_thread(served.database.start)
            up = time.monotonic()
            await eventually(
                lambda: _practised_since(traffic, up, 20), RECOVERY_WITHIN_SECONDS, "recovery"
            )
        return traffic

    traffic = asyncio.run(scenario())
    _assert_only_503_failures(traffic)
    assert asyncio.run(_readiness_is(served.base_url, 200))
    assert asyncio.run(_unacknowledged(served.database.url, traffic)) == (set(), {})


async def _has_503_since(traffic: Traffic, moment: float) -> bool:
    return any(answer.status == 503 for answer in traffic.since(moment))


def test_a_hung_database_fails_requests_within_bounds_and_recovers_on_sigcont(
    served: Served,
) -> None:
    async def scenario() -> tuple[Traffic, float]:
        async with Practice(served.base_url, served.members, served.content_slug) as traffic:
            await eventually(lambda: _practised_since(traffic, 0, 10), 20, "traffic")
            with served.database.paused():
                hung = time.monotonic()
                ready_failed = await eventually(
                    lambda: _readiness_is(served.base_url, 503), READY_FAILS_WITHIN_SECONDS, "fail"
                )
                # Held until a statement sent to the hung server has timed out: the bound on
                # what was in flight, not just on what could not get a connection.
                await eventually(
                    lambda: _statement_timed_out_since(traffic, hung),
                    REQUEST_BOUND_SECONDS,
                    "a statement timing out",
                )
            resumed = time.monotonic()
            await eventually(
                lambda: _practised_since(traffic, resumed, 20), RECOVERY_WITHIN_SECONDS, "recovery"
            )
        return traffic, ready_failed

    traffic, ready_failed = asyncio.run(scenario())
    assert ready_failed < READY_FAILS_WITHIN_SECONDS
    _assert_only_503_failures(traffic)
    assert asyncio.run(_readiness_is(served.base_url, 200))
    assert asyncio.run(_unacknowledged(served.database.url, traffic)) == (set(), {})


async def _timed_get(
    http: httpx.AsyncClient, path: str, token: str
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    return response, time.monotonic() - started


def test_more_database_requests_than_the_pools_hold_wait_briefly_then_answer_503(
    served: Served,
) -> None:
    member = served.members[0]
    crowd = WORKERS * POOL_MAX_SIZE * 3

    async def scenario() -> list[tuple[httpx.Response, float]]:
        limits = httpx.Limits(max_connections=crowd)
        async with httpx.AsyncClient(base_url=served.base_url, timeout=15, limits=limits) as http:
            started = await http.post(
                SESSIONS,
                headers={"Authorization": f"Bearer {member.token}"},
                json={"content_slug": served.content_slug},
            )
            assert started.status_code == 201, started.text
            path = f"{SESSIONS}/{started.json()['id']}"
            locker = await asyncpg.connect(served.database.url, timeout=5)
            try:
                # Every read of a session now waits on this lock, holding its pool connection.
                async with locker.transaction():
                    await locker.execute("LOCK TABLE practice_sessions IN ACCESS EXCLUSIVE MODE")
                    answers, ready = await asyncio.gather(
                        asyncio.gather(
                            *(_timed_get(http, path, member.token) for _ in range(crowd))
                        ),
                        _ready_status(served.base_url),
                    )
                    # A busy pool is no reason to take the instance out: its probe has its own.
                    assert ready == 200
            finally:
                await locker.close()
            after, _ = await _timed_get(http, path, member.token)
            assert after.status_code == 200, after.text
        return list(answers)

    answers = asyncio.run(scenario())
    for response, seconds in answers:
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "SERVICE_UNAVAILABLE"
        assert int(response.headers["retry-after"]) >= 1
        assert seconds < REQUEST_BOUND_SECONDS
    # Those that never had a connection were refused after the acquire's wait, not the statement's.
    assert min(seconds for _, seconds in answers) < COMMAND_TIMEOUT


async def _statement_timed_out_since(traffic: Traffic, moment: float) -> bool:
    """A request in flight at ``moment`` or later answered 503 after its statement's timeout."""
    return any(
        answer.status == 503 and answer.seconds >= COMMAND_TIMEOUT and answer.ended > moment
        for answer in traffic.answers
    )
