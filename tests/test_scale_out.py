"""Scaling out: two instances (``praxis serve``, two workers each, ``PROXIES_COUNT=1``) sharing
the test database and a Redis of this module's own, behind a real nginx configured by
deploy/nginx.conf. What must hold across instances holds through the proxy: one anonymous quota,
an admin write read back by both at once, a role change applied by both at once; and stopping
one instance under load costs the clients of idempotent reads nothing.

The drain test stops instance A for good, so it comes last."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from service.config import Settings
from tests.observability.scrape import Scrape, scrape
from tests.support.api import ADMIN_CONTENT, API, CONTENT, ME, SESSIONS
from tests.support.factories import Account, Factories
from tests.support.nginx import Nginx, UpstreamRecord, running_nginx
from tests.support.processes import (
    STOP_TIMEOUT_SECONDS,
    PrivateRedis,
    base_url_of,
    praxis_serve_all,
    sanic_workers_of,
    serve_env,
)
from tests.support.traffic import eventually

WORKERS = 2
QUOTA = 12  # anonymous requests per hour: none refills during this module
# Fresh connections per instance for each "next request" check, so both workers take some.
READS = 6
NEW_CONNECTIONS = httpx.Limits(max_keepalive_connections=0)
# A client address of its own (all of 127.0.0.0/8 is this machine): the quota test's bucket.
QUOTA_CLIENT_ADDRESS = "127.0.0.2"
LOAD_CLIENTS = 16  # concurrent readers through nginx
WRITE_CLIENTS = 4  # concurrent writers through nginx
DIRECT_CLIENTS = 4  # concurrent readers of instance B itself
LOAD_ANSWERS = 150  # through nginx before the SIGTERM, and again after A has exited
LOAD_DEADLINE_SECONDS = 30.0
PROBE_SECONDS = 0.02  # between connection attempts to the stopping instance
ADMIN_ROLES = f"{API}/admin/roles"
ADMIN_USERS = f"{API}/admin/users"


@dataclass(frozen=True)
class Instance:
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def address(self) -> str:
        """As nginx names it in its access log."""
        return self.base_url.removeprefix("http://")

    def metrics(self) -> Scrape:
        return scrape(self.base_url)


@dataclass(frozen=True)
class Deployment:
    a: Instance
    b: Instance
    nginx: Nginx

    @property
    def instances(self) -> tuple[Instance, Instance]:
        return self.a, self.b


@pytest.fixture(scope="module")
def deployment(
    settings: Settings, private_redis: PrivateRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    key_prefix = f"praxis-scale-out-{uuid.uuid4().hex[:8]}:"  # one namespace: shared state
    runs = []
    for name in ("a", "b"):
        data_dir = tmp_path_factory.mktemp(f"instance-{name}")
        env = serve_env(
            database_url=settings.database_url,
            redis_url=private_redis.url,
            workers=WORKERS,
            data_dir=data_dir,
            key_prefix=key_prefix,
            JWT_SECRET=settings.jwt_secret,  # the factories' tokens
            PROXIES_COUNT="1",
            RATE_LIMIT_ANON=f"{QUOTA}/hour",
        )
        runs.append((env, data_dir / "server.log"))
    ports = (int(runs[0][0]["PORT"]), int(runs[1][0]["PORT"]))
    with (
        praxis_serve_all(runs) as (a, b),
        running_nginx(tmp_path_factory.mktemp("nginx"), ports) as nginx,
    ):
        yield Deployment(
            Instance(a, base_url_of(runs[0][0])), Instance(b, base_url_of(runs[1][0])), nginx
        )


def fresh_reads(base_url: str, path: str, token: str, reads: int = READS) -> list[httpx.Response]:
    """``reads`` GETs by the bearer of ``token``, each on a new connection: any worker."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, limits=NEW_CONNECTIONS, timeout=10) as http:
        return [http.get(path, headers=headers) for _ in range(reads)]


def anonymous_decisions(before: Scrape, after: Scrape, **labels: str) -> float:
    """Rate-limit decisions of the anonymous policy an instance made between two scrapes."""
    name = "praxis_rate_limit_decisions_total"
    return after.value(name, policy="anon", **labels) - before.value(name, policy="anon", **labels)


def test_the_anonymous_quota_holds_across_both_instances_behind_nginx(
    deployment: Deployment,
) -> None:
    before = [instance.metrics() for instance in deployment.instances]

    statuses = anonymous_requests(deployment.nginx.base_url, 3 * QUOTA)

    scrapes = list(zip(before, [i.metrics() for i in deployment.instances], strict=True))
    decided = [anonymous_decisions(*pair) for pair in scrapes]
    assert all(count > 0 for count in decided), decided  # both instances took part
    assert sum(anonymous_decisions(*pair, decision="allowed") for pair in scrapes) == QUOTA
    assert statuses.count(401) == QUOTA  # allowed: the route's own answer without a token
    assert statuses.count(429) == len(statuses) - QUOTA


