"""Log lines in-process: the formats, the request context on each record, secret scrubbing, and
one line per 5xx (a served app with routes that fail)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from observability import context
from observability.logging import (
    ConsoleFormatter,
    JsonFormatter,
    RequestContextFilter,
    configure_logging,
    scrub,
)
from tests.observability.served import traceparent_ids
from tests.support.servers import Api, ServeVariant

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("login password=hunter2&next=/", "login password=[redacted]&next=/"),
        (
            '{"password": "hunter2", "email": "a@b.c"}',
            '{"password": "[redacted]", "email": "a@b.c"}',
        ),
        ("{'refresh_token': 'abc', 'n': 1}", "{'refresh_token': '[redacted]', 'n': 1}"),
        ("Authorization: Bearer abc.def", "Authorization: [redacted]"),
        ("sent bearer abc.def-ghi to it", "sent bearer [redacted] to it"),
        (f"token {JWT} expired", "token [redacted] expired"),
        ("Cookie: session=abc; theme=dark\nnext line", "Cookie: [redacted]\nnext line"),
        ("postgres://app:s3cret@db:5432/praxis", "postgres://app:[redacted]@db:5432/praxis"),
        ("tokens end with this process", "tokens end with this process"),
    ],
)
def test_secrets_are_scrubbed_from_text(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed


@pytest.fixture
def active_request() -> Iterator[tuple[str, str]]:
    """A request being served, as the middleware leaves it: its context and a current span."""
    tracer = TracerProvider().get_tracer("test")
    token = context._current.set(None)
    context.begin("req-123", "/api/v1/things/<id>")
    with tracer.start_as_current_span("GET /api/v1/things/<id>") as span:
        ids = span.get_span_context()
        yield f"{ids.trace_id:032x}", f"{ids.span_id:016x}"
    context._current.reset(token)


def _record(message: str, *args: Any, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("praxis.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    assert RequestContextFilter().filter(record)
    return record


def test_json_lines_carry_the_request_and_span_and_redact_secret_fields(
    active_request: tuple[str, str],
) -> None:
    trace_id, span_id = active_request
    record = _record(
        "user %s signed in with password=%s",
        "a@b.c",
        "hunter2",
        access_token=JWT,
        attempt=2,
        headers={"Authorization": "Bearer x", "Accept": "*/*"},
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "user a@b.c signed in with password=[redacted]"
    assert (line["request_id"], line["trace_id"], line["span_id"]) == ("req-123", trace_id, span_id)
    assert line["access_token"] == "[redacted]"
    assert line["attempt"] == 2
    assert line["headers"] == {"Authorization": "[redacted]", "Accept": "*/*"}
    assert (line["level"], line["logger"]) == ("WARNING", "praxis.test")


def test_console_lines_are_readable_with_the_context_first(active_request: tuple[str, str]) -> None:
    trace_id, span_id = active_request
    record = _record("cache %s failed", "GET", operation="get", cookie="a=b")
    line = ConsoleFormatter().format(record)
    assert line.endswith(
        f"WARNING praxis.test: cache GET failed request_id=req-123 trace_id={trace_id} "
        f"span_id={span_id} operation=get cookie=[redacted]"
    )


def test_outside_a_request_lines_carry_no_request_fields() -> None:
    token = context._current.set(None)
    try:
        line = json.loads(JsonFormatter().format(_record("started")))
    finally:
        context._current.reset(token)
    assert not {"request_id", "trace_id", "span_id"} & line.keys()


def test_exceptions_are_formatted_and_scrubbed() -> None:
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError as exc:
        record = logging.LogRecord("praxis.t", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = (type(exc), exc, exc.__traceback__)
    line = json.loads(JsonFormatter().format(record))
    assert line["exception"].startswith("Traceback")
    assert "ValueError: bad token [redacted]" in line["exception"]
    assert JWT not in ConsoleFormatter().format(record)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    names = ["", "praxis", "sanic.root", "sanic.error", "sanic.server", "sanic.websockets"]
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    saved_propagate = {n: logging.getLogger(n).propagate for n in names}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = saved_propagate[name]


def test_configure_logging_sends_every_logger_through_one_handler(restored_logging: None) -> None:
    configure_logging("json", "INFO")
    [handler] = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)
    # Its own level: a library's DEBUG records propagate to it whatever the root level is.
    assert handler.level == logging.INFO
    for name in ("praxis.anything", "sanic.error", "sanic.root"):
        logger = logging.getLogger(name)
        assert not logger.handlers
        assert logger.propagate
    configure_logging("console", "WARNING")
    [handler] = logging.getLogger().handlers
    assert isinstance(handler.formatter, ConsoleFormatter)
    assert logging.getLogger("praxis").level == logging.WARNING


def _add_failing_routes(app: Sanic[Any, Any]) -> None:
    async def crash(_: Request) -> HTTPResponse:
        logging.getLogger("praxis.test").warning("about to crash")
        raise RuntimeError("crashed")

    async def outage(_: Request) -> HTTPResponse:
        raise ConnectionRefusedError("database down")

    async def refuse(_: Request) -> HTTPResponse:
        return json_response({"status": "fail"}, status=503)

    app.add_route(crash, "/test/crash")
    app.add_route(outage, "/test/outage")
    app.add_route(refuse, "/test/refuse")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The praxis loggers' records as JSON lines, through the production filter and format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    praxis = logging.getLogger("praxis")
    praxis.addHandler(handler)
    previous_level = praxis.level
    praxis.setLevel(logging.INFO)
    yield stream
    praxis.removeHandler(handler)
    praxis.setLevel(previous_level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_500_is_logged_once_naming_the_request_and_span(
    other_app: ServeVariant, captured: io.StringIO
) -> None:
    api = other_app(configure=_add_failing_routes)
    response = api.get("/test/crash")
    assert response.status_code == 500
    trace_id, span_id, _ = traceparent_ids(response.headers["traceparent"])
    lines = _lines(captured)
    assert [line["message"] for line in lines] == ["about to crash", "GET /test/crash answered 500"]
    for line in lines:
        assert line["request_id"] == response.headers["X-Request-ID"]
        assert (line["trace_id"], line["span_id"]) == (trace_id, span_id)
    assert "RuntimeError: crashed" in lines[1]["exception"]
    assert "exception" not in lines[0]


def test_a_dependency_outage_is_a_503_logged_once_with_its_exception(
    other_app: ServeVariant, captured: io.StringIO
) -> None:
    api = other_app(configure=_add_failing_routes)
    response = api.get("/test/outage")
    assert response.status_code == 503
    [line] = _lines(captured)
    assert (line["level"], line["status"], line["route"]) == ("ERROR", 503, "/test/outage")
    assert "ConnectionRefusedError: database down" in line["exception"]


def test_a_5xx_answer_without_an_exception_is_a_warning(
    other_app: ServeVariant, captured: io.StringIO
) -> None:
    api = other_app(configure=_add_failing_routes)
    assert api.get("/test/refuse").status_code == 503
    [line] = _lines(captured)
    assert (line["level"], line["message"]) == ("WARNING", "GET /test/refuse answered 503")
    assert "exception" not in line


def test_4xx_answers_are_not_logged(api: Api, captured: io.StringIO) -> None:
    assert api.get("/no/such/path").status_code == 404
    assert api.post("/api/v1/auth/login", json={"email": "x"}).status_code == 422
    assert _lines(captured) == []
