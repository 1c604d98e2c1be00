"""The server's asyncpg pool hands a released connection back as it is: no reset round trip per
release. That is sound only while the service leaves no session state on a connection, which
the second half of this module checks in every statement the service can send."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg

from service.infra.pg_pool import POOL_DEFAULTS, BoundedPool, pool_options

SOURCES = Path(__file__).resolve().parents[2] / "service"
# Statements whose effect outlives a transaction: they would leak to the next borrower.
# SQL as the service writes it, keywords in capitals. A session SET opens its statement (an
# UPDATE's SET clause never does).
SESSION_STATE = re.compile(
    r"""["']\s*SET\s+(?!LOCAL\b)|\b(LISTEN\s+\w|WITH\s+HOLD|PREPARE\s+\w+\s+AS|"""
    r"""pg_advisory_lock|pg_try_advisory_lock\()""",
)


async def one_connection_pool(database_url: str) -> asyncpg.Pool:
    """The server's pool class with its defaults, as Tortoise opens it, holding one connection."""
    options = {
        "loop": None,
        "connection_class": asyncpg.Connection,
        **POOL_DEFAULTS,
        **pool_options(pgbouncer=False),
    }
    pool: asyncpg.Pool = await BoundedPool(
        database_url, acquire_timeout=2.0, min_size=1, max_size=1, **options
    )
    return pool


async def statements_sent_on_release(database_url: str) -> list[str]:
    pool = await one_connection_pool(database_url)
    sent: list[str] = []
    try:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
            conn.add_query_logger(lambda record: sent.append(record.query))
        async with pool.acquire():  # the only connection: the one just released
            return sent
    finally:
        await pool.close()


def test_a_released_connection_is_not_reset_with_a_statement(database_url: str) -> None:
    assert asyncio.run(statements_sent_on_release(database_url)) == []


async def open_transaction_after_release(database_url: str) -> bool:
    pool = await one_connection_pool(database_url)
    try:
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()  # and never committed: the borrower failed midway
        async with pool.acquire() as conn:
            in_transaction: bool = conn.is_in_transaction()
            return in_transaction
    finally:
        await pool.close()


def test_a_transaction_left_open_is_still_rolled_back_on_release(database_url: str) -> None:
    assert asyncio.run(open_transaction_after_release(database_url)) is False


def test_the_service_sends_no_statement_that_leaves_session_state() -> None:
    found = {
        f"{path.relative_to(SOURCES)}: {match.group(0).strip()}"
        for path in SOURCES.rglob("*.py")
        for match in SESSION_STATE.finditer(path.read_text())
    }
    assert found == set()


def test_the_session_state_check_recognises_what_it_forbids() -> None:
    forbidden = [
        '"SET statement_timeout = 0"',
        "'SET SESSION search_path TO x'",
        '"LISTEN changes"',
        '"SELECT pg_advisory_lock(1)"',
        '"SELECT pg_try_advisory_lock($1)"',
    ]
    allowed = [
        '"SET LOCAL statement_timeout = 0"',
        '"SELECT pg_try_advisory_xact_lock($1)"',
        '"""UPDATE users\n    SET is_active = $1"""',
    ]
    assert all(SESSION_STATE.search(text) for text in forbidden)
    assert not any(SESSION_STATE.search(text) for text in allowed)
