"""Redis Cluster (``REDIS_CLUSTER=true``): a two-worker ``praxis serve`` whose ``REDIS_URL`` names
one node of a three-master cluster this module starts on free loopback ports. A quota is exact
across both workers; an admin write is read back at once; the keys a script or one MGET touches
share a slot; and with a master killed mid-run every request is answered by the fallbacks, until
the master is back and the service uses the cluster again, without a restart.

The failover test kills a master (whose keys are then gone), so it comes last."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from service.config import Settings
from service.infra.redis_client import redis_answers
from tests.observability.scrape import Scrape, scrape
from tests.support.api import ADMIN_CONTENT, API, CONTENT, ME
from tests.support.factories import Account, Factories
from tests.support.metrics import rate_limit_decisions_by_worker
from tests.support.processes import base_url_of, praxis_serve, serve_env
from tests.support.redis_cluster import PrivateRedisCluster, running_redis_cluster
from tests.support.traffic import eventually

WORKERS = 2
QUOTA = 12  # anonymous requests per hour: none refills during this module
# Requests of one client at once, each on a new connection: both workers take some, and the
# machine is not loaded past the 50 ms Redis timeouts (which would decide in-process, by design).
CONCURRENCY = 4
# Enough concurrent commands for redis-py to close connections under one another when a master
# dies (the RuntimeError and AttributeError of service/infra/redis_client.REDIS_FAILURES).
STREAM_CLIENTS = 16
STREAM_ANSWERS = 60  # before the kill, in each phase of the outage, and after the recovery
DEADLINE_SECONDS = 20.0
NEW_CONNECTIONS = httpx.Limits(max_keepalive_connections=0)
FIRST_STREAM_CLIENT = IPv4Address("10.0.0.0")
ADMIN_USERS = f"{API}/admin/users"
SECRET_NEVER_QUOTED = "s3cr3t"  # noqa: S105 - short: a quoted dict of settings is cut at its middle


@dataclass(frozen=True)
class Served:
    base_url: str
    key_prefix: str
    metrics_dir: Path

    def redis_readiness_is(self, status: str) -> Callable[[], Awaitable[bool]]:
        """Whether ``/health/ready``, asked on a new connection (any worker), rates Redis so."""

        def rated() -> bool:
            with httpx.Client(base_url=self.base_url, timeout=10) as fresh:
                checks = fresh.get("/health/ready").json()["checks"]
            return bool(checks["redis"][0]["status"] == status)

        async def check() -> bool:
            return await asyncio.to_thread(rated)

        return check


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedisCluster]:
    with running_redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as started:
        yield started


@pytest.fixture(scope="module")
def served(
    settings: Settings, cluster: PrivateRedisCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("data")
    env = serve_env(
        database_url=settings.database_url,
        redis_url=cluster.seed_url,
        workers=WORKERS,
        data_dir=data_dir,
        REDIS_CLUSTER="true",
        JWT_SECRET=settings.jwt_secret,  # the factories' tokens
        # Each test is a client of its own behind the one trusted proxy, by X-Forwarded-For.
        PROXIES_COUNT="1",
        RATE_LIMIT_ANON=f"{QUOTA}/hour",
    )
    with praxis_serve(env, data_dir / "server.log"):
        yield Served(base_url_of(env), env["REDIS_KEY_PREFIX"], data_dir / "metrics")


def test_a_cluster_needs_redis_url_to_name_one_of_its_nodes_and_database_0() -> None:
    for url in ("auto", "none"):
        with pytest.raises(ValidationError, match="REDIS_CLUSTER=true needs REDIS_URL") as refused:
            Settings(redis_cluster=True, redis_url=url, jwt_secret=SECRET_NEVER_QUOTED)
        assert SECRET_NEVER_QUOTED not in str(refused.value)  # the CLI prints the error
    with pytest.raises(ValidationError, match="database 0 alone"):
        Settings(redis_cluster=True, redis_url="redis://redis-0:6379/2")
    for url in ("redis://redis-0:6379/0", "redis://redis-0:6379"):
        assert Settings(redis_cluster=True, redis_url=url).redis_cluster


def test_the_probe_of_praxis_check_answers_for_the_cluster_and_not_for_a_single_redis(
    cluster: PrivateRedisCluster, settings: Settings
) -> None:
    assert asyncio.run(redis_answers(cluster.seed_url, cluster=True))
    # The machine's Redis is no cluster: the cluster client cannot learn a topology from it.
    assert not asyncio.run(redis_answers(settings.redis_url, cluster=True))


async def _anonymous(base_url: str, client_ip: str, count: int) -> list[int]:
    """``count`` requests of one client, ``CONCURRENCY`` at a time, each on a new connection."""
    headers = {"X-Forwarded-For": client_ip}
    async with httpx.AsyncClient(base_url=base_url, limits=NEW_CONNECTIONS, timeout=10) as http:
        statuses: list[int] = []
        while len(statuses) < count:
            sent = (http.get(ME, headers=headers) for _ in range(CONCURRENCY))
            statuses += [response.status_code for response in await asyncio.gather(*sent)]
        return statuses


def quota_round(served: Served, client_ip: str) -> tuple[list[int], Counter[str]]:
    """Requests by one client, three quotas' worth and more until both workers have decided
    some (bounded; the kernel hands a new connection to either): their statuses, and the
    decisions each worker made meanwhile."""
    before = rate_limit_decisions_by_worker(served.metrics_dir)
    statuses: list[int] = []
    decided: Counter[str] = Counter()
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(statuses) < 3 * QUOTA or (len(decided) < WORKERS and time.monotonic() < deadline):
        statuses += asyncio.run(_anonymous(served.base_url, client_ip, QUOTA))
        decided = rate_limit_decisions_by_worker(served.metrics_dir) - before
    return statuses, decided


def test_the_quota_is_exact_across_both_workers(served: Served) -> None:
    statuses, decided = quota_round(served, "203.0.113.10")

    assert len(decided) == WORKERS, decided  # both workers decided some
    assert statuses.count(401) == QUOTA  # allowed: the route's own answer without a token
    assert statuses.count(429) == len(statuses) - QUOTA


def fresh_reads(served: Served, path: str, reads: int = 6) -> list[httpx.Response]:
    """``reads`` GETs, each on a new connection: any worker."""
    with httpx.Client(base_url=served.base_url, limits=NEW_CONNECTIONS, timeout=10) as http:
        return [http.get(path) for _ in range(reads)]


def cache_hits(result: Scrape) -> float:
    return sum(
        result.value("praxis_cache_requests_total", cache=tier, result="hit")
        for tier in ("redis", "local")
    )


def titles(responses: list[httpx.Response]) -> set[tuple[int, tuple[str, ...]]]:
    return {(r.status_code, tuple(i["title"] for i in r.json()["items"])) for r in responses}


def test_an_admin_write_is_visible_to_the_next_read_of_the_cached_list(
    served: Served, make: Factories
) -> None:
    # A category of this test's own: no entry cached by an earlier test matches it.
    item, editor = make.content(title="Joins", category="cluster-joins"), make.editor()
    listing = f"{CONTENT}?category=cluster-joins"
    before = scrape(served.base_url)
    assert titles(fresh_reads(served, listing)) == {(200, ("Joins",))}
    assert cache_hits(scrape(served.base_url)) > cache_hits(before)  # answered from the cache

    response = httpx.patch(
        f"{served.base_url}{ADMIN_CONTENT}/{item.id}",
        headers=editor.auth,
        json={"title": "Outer joins"},
    )

    assert response.status_code == 200
    assert titles(fresh_reads(served, listing)) == {(200, ("Outer joins",))}


def test_the_keys_of_one_namespace_or_one_user_share_a_slot(
    served: Served, cluster: PrivateRedisCluster, make: Factories
) -> None:
    make.content(slug="slots", category="cluster-slots")
    user, admin = make.user(), make.admin()
    headers = {"Authorization": f"Bearer {user.token}"}
    with httpx.Client(base_url=served.base_url, headers=headers, timeout=10) as http:
        # Cached, then invalidated by a role granted (its version counter bumped), cached again.
        for _ in range(2):
            assert http.get(ME).status_code == 200
            granted = {"roles": ["member", "editor"]}
            roles = http.put(f"{ADMIN_USERS}/{user.id}/roles", headers=admin.auth, json=granted)
            assert roles.status_code == 200
        for path in (f"{CONTENT}/slots", f"{CONTENT}?category=cluster-slots"):
            assert http.get(path).status_code == 200

    prefix = served.key_prefix
    content = cluster.keys_matching(prefix + "cache:{content}:*")
    principal = cluster.keys_matching(f"{prefix}principal:*:{{{user.id}}}")
    # The generation and the entries (the item, the list): one slot, as the lookup script needs.
    assert len(content) >= 3
    assert len({cluster.slot_of(key) for key in content}) == 1
    # The user's cached permissions and version counter: one slot, read by one MGET.
    assert len(principal) == 2
    assert len({cluster.slot_of(key) for key in principal}) == 1


@dataclass
class Stream:
    """Clients sending requests again and again (a bearer's profile, the cached content list, an
    anonymous client's), until stopped; every status kept (0: no answer)."""

    base_url: str
    token: str
    statuses: list[int] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _clients: Iterator[int] = field(default_factory=itertools.count)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=STREAM_CLIENTS)
        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=15) as http:
            await asyncio.gather(*(self._send(http) for _ in range(STREAM_CLIENTS)))

    async def _send(self, http: httpx.AsyncClient) -> None:
        bearer = {"Authorization": f"Bearer {self.token}"}
        while not self._stopping.is_set():
            # An anonymous client of its own each time: no quota is reached.
            client = FIRST_STREAM_CLIENT + next(self._clients)
            anonymous = {"X-Forwarded-For": str(client)}
            for path, headers in ((ME, bearer), (CONTENT, bearer), (CONTENT, anonymous)):
                try:
                    self.statuses.append((await http.get(path, headers=headers)).status_code)
                except httpx.TransportError:
                    self.statuses.append(0)

    async def answered(self, count: int) -> None:
        async def enough() -> bool:
            return len(self.statuses) >= count

        await eventually(enough, DEADLINE_SECONDS, f"{count} answers")

    def stop(self) -> None:
        self._stopping.set()


