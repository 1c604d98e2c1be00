"""`praxis serve` as a real process on an embedded PostgreSQL that the test can stop:
the auth round trip works, readiness follows the database, SIGTERM ends the process cleanly."""

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from service.dev.embedded_pg import start_embedded_postgres, stop_embedded_postgres
from tests.support.api import LOGIN, ME, REGISTER
from tests.support.problems import assert_problem
from tests.support.processes import STOP_TIMEOUT_SECONDS, free_port, praxis_serve


class EmbeddedDatabase(NamedTuple):
    base_dir: Path
    url: str


class ServedProcess(NamedTuple):
    process: subprocess.Popen[bytes]
    base_url: str


@pytest.fixture(scope="module")
def embedded_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedDatabase]:
    base_dir = tmp_path_factory.mktemp("embedded-pg")
    url = start_embedded_postgres(base_dir)
    yield EmbeddedDatabase(base_dir, url)
    stop_embedded_postgres(base_dir)


@pytest.fixture(scope="module")
def served(
    embedded_database: EmbeddedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedProcess]:
    _, url = embedded_database
    port = free_port()
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": "none",
        "PORT": str(port),
        "WORKERS": "1",
        "LOG_FORMAT": "json",
        "DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "JWT_SECRET": "",  # development: a random key per start, shared by the workers
    }
    log_path = tmp_path_factory.mktemp("log") / "server.log"
    with praxis_serve(env, log_path) as process:
        yield ServedProcess(process, f"http://127.0.0.1:{port}")


def test_a_served_process_migrates_and_answers_the_auth_round_trip(served: ServedProcess) -> None:
    _, base_url = served
    account = {"email": "proc@example.com", "password": "long enough", "display_name": "P"}
    assert httpx.post(base_url + REGISTER, json=account).status_code == 201
    tokens = httpx.post(base_url + LOGIN, json=account | {"display_name": None})
    assert tokens.status_code == 422  # display_name is not a login field
    tokens = httpx.post(
        base_url + LOGIN,
        json={"email": account["email"], "password": account["password"]},
    ).json()
    me = httpx.get(
        base_url + ME,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert me.status_code == 200
    assert me.json()["email"] == "proc@example.com"


def test_without_redis_readiness_warns_and_stays_200(served: ServedProcess) -> None:
    _, base_url = served
    response = httpx.get(base_url + "/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "warn"


def test_readiness_fails_when_the_database_stops_while_liveness_passes(
    served: ServedProcess, embedded_database: EmbeddedDatabase
) -> None:
    _, base_url = served
    base_dir, _ = embedded_database
    stop_embedded_postgres(base_dir)
    try:
        ready = httpx.get(base_url + "/health/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"][0]["status"] == "fail"
        assert httpx.get(base_url + "/health").status_code == 200
        register = httpx.post(
            base_url + REGISTER,
            json={"email": "x@example.com", "password": "long enough", "display_name": "X"},
            timeout=10,
        )
        assert_problem(register, 503, "SERVICE_UNAVAILABLE")
        assert "asyncpg" not in register.text
    finally:
        start_embedded_postgres(base_dir)


def test_sigterm_stops_the_server_within_30_seconds(served: ServedProcess) -> None:
    process, _ = served
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0
