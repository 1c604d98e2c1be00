"""Test harness: a fresh PostgreSQL database per run (migrated with the real migrations), real
Redis with a per-run key prefix, and the app served once per session on a real socket. Every test
that uses the app starts from empty tables, an empty Redis namespace and empty read caches."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from service.app import create_app
from service.config import Settings
from service.infra import db
from tests.support import database
from tests.support.caches import REDIS_URL
from tests.support.factories import Account, Factories
from tests.support.isolation import reset_app_state
from tests.support.processes import Praxis, PrivateRedis, running_private_redis
from tests.support.servers import Api, App, Server, ServeVariant, serving, variant_app


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server_url = database.admin_url()
    url = database.create_database(server_url, database.TEST_DATABASE)
    asyncio.run(db.apply_migrations(url))
    yield url
    database.drop_database(server_url, database.TEST_DATABASE)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        env="test",
        jwt_secret="test-secret-" + "x" * 40,
        redis_key_prefix=f"praxis-test-{database.RUN_ID}:",
        # Functional tests exercise behaviour, not the limiter; its own tests set tight limits.
        rate_limit_anon="100000/minute",
        rate_limit_user="100000/minute",
        rate_limit_auth="100000/minute",
        # The harness empties every table before each test on this pool; on a machine loaded by
        # parallel runs that can outlast the production default. The fault tests set theirs.
        db_command_timeout_seconds=30,
    )


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[Server]:
    with serving(create_app(settings, name="praxis_test")) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> None:
    """Each test that uses the app starts from migrated, empty tables, an empty Redis namespace
    and a worker whose read caches hold nothing (neither tier survives from an earlier test)."""
    if "server" not in request.fixturenames:
        return
    srv: Server = request.getfixturevalue("server")
    settings: Settings = request.getfixturevalue("settings")
    reset_app_state(srv, settings)


@pytest.fixture
def api(server: Server) -> Api:
    return Api(server)


@pytest.fixture
def other_app(server: Server, settings: Settings) -> Iterator[ServeVariant]:
    """Serve a second app with some settings changed (e.g. ``redis_url``), on the same loop and
    database as ``server``; ``configure`` may add routes before it starts. Stopped after the test.
    """
    with ExitStack() as stack:

        def serve(configure: Callable[[App], None] | None = None, **changes: Any) -> Api:
            app = variant_app(settings, **changes)
            if configure is not None:
                configure(app)
            return Api(stack.enter_context(serving(app, loop=server.loop)))

        yield serve


@pytest.fixture
def make(server: Server, api: Api) -> Factories:
    return Factories(server, api)


@pytest.fixture
def editor(make: Factories) -> Account:
    """A user with the editor role: every content permission."""
    return make.editor()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    with running_private_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


# The ``praxis`` command as a real process against the test database.
PROCESS_TIMEOUT = 120


@pytest.fixture
def praxis(database_url: str, settings: Settings) -> Praxis:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": settings.redis_url,
            "LOG_LEVEL": "WARNING",
            **env,
        }
        if "PRAXIS_ADMIN_PASSWORD" not in env:  # an operator's own must not leak into a test
            environment.pop("PRAXIS_ADMIN_PASSWORD", None)
        return subprocess.run(
            [sys.executable, "-m", "service", *args],
            env=environment,
            capture_output=True,
            check=False,
            text=True,
            timeout=PROCESS_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )

    return run
