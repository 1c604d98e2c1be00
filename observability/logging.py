"""Log set-up: readable lines in development, one JSON object per line in production.

Every record passes one handler on the root logger, so ``praxis.*``, Sanic's loggers and
libraries' warnings look alike. While a request is served, each line carries its
``request_id``, ``trace_id`` and ``span_id``. Secrets are scrubbed from messages, extra fields
and tracebacks before a line is written. Every 5xx answer is logged exactly once, here, with the
exception that caused it.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson
from opentelemetry import trace
from sanic import Request, Sanic
from sanic.exceptions import RequestCancelled
from sanic.response import BaseHTTPResponse

from observability import context

REDACTED = "[redacted]"
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_CONTEXT_ATTRS = ("request_id", "trace_id", "span_id")
# Loggers that would otherwise write lines of their own format (Sanic configures its own
# handlers when an app is created; configure_logging must run after that).
_TAKEN_OVER = ("praxis", "sanic.root", "sanic.error", "sanic.server", "sanic.websockets")

_SECRET_KEY = r"[\w-]*(?:password|passwd|secret|token|authorization|cookie|api[_-]?key)[\w-]*"  # noqa: S105 - finds secrets
_SECRET_KEY_NAME = re.compile(_SECRET_KEY, re.IGNORECASE)
_SECRET_PATTERNS = (
    # A header line as printed by a request dump: everything after the name.
    (
        re.compile(r"(?im)^(\s*(?:proxy-)?(?:authorization|cookie|set-cookie)\s*:\s*).+$"),
        rf"\1{REDACTED}",
    ),
    # Credentials in an Authorization value, wherever it appears.
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"), rf"\1 {REDACTED}"),
    # A JSON web token anywhere (header.payload.signature, base64url).
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), REDACTED),
    # "password": "..." and 'token': '...' in JSON or a dict's repr.
    (
        re.compile(rf"""(?i)(["']{_SECRET_KEY}["']\s*[:=]\s*)(["'])(?:(?!\2).)*\2"""),
        rf"\1\2{REDACTED}\2",
    ),
    # password=... in a query string, a form body or a keyword argument's repr.
    (re.compile(rf"(?i)\b({_SECRET_KEY}\s*=\s*)[^\s,;&)}}\]'\"]+"), rf"\1{REDACTED}"),
    # The password in a URL's user information.
    (re.compile(r"(://[^:/@\s]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)


def scrub(text: str) -> str:
    """``text`` with every recognisable secret replaced by ``[redacted]``."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redacted(key: str, value: Any) -> Any:
    if _SECRET_KEY_NAME.fullmatch(key):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _redacted(str(k), v) for k, v in value.items()}
    return value


class RequestContextFilter(logging.Filter):
    """Names the request being served (and its span) on every record written while serving it."""

    def filter(self, record: logging.LogRecord) -> bool:
        served = context.current()
        if served is not None and not hasattr(record, "request_id"):
            record.request_id = served.request_id
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = f"{span_context.trace_id:032x}"
            record.span_id = f"{span_context.span_id:016x}"
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's context and ``extra`` fields, secrets redacted."""
    return {
        key: _redacted(key, value)
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRS and key[0] != "_"
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``, the context first, then any traceback."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        line = scrub(self.formatMessage(record))
        fields = _fields(record)
        ordered = [k for k in _CONTEXT_ATTRS if k in fields] + [
            k for k in fields if k not in _CONTEXT_ATTRS
        ]
        if ordered:
            line += " " + " ".join(f"{key}={fields[key]}" for key in ordered)
        if record.exc_info:
            line += "\n" + scrub(self.formatException(record.exc_info))
        return line


def configure_logging(log_format: str, level: str) -> None:
    """One stderr handler on the root logger; call after creating the Sanic app (which installs
    handlers of its own on its loggers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else ConsoleFormatter())
    handler.addFilter(RequestContextFilter())
    # The handler's level too: records of a more verbose logger (a library's DEBUG) propagate to
    # it regardless of the root logger's level.
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _TAKEN_OVER:
        taken = logging.getLogger(name)
        taken.handlers.clear()
        taken.setLevel(level)
        taken.propagate = True


# --- the 5xx log line ------------------------------------------------------------------------

http_logger = logging.getLogger("praxis.http")
# Response middleware of higher priority runs later: after the others, before the tracing
# middleware (200) ends the span this line names.
SERVER_ERROR_LOG_PRIORITY = 150


def record_failure(request: Request, exc: BaseException) -> None:
    """Remember the exception a request failed with; the last one recorded is the one logged (an
    exception raised while rendering an error carries the first as its context)."""
    request.ctx.failure = exc


def failure_of(request: Request) -> BaseException | None:
    failure: BaseException | None = getattr(request.ctx, "failure", None)
    return failure


def install_request_logging(app: Sanic[Any, Any]) -> None:
    @app.signal("http.lifecycle.exception")
    async def remember_exception(request: Request, exception: BaseException) -> None:
        record_failure(request, exception)

    app.register_middleware(log_server_error, "response", priority=SERVER_ERROR_LOG_PRIORITY)


async def log_server_error(request: Request, response: BaseHTTPResponse) -> None:
    status = response.status
    if status < HTTPStatus.INTERNAL_SERVER_ERROR:
        return
    route = request.route
    failure = failure_of(request)
    if isinstance(failure, RequestCancelled):
        # The client left (or the server is stopping): nobody reads this answer, and a traceback
        # per dropped connection would bury real failures.
        failure = None
    http_logger.log(
        logging.ERROR if failure is not None else logging.WARNING,
        "%s %s answered %d",
        request.method,
        request.path,
        status,
        exc_info=failure,
        extra={
            "method": request.method,
            "route": "/" + route.path.lstrip("/") if route is not None else None,
            "status": status,
        },
    )