def anonymous_requests(base_url: str, count: int) -> list[int]:
    """``count`` requests from one client address, one after the other (a burst would make a
    CPU-starved worker miss its 50 ms Redis timeouts and decide in-process, by design), each on
    a new connection and each claiming another ``X-Forwarded-For``: nginx appends the address it
    saw, which is the one the instances count."""
    transport = httpx.HTTPTransport(local_address=QUOTA_CLIENT_ADDRESS, limits=NEW_CONNECTIONS)
    with httpx.Client(base_url=base_url, transport=transport, timeout=10) as http:
        forged = ({"X-Forwarded-For": f"203.0.113.{n}"} for n in range(count))
        return [http.get(ME, headers=headers).status_code for headers in forged]


def redis_hits(result: Scrape) -> float:
    return result.value("praxis_cache_requests_total", cache="redis", result="hit")


def test_an_admin_write_through_nginx_is_read_back_at_once_by_both_instances(
    deployment: Deployment, make: Factories
) -> None:
    item, editor, reader = make.content(title="Joins"), make.editor(), make.user()
    path = f"{CONTENT}/{item.slug}"
    before = [instance.metrics() for instance in deployment.instances]
    for instance in deployment.instances:
        read = fresh_reads(instance.base_url, path, reader.token)
        assert {(r.status_code, r.json()["title"]) for r in read} == {(200, "Joins")}
    after = [instance.metrics() for instance in deployment.instances]
    hits = [
        redis_hits(later) - redis_hits(earlier)
        for earlier, later in zip(before, after, strict=True)
    ]
    assert all(count > 0 for count in hits), hits  # each instance answered from the cache

    response = httpx.patch(
        f"{deployment.nginx.base_url}{ADMIN_CONTENT}/{item.id}",
        headers=editor.auth,
        json={"title": "Outer joins"},
    )

    assert response.status_code == 200
    for instance in deployment.instances:
        read = fresh_reads(instance.base_url, path, reader.token)
        assert {(r.status_code, r.json()["title"]) for r in read} == {(200, "Outer joins")}


def roles_and_access(instance: Instance, user: Account) -> set[tuple[tuple[str, ...], int]]:
    """What the next requests of ``user`` on ``instance`` see: its roles, and the status of an
    admin content read (which needs ``content:read``)."""
    me = fresh_reads(instance.base_url, ME, user.token)
    admin = fresh_reads(instance.base_url, ADMIN_CONTENT, user.token)
    return {
        (tuple(sorted(m.json()["roles"])), a.status_code) for m, a in zip(me, admin, strict=True)
    }


def test_a_role_granted_through_nginx_applies_to_the_next_request_on_both_instances(
    deployment: Deployment, make: Factories
) -> None:
    admin, user = make.admin(), make.user()
    for instance in deployment.instances:  # both have the member's permissions cached
        assert roles_and_access(instance, user) == {(("member",), 403)}

    response = httpx.put(
        f"{deployment.nginx.base_url}{ADMIN_USERS}/{user.id}/roles",
        headers=admin.auth,
        json={"roles": ["editor"]},
    )

    assert response.status_code == 200
    for instance in deployment.instances:
        assert roles_and_access(instance, user) == {(("editor",), 200)}


def test_a_permission_taken_from_a_role_through_nginx_applies_on_both_instances(
    deployment: Deployment, make: Factories
) -> None:
    admin, role = make.admin(), make.role("content:read")
    user = make.user(role)
    roles = tuple(sorted(["member", role]))
    for instance in deployment.instances:
        assert roles_and_access(instance, user) == {(roles, 200)}

    response = httpx.put(
        f"{deployment.nginx.base_url}{ADMIN_ROLES}/{role}",
        headers=admin.auth,
        json={"permissions": []},
    )

    assert response.status_code == 200
    for instance in deployment.instances:
        assert roles_and_access(instance, user) == {(roles, 403)}


@dataclass
class Answer:
    status: int  # 0: no answer (a transport error)
    started: float
    ended: float


@dataclass
class Load:
    """Concurrent clients sending one request again and again with a bearer token, until
    stopped; every answer kept."""

    base_url: str
    method: str
    path: str
    token: str
    clients: int
    body: dict[str, str] | None = None
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.clients)
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=headers, limits=limits, timeout=15
        ) as http:
            await asyncio.gather(*(self._send(http) for _ in range(self.clients)))

    async def _send(self, http: httpx.AsyncClient) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                response = await http.request(self.method, self.path, json=self.body)
                status = response.status_code
            except httpx.TransportError as exc:
                status = 0
                self.errors.append(repr(exc))
            self.answers.append(Answer(status, started, time.monotonic()))

    def stop(self) -> None:
        self._stopping.set()

    def statuses(self) -> Counter[int]:
        return Counter(answer.status for answer in self.answers)


@dataclass
class Drain:
    reads: Load  # through nginx
    writes: Load  # through nginx
    reads_of_b: Load  # instance B directly
    sigterm_at: float
    exited_at: float
    exit_code: int
    refused_while_draining: bool
    # nginx's access-log records of the loads (and only of them), and how many before SIGTERM.
    records: list[UpstreamRecord]
    records_before_sigterm: int