async def _through_a_failover(
    served: Served, cluster: PrivateRedisCluster, member: Account
) -> Stream:
    """A stream of requests while the seed node (a master) is killed, the cluster goes down, and
    the node is started again. Readiness must warn of Redis while the master is gone (the
    fallbacks serving), and pass again once the cluster is whole."""
    stream = Stream(served.base_url, member.token)
    running = asyncio.create_task(stream.run())
    await stream.answered(STREAM_ANSWERS)
    victim = cluster.nodes[0]
    victim.kill()
    await eventually(served.redis_readiness_is("warn"), DEADLINE_SECONDS, "readiness warns")
    await stream.answered(len(stream.statuses) + STREAM_ANSWERS)  # the other masters serve
    await asyncio.to_thread(cluster.wait_until_failed)
    await stream.answered(len(stream.statuses) + STREAM_ANSWERS)  # every master: CLUSTERDOWN
    await asyncio.to_thread(victim.start)  # its config file: the same node, slots and peers
    await asyncio.to_thread(cluster.wait_until_ok)
    await eventually(served.redis_readiness_is("pass"), DEADLINE_SECONDS, "readiness passes")
    await stream.answered(len(stream.statuses) + STREAM_ANSWERS)
    stream.stop()
    await running
    return stream


def test_a_master_killed_mid_run_costs_no_5xx_and_the_cluster_is_used_again(
    served: Served, cluster: PrivateRedisCluster, make: Factories
) -> None:
    make.content(category="cluster-failover")  # the list the stream reads is not empty
    stream = asyncio.run(_through_a_failover(served, cluster, make.user()))

    statuses = Counter(stream.statuses)
    assert set(statuses) == {200}, statuses  # no 5xx, no request left unanswered
    # The limiter is shared again: its buckets in the cluster, exact across both workers.
    client_ip = exact_again(served)
    assert cluster.keys_matching(f"{served.key_prefix}ratelimit:anon:{{{client_ip}}}")


def exact_again(served: Served) -> str:
    """The client whose round was exact, both workers deciding. A worker's breaker may still be
    resting from a last failure (it decides in-process meanwhile, with a fresh bucket): rounds of
    clients of their own, until one was decided in Redis alone (bounded)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    clients = (f"203.0.113.{100 + n}" for n in itertools.count())
    while True:
        client_ip = next(clients)
        statuses, decided = quota_round(served, client_ip)
        if statuses.count(401) == QUOTA and len(decided) == WORKERS:
            return client_ip
        if time.monotonic() > deadline:
            raise AssertionError(f"not exact again within {DEADLINE_SECONDS}s: {statuses}")
