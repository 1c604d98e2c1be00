"""Hostile clients against a real two-worker ``praxis serve``: clients that leave mid-request,
clients that trickle their headers, clients that stop half-way, oversized and mistyped bodies.
None of them keeps the workers from serving others, and afterwards the server holds no more
database connections, Redis connections or sockets than before."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import redis

from tests.support.api import CONTENT, LOGIN, TAGS
from tests.support.processes import (
    PrivateRedis,
    descendants_of,
    free_port,
    open_tcp_sockets,
    praxis_serve,
)

WORKERS = 2
POOL_MAX_SIZE = 3
REQUEST_TIMEOUT = 2  # seconds; Sanic's idle limit while a request is being received
CLIENTS = 20
SETTLE_WITHIN_SECONDS = 15.0


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    pid: int
    database_url: str
    redis_url: str

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@pytest.fixture(scope="module")
def served(
    database_url: str, private_redis: PrivateRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("hostile")
    port = free_port()
    env = {
        "ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": private_redis.url,
        "REDIS_KEY_PREFIX": f"praxis-hostile-{uuid.uuid4().hex[:8]}:",
        "PORT": str(port),
        "WORKERS": str(WORKERS),
        "JWT_SECRET": "hostile-secret-" + "x" * 40,
        "RATE_LIMIT_ANON": "100000/minute",
        "RATE_LIMIT_AUTH": "100000/minute",
        "DB_POOL_MAX_SIZE": str(POOL_MAX_SIZE),
        "REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT),
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
    }
    with praxis_serve(env, data_dir / "server.log") as process:
        yield Served("127.0.0.1", port, process.pid, database_url, private_redis.url)


@dataclass(frozen=True)
class Held:
    database_connections: int
    redis_clients: int
    sockets: int


def _held(served: Served) -> Held:
    async def database_connections() -> int:
        conn = await asyncpg.connect(served.database_url, timeout=5)
        try:
            count = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        return int(count)

    client = redis.Redis.from_url(served.redis_url)
    try:
        # Our own connection is one of them.
        redis_clients = len(client.client_list()) - 1
    finally:
        client.close()
    pids = [served.pid, *descendants_of(served.pid)]
    return Held(asyncio.run(database_connections()), redis_clients, open_tcp_sockets(pids))


async def _busy(served: Served, count: int) -> None:
    """Enough concurrent requests touching the database and Redis to fill every pool."""
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=served.base_url, limits=limits, timeout=15) as http:
        answers = await asyncio.gather(*(http.get(CONTENT) for _ in range(count)))
    assert {answer.status_code for answer in answers} == {200}


async def _leave_mid_request(served: Served) -> None:
    """Clients that send part of a request, or all of one, and go without reading."""
    partial_body = (
        f"POST {LOGIN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        'Content-Length: 1000\r\n\r\n{"email": '
    ).encode()
    whole = f"GET {CONTENT} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    half_headers = f"GET {TAGS} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode()
    for payload in (partial_body, whole, half_headers):
        for _ in range(CLIENTS):
            _, writer = await asyncio.open_connection(served.host, served.port)
            writer.write(payload)
            await writer.drain()
            writer.close()


async def _trickle(served: Served, stop: asyncio.Event) -> None:
    """A client sending its headers a byte at a time, more slowly than anyone should."""
    _, writer = await asyncio.open_connection(served.host, served.port)
    try:
        for byte in f"GET {TAGS} HTTP/1.1\r\nHost: x\r\nX-Padding: {'y' * 200}".encode():
            if stop.is_set():
                return
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)  # the attack is the pace
    except ConnectionError:  # the server may close first
        return
    finally:
        writer.close()


async def _stalled_is_closed(served: Served) -> float:
    """Seconds until the server closes a connection whose request stopped half-way."""
    reader, writer = await asyncio.open_connection(served.host, served.port)
    started = time.monotonic()
    writer.write(f"GET {TAGS} HTTP/1.1\r\nHost: x\r\n".encode())
    await writer.drain()
    try:
        await asyncio.wait_for(reader.read(), REQUEST_TIMEOUT + 5)
    finally:
        writer.close()
    return time.monotonic() - started


def test_slow_and_leaving_clients_neither_block_others_nor_leak(served: Served) -> None:
    asyncio.run(_busy(served, 3 * WORKERS * POOL_MAX_SIZE))
    before = _held(served)

    async def attack() -> tuple[list[float], float]:
        stop = asyncio.Event()
        tricklers = [asyncio.create_task(_trickle(served, stop)) for _ in range(CLIENTS)]
        stalled = asyncio.create_task(_stalled_is_closed(served))
        await _leave_mid_request(served)
        # While all of that goes on, others are served promptly.
        timings = []
        async with httpx.AsyncClient(base_url=served.base_url, timeout=5) as http:
            for _ in range(5):
                started = time.monotonic()
                assert (await http.get(CONTENT)).status_code == 200
                timings.append(time.monotonic() - started)
        closed_after = await stalled
        stop.set()
        await asyncio.gather(*tricklers)
        return timings, closed_after

    timings, closed_after = asyncio.run(attack())
    assert max(timings) < 1.0, timings
    # A request that stops arriving is cut off after REQUEST_TIMEOUT (Sanic checks twice a period).
    assert REQUEST_TIMEOUT <= closed_after < REQUEST_TIMEOUT + 3, closed_after

    deadline = time.monotonic() + SETTLE_WITHIN_SECONDS
    while (after := _held(served)) != before:
        settled = (
            after.database_connections <= before.database_connections
            and after.redis_clients <= before.redis_clients
            and after.sockets <= before.sockets
        )
        if settled:
            break
        assert time.monotonic() < deadline, (before, after)
        time.sleep(0.1)  # polling the server's state with a deadline


def test_oversized_and_mistyped_bodies_are_refused(served: Served) -> None:
    too_big = httpx.post(
        served.base_url + LOGIN,
        content=b"x" * (1024 * 1024 + 1),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "PAYLOAD_TOO_LARGE"
    mistyped = httpx.post(
        served.base_url + LOGIN,
        content=b'{"email": "a@example.com", "password": "x"}',
        headers={"content-type": "text/plain"},
        timeout=10,
    )
    assert mistyped.status_code == 415
    assert mistyped.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
