"""Test harness: a fresh PostgreSQL database per run (migrated with the real migrations), real
Redis with a per-run key prefix, and the app served once per session on a real socket."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from sanic import Sanic
from sanic_testing.reusable import ReusableClient

from service.app import create_app
from service.config import Settings
from service.infra import db
from tests.factories import Factories
from tests.processes import free_port

T = TypeVar("T")

ADMIN_URL = os.environ.get("PRAXIS_TEST_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PRAXIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]
TEST_DATABASE = f"praxis_test_{RUN_ID}"
# Tables whose rows tests create; roles and permissions come from migrations and are restored.
DATA_TABLES = [
    "session_events",
    "practice_sessions",
    "idempotency_keys",
    "content_tags",
    "content",
    "tags",
    "refresh_tokens",
    "audit_records",
    "admin_email_listings",
    "user_roles",
    "users",
]


def _admin_url() -> str:
    """The local PostgreSQL server when one answers, else an embedded one (a fresh machine)."""
    if asyncio.run(db.server_answers(ADMIN_URL)):
        return ADMIN_URL
    from service.dev.embedded_pg import start_embedded_postgres

    embedded = start_embedded_postgres(Path(".praxis/test-postgres"))
    return embedded.rsplit("/", 1)[0] + "/postgres"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    admin_url = _admin_url()

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
        await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')
        await conn.close()

    asyncio.run(create())
    url = admin_url.rsplit("/", 1)[0] + "/" + TEST_DATABASE
    asyncio.run(db.apply_migrations(url))
    yield url
    asyncio.run(drop())


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        env="test",
        jwt_secret="test-secret-" + "x" * 40,
        redis_key_prefix=f"praxis-test-{RUN_ID}:",
        # Functional tests exercise behaviour, not the limiter; its own tests set tight limits.
        rate_limit_anon="100000/minute",
        rate_limit_user="100000/minute",
        rate_limit_auth="100000/minute",
    )


class Server:
    """The app on a real socket, plus a way to run coroutines on the loop it serves from."""

    def __init__(self, app: Sanic[Any, Any], loop: asyncio.AbstractEventLoop, port: int) -> None:
        self.app = app
        self.loop = loop
        self.base_url = f"http://127.0.0.1:{port}"
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=10)

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)


@contextmanager
def serving(
    app: Sanic[Any, Any], loop: asyncio.AbstractEventLoop | None = None
) -> Iterator[Server]:
    """Serve ``app`` on a free port until the block ends, from ``loop`` or a loop of its own.
    Tortoise's pool belongs to the session server's loop: a second app that touches the database
    must be served from that loop (the ``other_app`` fixture does)."""
    Sanic.test_mode = True
    app.config.TOUCHUP = False
    own_loop = loop is None
    loop = loop or asyncio.new_event_loop()
    client = ReusableClient(app, port=free_port(), loop=loop)
    client.run()
    srv = Server(app, loop, client.port)
    try:
        yield srv
    finally:
        srv.run(srv.http.aclose())
        client.stop()
        if own_loop:
            loop.close()


def variant_app(settings: Settings, **changes: Any) -> Sanic[Any, Any]:
    """A second app whose settings differ by ``changes``, with a Redis key namespace of its own
    inside the run's; serve it with ``serving``."""
    unique = uuid.uuid4().hex[:8]
    prefix = f"{settings.redis_key_prefix}{unique}:"
    # A fresh Settings, not model_copy: that would carry over cached derived values.
    variant = Settings(**{**settings.model_dump(), "redis_key_prefix": prefix, **changes})
    return create_app(variant, name=f"praxis_variant_{unique}")


@contextmanager
def serving_variant(settings: Settings, **changes: Any) -> Iterator[Server]:
    with serving(variant_app(settings, **changes)) as srv:
        yield srv


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[Server]:
    with serving(create_app(settings, name="praxis_test")) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts from migrated, empty tables and an empty Redis namespace."""
    if "server" not in request.fixturenames:
        yield
        return
    srv: Server = request.getfixturevalue("server")
    settings: Settings = request.getfixturevalue("settings")
    srv.run(_reset(srv, settings))
    yield


async def _reset(srv: Server, settings: Settings) -> None:
    from tortoise import connections

    conn = connections.get("default")
    await conn.execute_script(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")
    await conn.execute_script("DELETE FROM roles WHERE NOT is_builtin")
    redis = srv.app.ctx.redis
    if redis is not None:
        keys = [k async for k in redis.scan_iter(match=settings.redis_key_prefix + "*", count=500)]
        if keys:
            await redis.delete(*keys)


class Api:
    """Synchronous HTTP calls against the served app, with optional bearer token."""

    def __init__(self, srv: Server) -> None:
        self.srv = srv

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.srv.run(self.srv.http.request(method, path, headers=headers, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def gather(
        self, *calls: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
    ) -> list[httpx.Response]:
        """Send requests concurrently, for races."""

        async def all_of() -> list[httpx.Response]:
            return list(await asyncio.gather(*(call(self.srv.http) for call in calls)))

        return self.srv.run(all_of())


@pytest.fixture
def api(server: Server) -> Api:
    return Api(server)


@pytest.fixture
def other_app(server: Server, settings: Settings) -> Iterator[Callable[..., Api]]:
    """Serve a second app with some settings changed (e.g. ``redis_url``), on the same loop and
    database as ``server``; ``configure`` may add routes before it starts. Stopped after the test.
    """
    with ExitStack() as stack:

        def serve(
            configure: Callable[[Sanic[Any, Any]], None] | None = None, **changes: Any
        ) -> Api:
            app = variant_app(settings, **changes)
            if configure is not None:
                configure(app)
            return Api(stack.enter_context(serving(app, loop=server.loop)))

        yield serve


@pytest.fixture
def make(server: Server, api: Api) -> Factories:
    return Factories(server, api)


def queries_issued(route: str, call: Callable[[], httpx.Response]) -> tuple[int, httpx.Response]:
    """How many SQL statements the request made by ``call`` issued, as the per-request
    histogram ``praxis_db_queries_per_request{route}`` recorded it."""
    from prometheus_client import REGISTRY

    def total() -> float:
        value = REGISTRY.get_sample_value("praxis_db_queries_per_request_sum", {"route": route})
        return value or 0.0

    before = total()
    response = call()
    return int(total() - before), response
