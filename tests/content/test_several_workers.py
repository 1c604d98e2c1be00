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
from tests.support.processes import base_url_of, praxis_serve, serve_env

WORKERS = 2
# New connections are spread over the workers by the kernel; this many reach each one in practice.
READS = 30


@pytest.fixture
def served(settings: Settings, tmp_path: Path, make: Factories) -> Iterator[str]:
    """``praxis serve`` with several workers on the test database and Redis namespace (``make``
    has them emptied first); yields its base URL."""
    env = serve_env(
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        workers=WORKERS,
        data_dir=tmp_path / "data",
        key_prefix=settings.redis_key_prefix,
        JWT_SECRET=settings.jwt_secret,
    )
    with praxis_serve(env, tmp_path / "server.log"):
        yield base_url_of(env)


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
