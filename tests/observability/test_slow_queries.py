"""Statement timing at the asyncpg level: every statement timed by operation, the pool's reset
left out, the sqlcommenter comment as PostgreSQL receives it; and, in a real ``praxis serve``
with SLOW_QUERY_MS=0, the slow-statement log line with its fields and no parameter values."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY

from observability import context, statements
from service.config import Settings
from tests.support.processes import free_port, praxis_serve

tracer = TracerProvider().get_tracer("tests")
# Sampled; the SDK also sets W3C level 2's "random trace id" flag (0x02).
TRACEPARENT = "traceparent='00-[0-9a-f]{32}-[0-9a-f]{16}-0[13]'"


@pytest.fixture
def hooked(settings: Settings) -> Iterator[None]:
    statements.install(settings.slow_query_ms, "off")
    yield
    statements.install(settings.slow_query_ms, settings.sql_comment_traceparent)


def timed(operation: str) -> float:
    labels = {"operation": operation}
    return REGISTRY.get_sample_value("praxis_db_query_duration_seconds_count", labels) or 0.0


def timed_by_operation() -> dict[str, float]:
    operations = ("select", "insert", "update", "delete", "copy", "transaction", "other")
    return {operation: timed(operation) for operation in operations}


async def some_statements(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:  # released: the pool resets the connection
            await conn.execute("CREATE TEMP TABLE probe (id int, email text)")
            await conn.fetch("SELECT 1")
            await conn.fetchrow("SELECT $1::int", 2)
            await conn.fetchval("SELECT 3")
            async with conn.transaction():
                await conn.execute("INSERT INTO probe VALUES ($1, $2)", 1, "a@example.com")
                await conn.executemany("UPDATE probe SET id = $1", [(2,), (3,)])
            await conn.copy_records_to_table("probe", records=[(4, "b@example.com")])
            await conn.execute(
                "WITH gone AS (DELETE FROM probe WHERE id = $1 RETURNING id) SELECT 1", 4
            )
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 4")
    finally:
        await pool.close()


def test_every_statement_is_timed_by_operation_and_the_pool_reset_is_not(
    database_url: str, hooked: None
) -> None:
    before = timed_by_operation()
    asyncio.run(some_statements(database_url))
    after = timed_by_operation()

    added = {operation: after[operation] - before[operation] for operation in after}
    assert added == {
        "select": 4,
        "insert": 1,
        "update": 1,  # executemany: one statement, however many parameter sets
        "delete": 1,  # a data-modifying CTE counts as what it writes
        "copy": 1,
        "transaction": 2,  # BEGIN, COMMIT
        "other": 1,  # CREATE TEMP TABLE
    }


@pytest.mark.parametrize(
    ("sql", "operation"),
    [
        ("  select\n  1", "select"),
        ("WITH s AS (SELECT id FROM t FOR UPDATE) SELECT * FROM s", "select"),
        ("WITH s AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM s", "insert"),
        ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 1", "insert"),
        ("COMMIT;", "transaction"),
        ("SAVEPOINT sp_1", "transaction"),
        ("TRUNCATE t", "other"),
    ],
)
def test_the_operation_is_the_sql_verb(sql: str, operation: str) -> None:
    assert statements.statement_of(sql).operation == operation


async def text_postgres_received(database_url: str, route: str | None) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        if route is not None:
            context.begin("request-1", route)
        with tracer.start_as_current_span("request"):
            received: str = await conn.fetchval("SELECT current_query()")
            return received
    finally:
        await conn.close()


def test_statements_carry_the_route_and_only_the_traceparent_asked_for(
    database_url: str, settings: Settings
) -> None:
    try:
        statements.install(settings.slow_query_ms, "off")
        route_only = asyncio.run(text_postgres_received(database_url, "/api/v1/history"))
        statements.install(settings.slow_query_ms, "sampled")
        with_trace = asyncio.run(text_postgres_received(database_url, "/api/v1/sessions/<id>"))
        without_request = asyncio.run(text_postgres_received(database_url, None))
    finally:
        statements.install(settings.slow_query_ms, settings.sql_comment_traceparent)

    assert route_only == "SELECT current_query() /*route='%2Fapi%2Fv1%2Fhistory'*/"
    route = "%2Fapi%2Fv1%2Fsessions%2F%3Cid%3E"
    assert re.fullmatch(
        rf"SELECT current_query\(\) /\*route='{route}',{TRACEPARENT}\*/", with_trace
    )
    assert re.fullmatch(rf"SELECT current_query\(\) /\*{TRACEPARENT}\*/", without_request)


async def texts_prepared(database_url: str, executions: int) -> int:
    """How many statement texts asyncpg prepared for ``executions`` runs of one statement, each
    in a request (and a trace) of its own."""
    conn = await asyncpg.connect(database_url)
    try:
        for value in range(executions):
            context.begin(f"request-{value}", "/api/v1/history")
            with tracer.start_as_current_span("request"):
                await conn.fetchval("SELECT $1::int", value)
        return len(conn._stmt_cache)
    finally:
        await conn.close()


def test_a_route_only_comment_keeps_one_prepared_statement_and_a_traceparent_does_not(
    database_url: str, settings: Settings
) -> None:
    try:
        statements.install(settings.slow_query_ms, "off")
        route_only = asyncio.run(texts_prepared(database_url, 20))
        statements.install(settings.slow_query_ms, "always")
        with_traceparent = asyncio.run(texts_prepared(database_url, 20))
    finally:
        statements.install(settings.slow_query_ms, settings.sql_comment_traceparent)

    assert route_only == 1
    assert with_traceparent == 20


@pytest.fixture
def slow_logging_server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        "ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": "none",
        "PORT": str(port),
        "WORKERS": "1",
        "JWT_SECRET": "slow-secret-" + "x" * 40,
        "RATE_LIMIT_AUTH": "100000/minute",
        "SLOW_QUERY_MS": "0",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(tmp_path / "data"),
    }
    with praxis_serve(env, log):
        yield f"http://127.0.0.1:{port}", log


def test_with_slow_query_ms_0_every_statement_is_logged_with_its_fields_and_no_values(
    slow_logging_server: tuple[str, Path],
) -> None:
    base_url, log = slow_logging_server
    email = f"slow-{uuid.uuid4().hex[:8]}@example.com"
    login = {"email": email, "password": "not the password"}
    response = httpx.post(f"{base_url}/api/v1/auth/login", json=login, timeout=10)
    assert response.status_code == 401
    request_id = response.headers["x-request-id"]  # its lines were written before it was sent

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    slow = [line for line in lines if line["logger"] == "praxis.db.slow"]
    mine = [line for line in slow if line["request_id"] == request_id]

    assert mine, slow
    for line in mine:
        assert line["route"] == "/api/v1/auth/login"
        assert line["duration_ms"] >= 0
        assert "trace_id" in line
        assert "$1" in line["statement"]  # the placeholder, not the value
        assert "  " not in line["statement"]
        assert "\n" not in line["statement"]
    assert email not in log.read_text()
    assert "not the password" not in log.read_text()
