"""/metrics of a real ``praxis serve`` with WORKERS=2 (prometheus_client's multiprocess mode):
every family described from the first scrape, requests counted whichever worker served them,
dependencies reported as they are now, and no gauge left behind by a worker that died."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.observability.scrape import SPEC_FAMILIES, Scrape, scrape, scrape_until
from tests.support.processes import (
    PrivateRedis,
    base_url_of,
    praxis_serve,
    running_private_redis,
    serve_env,
)

WORKERS = 2
ROUTE = "/api/v1/tags"  # one statement, no token
PER_WORKER_GAUGE = "praxis_process_resident_memory_bytes"


@dataclass
class Served:
    base_url: str
    metrics_dir: Path
    main_pid: int


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    with running_private_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def two_workers(
    database_url: str, private_redis: PrivateRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("data")
    env = serve_env(
        database_url=database_url,
        redis_url=private_redis.url,
        workers=WORKERS,
        data_dir=data_dir,
    )
    with praxis_serve(env, data_dir / "server.log") as process:
        yield Served(base_url_of(env), data_dir / "metrics", process.pid)


def burst(base_url: str, path: str, count: int) -> list[int]:
    """``count`` concurrent requests, each on a connection of its own so both workers take some."""

    async def all_of() -> list[int]:
        no_reuse = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=no_reuse, timeout=10) as http:
            responses = await asyncio.gather(*(http.get(path) for _ in range(count)))
            return [response.status_code for response in responses]

    return asyncio.run(all_of())


def worker_pids(result: Scrape) -> set[str]:
    return result.label_values(PER_WORKER_GAUGE, "pid")


def test_the_first_scrape_describes_every_family(two_workers: Served) -> None:
    result = scrape(two_workers.base_url)  # only probes were served before

    for family, kind in SPEC_FAMILIES.items():
        assert result.types.get(family) == kind, family
        exposed = family + "_total" if kind == "counter" else family
        assert f"# HELP {exposed} " in result.text
        assert f"# TYPE {exposed} {kind}" in result.text
    assert result.value("praxis_build_info") == 1
    assert result.value("praxis_dependency_up", dependency="database") == 1


def test_requests_are_counted_whichever_worker_served_them(two_workers: Served) -> None:
    before = scrape(two_workers.base_url)
    statuses: list[int] = []
    # Until both workers have served some (bounded): the kernel spreads new connections.
    for _ in range(5):
        statuses += burst(two_workers.base_url, ROUTE, 20)
        if len(served_the_route(two_workers.metrics_dir)) == WORKERS:
            break
    after = scrape(two_workers.base_url)

    assert len(served_the_route(two_workers.metrics_dir)) == WORKERS
    assert statuses == [200] * len(statuses)
    labels = {"method": "GET", "route": ROUTE}
    counted = "praxis_http_requests_total"
    timed = "praxis_http_request_duration_seconds_count"
    assert after.value(counted, status="200", **labels) - before.value(
        counted, status="200", **labels
    ) == len(statuses)
    assert after.value(timed, **labels) - before.value(timed, **labels) == len(statuses)
    # Probes and scrapes are counted, never timed.
    assert after.value(counted, route="/metrics") >= 2
    assert after.value(timed, route="/metrics") == 0
    assert after.value("praxis_http_requests_in_flight") == 0


def served_the_route(metrics_dir: Path) -> set[str]:
    """Pids of the workers whose histogram file holds an observation of ROUTE."""
    from prometheus_client.mmap_dict import MmapedDict

    pids = set()
    for path in metrics_dir.glob("histogram_*.db"):
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):  # type: ignore[no-untyped-call]
            ours = f'"route": "{ROUTE}"' in key and key.startswith('["praxis_http_request_dur')
            if ours and value > 0:
                pids.add(path.stem.removeprefix("histogram_"))
    return pids


def test_dependency_up_follows_redis_without_anyone_asking(
    two_workers: Served, private_redis: PrivateRedis
) -> None:
    def redis_up(result: Scrape) -> float:
        return result.value("praxis_dependency_up", dependency="redis")

    assert redis_up(scrape(two_workers.base_url)) == 1
    private_redis.stop()
    scrape_until(two_workers.base_url, lambda r: redis_up(r) == 0, "redis reported down")
    private_redis.start()
    up = scrape_until(two_workers.base_url, lambda r: redis_up(r) == 1, "redis reported up")
    assert up.value("praxis_dependency_up", dependency="database") == 1


def test_a_killed_worker_leaves_no_gauge_behind(two_workers: Served) -> None:
    pids = worker_pids(
        scrape_until(two_workers.base_url, lambda r: len(worker_pids(r)) == 2, "pids")
    )
    assert str(two_workers.main_pid) not in pids  # the main process serves nothing
    victim = sorted(pids)[0]

    os.kill(int(victim), signal.SIGKILL)
    result = scrape_until(
        two_workers.base_url, lambda r: victim not in worker_pids(r), "the dead worker's gauges"
    )

    assert worker_pids(result) == pids - {victim}
    assert not list(two_workers.metrics_dir.glob(f"gauge_live*_{victim}.db"))
    assert result.value("praxis_dependency_up", dependency="database") == 1
    assert "praxis_http_requests_in_flight 0.0" in result.text
