"""The ``praxis`` command as a real process against the test database, for the ops tests."""

import os
import subprocess
import sys

import pytest

from service.config import Settings
from tests.support.processes import Praxis

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