async def drain_under_load(deployment: Deployment, read: str, write: str, token: str) -> Drain:
    nginx, a = deployment.nginx, deployment.a
    reads = Load(nginx.base_url, "GET", read, token, LOAD_CLIENTS)
    # Refused before any database work (422: no content_slug), yet a POST for nginx.
    writes = Load(nginx.base_url, "POST", write, token, WRITE_CLIENTS, body={})
    reads_of_b = Load(deployment.b.base_url, "GET", read, token, DIRECT_CLIENTS)
    loads = [reads, writes, reads_of_b]
    logged_before = len(nginx.upstream_records())
    running = asyncio.gather(*(load.run() for load in loads))

    async def answered(count: int) -> bool:
        return len(reads.answers) >= count

    await eventually(lambda: answered(LOAD_ANSWERS), LOAD_DEADLINE_SECONDS, "load before SIGTERM")
    records_before_sigterm = len(nginx.upstream_records()) - logged_before
    sigterm_at = time.monotonic()
    a.process.send_signal(signal.SIGTERM)
    refused_while_draining = await asyncio.to_thread(refuses_while_draining, a)
    exit_code = await asyncio.to_thread(a.process.wait, STOP_TIMEOUT_SECONDS)
    exited_at = time.monotonic()
    after_exit = len(reads.answers) + LOAD_ANSWERS
    await eventually(lambda: answered(after_exit), LOAD_DEADLINE_SECONDS, "load after the exit")
    for load in loads:
        load.stop()
    await running
    records = nginx.upstream_records()[logged_before:]
    return Drain(
        reads,
        writes,
        reads_of_b,
        sigterm_at,
        exited_at,
        exit_code,
        refused_while_draining,
        records,
        records_before_sigterm,
    )


def refuses_while_draining(instance: Instance) -> bool:
    """Whether the stopping instance refused a new connection while its workers still ran,
    probing until its process ends. Sanic's main process holds the listening socket until it
    exits, after the workers; unless the workers shut it down, the kernel keeps completing
    connections that nobody serves until then."""
    host, port = instance.address.split(":")
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while instance.process.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=PROBE_SECONDS).close()
        except ConnectionRefusedError:
            return bool(sanic_workers_of(instance.process.pid))
        except OSError:  # accepted by the kernel, not answered in time: still listening
            pass
        time.sleep(PROBE_SECONDS)  # probing a process that stops on its own clock
    return False


def test_sigterm_to_one_instance_under_load_loses_no_read_through_nginx(
    deployment: Deployment, make: Factories
) -> None:
    """Instance A drains on SIGTERM while clients read and write through nginx and others read
    instance B directly (this is also the several-instance form of tests/ops' SIGTERM test). A
    refuses new connections while its workers still finish what they accepted, and exits
    cleanly within its budget. Every read through nginx gets its answer: one that failed on A
    is sent again to B (``proxy_next_upstream error``). A write fails only if A reset it after
    nginx had sent it (the client's 502: nginx never sends a POST twice), which leaves just a
    request sent on a connection at the very instant A closed it. B answers every request sent
    to it meanwhile."""
    a, b = deployment.a, deployment.b
    item, member = make.content(), make.user()

    drain = asyncio.run(
        drain_under_load(deployment, f"{CONTENT}/{item.slug}", SESSIONS, member.token)
    )

    assert drain.exit_code == 0
    assert drain.exited_at - drain.sigterm_at < STOP_TIMEOUT_SECONDS
    assert drain.refused_while_draining  # so nginx sent new requests to B at once, POSTs too
    for load in (drain.reads, drain.writes, drain.reads_of_b):
        assert load.errors == []
    assert drain.reads.statuses() == {200: len(drain.reads.answers)}
    assert drain.reads_of_b.statuses() == {200: len(drain.reads_of_b.answers)}
    during = [
        answer
        for answer in drain.reads_of_b.answers
        if drain.sigterm_at <= answer.started and answer.ended <= drain.exited_at
    ]
    assert during, "instance B answered nothing while A was draining"
    assert set(drain.writes.statuses()) <= {422, 502}
    # nginx's view: A served its share until the SIGTERM; what failed did so on A, and only the
    # reads were sent again, to B.
    before = drain.records[: drain.records_before_sigterm]
    assert any(record.attempts[-1] == (a.address, "200") for record in before)
    for record in drain.records:
        *retried, last = record.attempts
        assert all(address == a.address for address, _ in retried), record
        if record.method == "GET":
            assert record.status == 200, record
            assert not retried or last[0] == b.address, record
        elif record.status == 502:
            assert record.attempts == [(a.address, "502")], record
        else:  # when nginx could not even connect to A, it had sent nothing: B got the POST
            assert record.status == 422, record
            assert not retried or last[0] == b.address, record
    writes_failed = drain.writes.statuses()[502]
    assert writes_failed == sum(1 for r in drain.records if r.method == "POST" and r.status == 502)
