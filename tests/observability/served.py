"""Real server processes for the tracing and logging tests: their environment, their output kept
apart (stderr is where log lines go), and the traceparent header read back."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.caches import REDIS_URL
from tests.support.processes import (
    answers_health,
    base_url_of,
    serve_env,
    start_server,
    stop_with_descendants,
    wait_until,
)

FAILING_SERVER = ("-m", "tests.observability.failing_server")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass
class Served:
    base_url: str
    stderr: Path


def server_env(database_url: str, data_dir: Path, **changes: str) -> dict[str, str]:
    """The whole environment (``serving_process`` passes it as is) of a server on the machine's
    Redis logging JSON, without this process's own ``OTEL_*`` settings."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OTEL_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    served = serve_env(
        database_url=database_url,
        redis_url=REDIS_URL,
        data_dir=data_dir,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        # Export soon after a span ends; stopping the server flushes the rest anyway.
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    return environment | served | changes


@contextmanager
def serving_process(command: tuple[str, ...], env: dict[str, str], logs: Path) -> Iterator[Served]:
    """The server ``command`` runs, serving when the block starts and stopped (SIGTERM, so its
    stop listeners flush what they hold) when it ends."""
    stdout, stderr = logs / "stdout.log", logs / "stderr.log"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = start_server(command, env, out, err)
    base_url = base_url_of(env)
    try:
        wait_until(answers_health(base_url), process, " ".join(command))
        yield Served(base_url, stderr)
    finally:
        stop_with_descendants([process])
        print(stderr.read_text()[-4000:])  # noqa: T201 - shown by pytest only on failure


def traceparent_ids(header: str | None) -> tuple[str, str, str]:
    """(trace id, span id, flags) of a traceparent header; fails the test if it is malformed."""
    match = TRACEPARENT.match(header or "")
    assert match, f"not a traceparent: {header!r}"
    trace_id, span_id, flags = match.groups()
    return trace_id, span_id, flags
