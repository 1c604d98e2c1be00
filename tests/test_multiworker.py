"""What must hold across worker processes: a real ``praxis serve`` with WORKERS=2, on a private
redis-server this module owns (the machine's shared Redis is never stopped). The quota is shared
by both workers exactly; when Redis dies mid-run, each worker's in-process limiter takes over
with no 5xx."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import ME
from tests.support.metrics import rate_limit_decisions_by_worker
from tests.support.processes import PrivateRedis, base_url_of, praxis_serve, serve_env

WORKERS = 2
QUOTA = 12  # per hour: one request's worth refills every 5 minutes, never during this module
LIMITED_PATH = ME  # without a token: 401 before any database work


class ServedProcess:
    def __init__(self, base_url: str, metrics_dir: Path) -> None:
        self.base_url = base_url
        self.metrics_dir = metrics_dir

    def workers_that_decided(self) -> set[str]:
        """Worker pids whose metrics files hold a rate-limit decision (one file per process)."""
        return set(rate_limit_decisions_by_worker(self.metrics_dir))


@pytest.fixture(scope="module")
def two_workers(
    database_url: str, private_redis: PrivateRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedProcess]:
    data_dir = tmp_path_factory.mktemp("data")
    env = serve_env(
        database_url=database_url,
        redis_url=private_redis.url,
        workers=WORKERS,
        data_dir=data_dir,
        RATE_LIMIT_ANON=f"{QUOTA}/hour",
        # Each test is a client of its own behind the one trusted proxy, by X-Forwarded-For.
        PROXIES_COUNT="1",
    )
    with praxis_serve(env, data_dir / "server.log"):
        yield ServedProcess(base_url_of(env), data_dir / "metrics")


def burst(base_url: str, client_ip: str, count: int) -> list[int]:
    """``count`` concurrent requests, each on a connection of its own so both workers take some."""

    async def one(http: httpx.AsyncClient) -> int:
        response = await http.get(LIMITED_PATH, headers={"X-Forwarded-For": client_ip})
        return response.status_code

    async def all_of() -> list[int]:
        no_reuse = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=no_reuse, timeout=10) as http:
            return list(await asyncio.gather(*(one(http) for _ in range(count))))

    return asyncio.run(all_of())


def test_the_quota_is_shared_exactly_by_both_workers(two_workers: ServedProcess) -> None:
    statuses: list[int] = []
    # Until both workers have decided some (bounded): each burst only adds refusals.
    for _ in range(5):
        statuses += burst(two_workers.base_url, "203.0.113.10", 3 * QUOTA)
        if len(two_workers.workers_that_decided()) == WORKERS:
            break

    assert len(two_workers.workers_that_decided()) == WORKERS
    assert statuses.count(401) == QUOTA  # allowed: the route's own answer without a token
    assert statuses.count(429) == len(statuses) - QUOTA


def test_when_redis_dies_mid_run_each_worker_limits_on_its_own_without_errors(
    two_workers: ServedProcess, private_redis: PrivateRedis
) -> None:
    client_ip = "203.0.113.20"
    before = burst(two_workers.base_url, client_ip, 4)
    private_redis.stop()
    assert not private_redis.answers()

    after = burst(two_workers.base_url, client_ip, 6 * QUOTA)
    again = burst(two_workers.base_url, client_ip, 6 * QUOTA)

    assert before == [401] * 4
    assert set(after + again) <= {401, 429}  # no 5xx, and never a dropped request
    # Per-worker buckets: at most the quota in each worker, then refusals.
    assert (after + again).count(401) <= WORKERS * QUOTA
    assert (after + again).count(429) >= 12 * QUOTA - WORKERS * QUOTA
