"""Embedded PostgreSQL: real servers in pytest's temporary directories, no mocks.

pytest's temporary directories sit under a 0700 directory, which is what makes running as root
hard (see service/dev/embedded_pg.py), so these tests exercise that case whenever they run as root.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from service.dev.embedded_pg import (
    STRATEGY_ENV,
    EmbeddedPostgresError,
    start_embedded_postgres,
    stop_embedded_postgres,
)


@dataclass(frozen=True)
class EmbeddedServer:
    base_dir: Path
    url: str


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """One server shared by the module; stopped even if starting or a test fails.

    Not named ``server``: conftest.py's ``server`` fixture (the app) would be shadowed, and its
    autouse ``_clean_state`` keys on that name.
    """
    base_dir = tmp_path_factory.mktemp("embedded_pg")
    try:
        yield EmbeddedServer(base_dir, start_embedded_postgres(base_dir))
    finally:
        stop_embedded_postgres(base_dir)


async def _fetchval(url: str, query: str) -> object:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def _execute(url: str, query: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(query)
    finally:
        await conn.close()


def fetchval(url: str, query: str) -> object:
    return asyncio.run(_fetchval(url, query))


def execute(url: str, query: str) -> None:
    asyncio.run(_execute(url, query))


def test_url_names_the_praxis_database_on_loopback(embedded_server: EmbeddedServer) -> None:
    url = urlsplit(embedded_server.url)
    assert (url.scheme, url.username, url.hostname, url.path) == (
        "postgres",
        "postgres",
        "127.0.0.1",
        "/praxis",
    )
    assert url.port == int((embedded_server.base_dir / "port").read_text())


def test_the_server_answers_with_a_praxis_database(embedded_server: EmbeddedServer) -> None:
    assert fetchval(embedded_server.url, "SELECT 1") == 1
    assert fetchval(embedded_server.url, "SELECT current_database()") == "praxis"
    assert (
        fetchval(embedded_server.url, "SELECT count(*) FROM pg_database WHERE datname = 'praxis'")
        == 1
    )
    assert fetchval(embedded_server.url, "SHOW listen_addresses") == "127.0.0.1"
    data_directory = fetchval(embedded_server.url, "SHOW data_directory")
    assert data_directory == str((embedded_server.base_dir / "pgdata").resolve())


def test_starting_a_running_server_again_answers_its_url(embedded_server: EmbeddedServer) -> None:
    assert start_embedded_postgres(embedded_server.base_dir) == embedded_server.url


def test_starting_a_running_server_on_another_port_is_refused(
    embedded_server: EmbeddedServer,
) -> None:
    other_port = (urlsplit(embedded_server.url).port or 0) % 60000 + 1
    with pytest.raises(EmbeddedPostgresError, match="already runs on port"):
        start_embedded_postgres(embedded_server.base_dir, port=other_port)


def test_a_restart_keeps_the_data_and_the_port(embedded_server: EmbeddedServer) -> None:
    execute(
        embedded_server.url,
        "CREATE TABLE survivor (name text); INSERT INTO survivor VALUES ('kept')",
    )
    stop_embedded_postgres(embedded_server.base_dir)
    stop_embedded_postgres(embedded_server.base_dir)  # stopping a stopped server is fine
    with pytest.raises(OSError):  # noqa: PT011 - any way of not answering will do
        fetchval(embedded_server.url, "SELECT 1")

    assert start_embedded_postgres(embedded_server.base_dir) == embedded_server.url
    assert fetchval(embedded_server.url, "SELECT name FROM survivor") == "kept"


def test_stop_without_a_server_is_a_no_op(tmp_path: Path) -> None:
    stop_embedded_postgres(tmp_path / "never-created")
    stop_embedded_postgres(tmp_path)


def test_a_base_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("in the way")
    with pytest.raises(EmbeddedPostgresError, match="cannot use"):
        start_embedded_postgres(not_a_dir)


def test_start_failure_reports_the_server_log_then_a_new_port_is_picked(tmp_path: Path) -> None:
    base_dir = tmp_path / "pg"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        try:
            with pytest.raises(EmbeddedPostgresError) as failure:
                start_embedded_postgres(base_dir, port=taken)
            assert "postgres.log" in str(failure.value)
            assert "could not bind" in str(failure.value)

            # The failed port was remembered, but it is taken, so a free one is chosen.
            url = start_embedded_postgres(base_dir)
            assert urlsplit(url).port != taken
            assert fetchval(url, "SELECT 1") == 1
        finally:
            stop_embedded_postgres(base_dir)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="the setpriv fallback is only used as root",
)
def test_as_root_without_user_namespaces_the_server_runs_unprivileged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root without user namespaces the server runs as nobody; tmp_path is unreachable."""
    monkeypatch.setenv(STRATEGY_ENV, "setpriv")
    base_dir = tmp_path / "pg"
    try:
        url = start_embedded_postgres(base_dir)
        assert fetchval(url, "SELECT current_database()") == "praxis"
        assert (base_dir / "pgdata").stat().st_uid != 0
        assert start_embedded_postgres(base_dir) == url
    finally:
        try:
            stop_embedded_postgres(base_dir)
        finally:
            if (base_dir / "pgdata").is_symlink():  # data relocated out of the 0700 tmp_path
                shutil.rmtree((base_dir / "pgdata").resolve().parent)
