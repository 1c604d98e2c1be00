"""With several worker processes sharing one Redis, an admin write made through one worker is
visible to the very next read from every worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.content.support import ADMIN_CONTENT, CONTENT

START_TIMEOUT_SECONDS = 60
WORKERS = 2
# New connections are spread over the workers by the kernel; this many reach each one in practice.
READS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(settings, tmp_path, make):  # make: the database and Redis namespace start empty
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "JWT_SECRET": settings.jwt_secret,
        "ENV": "test",
        "PORT": str(port),
        "WORKERS": str(WORKERS),
        "RATE_LIMIT_ANON": "100000/minute",
        "RATE_LIMIT_USER": "100000/minute",
        "DATA_DIR": str(tmp_path / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"], env=env, stdout=log, stderr=log
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url, process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)
        print(log_path.read_text()[-4000:])  # noqa: T201 - shown by pytest only on failure


def _wait_until_serving(base_url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("server exited early; see its log")
        try:
            if httpx.get(base_url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # polling a starting process, bounded by the deadline
    raise AssertionError("server did not start in time")


def _titles_read_by_fresh_connections(base_url: str) -> set[str]:
    titles = set()
    for _ in range(READS):
        with httpx.Client(base_url=base_url) as fresh:  # a new connection: any worker
            titles.add(fresh.get(CONTENT).json()["items"][0]["title"])
    return titles


def test_a_write_through_one_worker_is_read_back_by_every_worker(served, make):
    item = make.content(title="Joins")
    editor = make.editor()
    assert _titles_read_by_fresh_connections(served) == {"Joins"}

    response = httpx.patch(
        f"{served}{ADMIN_CONTENT}/{item.id}", headers=editor.auth, json={"title": "Outer joins"}
    )

    assert response.status_code == 200
    assert _titles_read_by_fresh_connections(served) == {"Outer joins"}
