"""What a real server process writes to stderr (LOG_FORMAT=json) and exports while requests
succeed, carry secrets, and fail: every line is JSON, lines written while serving name the
request and its span, each 5xx is logged once with its traceback, and no secret gets out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.observability.failing_server import (
    BROKEN_ERROR_PAGE_PATH,
    FAILING_PATH,
    SECRET_HEADER,
)
from tests.observability.otlp_receivers import STATUS_ERROR, ReceivedSpan, http_receiver
from tests.observability.served import (
    FAILING_SERVER,
    server_env,
    serving_process,
    traceparent_ids,
)

PASSWORD = "hunter2-correct-horse-staple"
BAD_BEARER = "not-a-real-token-but-secret"
COOKIE_VALUE = "cookie-secret-value-42"
HEADER_SECRET = "header-secret-value-7"


@dataclass
class FailingRun:
    stderr: str
    stdout: str
    lines: list[dict[str, Any]]
    secrets: list[str]
    failed: httpx.Response
    broken: httpx.Response
    spans: list[ReceivedSpan]

    def lines_of(self, response: httpx.Response) -> list[dict[str, Any]]:
        request_id = response.headers["X-Request-ID"]
        return [line for line in self.lines if line.get("request_id") == request_id]


def _send_secrets(http: httpx.Client) -> list[str]:
    """Requests a careless service would leak from: passwords, both tokens, a bearer header
    that fails to verify, a cookie. Returns every secret sent."""
    account = {"email": "secrets@example.com", "password": PASSWORD}
    assert http.post("/api/v1/auth/register", json=account | {"display_name": "S"}).is_success
    tokens = http.post("/api/v1/auth/login", json=account).json()
    refreshed = http.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    wrong_password = http.post("/api/v1/auth/login", json=account | {"password": PASSWORD + "x"})
    assert wrong_password.status_code == 401
    bad_bearer = http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {BAD_BEARER}"})
    assert bad_bearer.status_code == 401
    http.get("/api/v1/users/me", headers={"Cookie": f"session={COOKIE_VALUE}"})
    return [
        PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
        refreshed.json()["access_token"],
        refreshed.json()["refresh_token"],
        BAD_BEARER,
        COOKIE_VALUE,
        HEADER_SECRET,
    ]


@pytest.fixture(scope="module")
def failing_run(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FailingRun]:
    logs = tmp_path_factory.mktemp("failing-run")
    with http_receiver() as (endpoint, received):
        env = server_env(database_url, logs, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
        with (
            serving_process(FAILING_SERVER, env, logs) as served,
            httpx.Client(base_url=served.base_url, timeout=10) as http,
        ):
            secrets = _send_secrets(http)
            failed = http.get(
                FAILING_PATH,
                headers={SECRET_HEADER: HEADER_SECRET, "Authorization": f"Bearer {BAD_BEARER}"},
            )
            broken = http.get(BROKEN_ERROR_PAGE_PATH)
        stderr = served.stderr.read_text()
        lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
        stdout = (logs / "stdout.log").read_text()
        yield FailingRun(stderr, stdout, lines, secrets, failed, broken, received.snapshot())


def test_no_secret_reaches_the_output(failing_run: FailingRun) -> None:
    assert failing_run.failed.status_code == 500
    for secret in failing_run.secrets:
        assert secret not in failing_run.stderr
        assert secret not in failing_run.stdout
    # The lines that would have carried them were written, with the secrets redacted.
    assert failing_run.stderr.count("[redacted]") >= 3


def test_no_secret_reaches_the_collector(failing_run: FailingRun) -> None:
    exported = json.dumps([span.attributes | dict(span.events) for span in failing_run.spans])
    assert "RuntimeError" in exported
    for secret in failing_run.secrets:
        assert secret not in exported


def test_every_line_is_json_with_time_level_logger_and_message(failing_run: FailingRun) -> None:
    assert len(failing_run.lines) > 5  # start-up, per-request and shutdown lines
    for line in failing_run.lines:
        assert {"time", "level", "logger", "message"} <= line.keys()
    loggers = {line["logger"] for line in failing_run.lines}
    assert {"praxis.http", "praxis.test_routes", "sanic.error", "sanic.server"} <= loggers


def test_lines_written_while_serving_carry_the_request_and_its_span(
    failing_run: FailingRun,
) -> None:
    trace_id, span_id, _ = traceparent_ids(failing_run.failed.headers["traceparent"])
    lines = failing_run.lines_of(failing_run.failed)
    # The handler's own line, Sanic's error logger, and the 5xx line.
    assert {line["logger"] for line in lines} == {
        "praxis.test_routes",
        "sanic.error",
        "praxis.http",
    }
    for line in lines:
        assert (line["trace_id"], line["span_id"]) == (trace_id, span_id)


def test_a_500_is_logged_once_with_its_traceback(failing_run: FailingRun) -> None:
    [line] = [line for line in failing_run.lines_of(failing_run.failed) if "exception" in line]
    assert line["logger"] == "praxis.http"
    assert line["level"] == "ERROR"
    assert line["message"] == f"GET {FAILING_PATH} answered 500"
    assert (line["status"], line["route"]) == (500, FAILING_PATH)
    assert line["exception"].startswith("Traceback (most recent call last)")
    assert (
        "RuntimeError: the handler failed; the request had password=[redacted]"
        in (line["exception"])
    )
    assert sum("RuntimeError" in str(line) for line in failing_run.lines) == 1


def test_a_failure_while_rendering_the_error_is_logged_too(failing_run: FailingRun) -> None:
    assert failing_run.broken.status_code == 500
    [line] = failing_run.lines_of(failing_run.broken)
    assert line["message"] == f"GET {BROKEN_ERROR_PAGE_PATH} answered 500"
    assert "BrokenPage" in line["exception"]
    assert "ValueError: the error page itself failed" in line["exception"]


def test_the_failed_request_span_records_the_exception_with_status_error(
    failing_run: FailingRun,
) -> None:
    _, span_id, _ = traceparent_ids(failing_run.failed.headers["traceparent"])
    [span] = [s for s in failing_run.spans if s.span_id == span_id]
    assert span.status_code == STATUS_ERROR
    assert span.attributes["http.response.status_code"] == 500
    assert span.attributes["error.type"] == "RuntimeError"
    [(name, attributes)] = span.events
    assert name == "exception"
    assert attributes["exception.type"] == "RuntimeError"
    assert "[redacted]" in attributes["exception.message"]
