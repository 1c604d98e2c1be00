"""With several worker processes sharing one Redis, an admin write made through one worker is
visible to the very next read from every worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.config import Settings
from tests.support.api import ADMIN_CONTENT, CONTENT
from tests.support.factories import Factories
from tests.support.processes import free_port, praxis_serve

WORKERS = 2
# New connections are spread over the workers by the kernel; this many reach each one in practice.
READS = 30


@pytest.fixture
def served(settings: Settings, tmp_path: Path, make: Factories) -> Iterator[str]:
    """``praxis serve`` with several workers on the test database and Redis namespace (``make``
    has them emptied first); yields its base URL."""
    port = free_port()
    env = {
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
    }
    with praxis_serve(env, tmp_path / "server.log"):
        yield f"http://127.0.0.1:{port}"


def _titles_read_by_fresh_connections(base_url: str) -> set[str]:
    titles = set()
    for _ in range(READS):
        with httpx.Client(base_url=base_url) as fresh:  # a new connection: any worker
            titles.add(fresh.get(CONTENT).json()["items"][0]["title"])
    return titles


def test_a_write_through_one_worker_is_read_back_by_every_worker(
    served: str, make: Factories
) -> None:
    item = make.content(title="Joins")
    editor = make.editor()
    assert _titles_read_by_fresh_connections(served) == {"Joins"}

    response = httpx.patch(
        f"{served}{ADMIN_CONTENT}/{item.id}", headers=editor.auth, json={"title": "Outer joins"}
    )

    assert response.status_code == 200
    assert _titles_read_by_fresh_connections(served) == {"Outer joins"}
