"""Every SQL statement sent through asyncpg, timed, counted per request, and logged when slow.

The hook wraps ``asyncpg.Connection``'s query methods, the level that sees every statement
whoever issues it: the ORM, the raw SQL helpers, transactions (BEGIN/COMMIT) and COPY. The
official OpenTelemetry asyncpg instrumentation wraps the same methods; the two nest in either
order. The pool's reset statement (sent on every release) is passed through untouched.

Each statement gets a sqlcommenter comment with the route template, and with the traceparent
when ``SQL_COMMENT_TRACEPARENT`` asks for it: a traceparent makes every text unique, so asyncpg
prepares each statement again (docs/operations.md has the measurements)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from opentelemetry import trace

from observability import context, metrics
from observability.sqlcomment import sqlcomment

TraceparentMode = Literal["off", "sampled", "always"]

slow_logger = logging.getLogger("praxis.db.slow")

_QUERY_METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany")
# The first argument names a table: asyncpg writes the COPY statement itself.
_COPY_TABLE_METHODS = ("copy_from_table", "copy_to_table", "copy_records_to_table")
_COPY_QUERY_METHODS = ("copy_from_query",)
_TRANSACTION_VERBS = frozenset({"begin", "start", "commit", "end", "rollback", "savepoint"})
_TRANSACTION_VERBS |= {"release", "abort"}
_VERBS = frozenset({"select", "insert", "update", "delete", "copy"})
# What a WITH statement writes, ignoring SELECT ... FOR UPDATE locking clauses.
_WRITE_IN_CTE = re.compile(r"(?<!for )\b(insert|update|delete)\b", re.IGNORECASE)
# Connection failures, as opposed to errors in a statement.
_CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
)
# Texts are parameterized ($n), so there are few; a bound keeps dynamic SQL from growing it.
_MAX_CACHED_TEXTS = 4096


@dataclass(frozen=True, slots=True)
class Statement:
    """What is known about one SQL text, worked out once."""

    operation: str
    normalized: str  # whitespace collapsed; asyncpg's $n placeholders carry no values
    duration: Any  # the praxis_db_query_duration_seconds child of the operation
    slow: Any  # the praxis_db_slow_queries_total child


@dataclass(slots=True)
class _Config:
    slow_seconds: float = 0.1
    traceparent: TraceparentMode = "off"


_config = _Config()
_statements: dict[str, Statement] = {}
_route_commented: dict[tuple[str, str | None], str] = {}
_installed = False


def install(slow_query_ms: int, traceparent: TraceparentMode = "off") -> None:
    """Hook asyncpg (once per process) and set the threshold and comment mode."""
    global _installed  # noqa: PLW0603 - asyncpg's methods are patched once per process
    _config.slow_seconds = slow_query_ms / 1000
    _config.traceparent = traceparent
    if _installed:
        return
    _installed = True
    for name in _QUERY_METHODS + _COPY_QUERY_METHODS:
        setattr(asyncpg.Connection, name, _timed_query(getattr(asyncpg.Connection, name)))
    for name in _COPY_TABLE_METHODS:
        setattr(asyncpg.Connection, name, _timed_copy(getattr(asyncpg.Connection, name)))


def operation_of(normalized: str) -> str:
    verb = normalized.split(" ", 1)[0].lower().rstrip(";")
    if verb in _VERBS:
        return verb
    if verb in _TRANSACTION_VERBS:
        return "transaction"
    if verb == "with":
        write = _WRITE_IN_CTE.search(normalized)
        return write.group(1).lower() if write else "select"
    return "other"


def statement_of(query: str) -> Statement:
    statement = _statements.get(query)
    if statement is None:
        normalized = " ".join(query.split())
        operation = operation_of(normalized)
        statement = Statement(
            operation,
            normalized,
            metrics.DB_QUERY_DURATION.labels(operation),
            metrics.DB_SLOW_QUERIES.labels(operation),
        )
        if len(_statements) < _MAX_CACHED_TEXTS:
            _statements[query] = statement
    return statement


Method = Callable[..., Awaitable[Any]]


def _timed_query(method: Method) -> Method:
    async def timed(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if query is self._reset_query:  # the pool cleaning a released connection
            return await method(self, query, *args, **kwargs)
        statement = statement_of(query)
        request = context.current()
        span = trace.get_current_span().get_span_context()
        sent = _commented(query, request.route if request else None, span)
        return await _observed(statement, request, span, method(self, sent, *args, **kwargs))

    return timed


def _timed_copy(method: Method) -> Method:
    async def timed(self: asyncpg.Connection, table_name: str, *args: Any, **kwargs: Any) -> Any:
        statement = statement_of(f"COPY {table_name}")
        request = context.current()
        span = trace.get_current_span().get_span_context()
        return await _observed(statement, request, span, method(self, table_name, *args, **kwargs))

    return timed


def _commented(query: str, route: str | None, span: trace.SpanContext) -> str:
    mode = _config.traceparent
    if mode != "off" and span.is_valid and (mode == "always" or span.trace_flags.sampled):
        traceparent = f"00-{span.trace_id:032x}-{span.span_id:016x}-{span.trace_flags:02x}"
        return query + sqlcomment(route, traceparent)
    # The same string object each time: its hash is computed once, not at every cache lookup.
    key = (query, route)
    text = _route_commented.get(key)
    if text is None:
        text = query + sqlcomment(route, None)
        if len(_route_commented) < _MAX_CACHED_TEXTS:
            _route_commented[key] = text
    return text


async def _observed(
    statement: Statement,
    request: context.RequestContext | None,
    span: trace.SpanContext,
    call: Awaitable[Any],
) -> Any:
    if request is not None:
        request.queries += 1
    started = time.perf_counter()
    try:
        result = await call
    except _CONNECTION_ERRORS:
        metrics.set_dependency_up("database", False)
        raise
    finally:
        seconds = time.perf_counter() - started
        statement.duration.observe(seconds)
        if seconds >= _config.slow_seconds:
            _slow(statement, seconds, request, span)
    metrics.set_dependency_up("database", True)
    return result


def _slow(
    statement: Statement,
    seconds: float,
    request: context.RequestContext | None,
    span: trace.SpanContext,
) -> None:
    statement.slow.inc()
    duration_ms = round(seconds * 1000, 3)
    slow_logger.warning(
        "slow statement (%.1f ms): %s",
        duration_ms,
        statement.normalized,
        extra={
            "statement": statement.normalized,
            "duration_ms": duration_ms,
            "operation": statement.operation,
            "route": request.route if request else None,
            "request_id": request.request_id if request else None,
            "trace_id": format(span.trace_id, "032x") if span.is_valid else None,
        },
    )
