"""Retention: ``praxis purge`` and the server's periodic purge delete expired idempotency keys and
finished refresh tokens (rows aged by hand), keep the rest, and purge one at a time under an
advisory lock."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from service.infra import db, sql
from service.infra.sql import Params
from service.models import IdempotencyKey, RefreshToken
from service.ops.purge import PURGE_LOCK_KEY, purge_if_first
from tests.support.factories import Account, Factories
from tests.support.processes import Praxis
from tests.support.servers import Server, ServeVariant

NOW = datetime.now(UTC)


def _key(server: Server, user: Account, age: timedelta) -> int:
    async def create() -> int:
        row = await IdempotencyKey.create(
            user_id=user.id,
            key=uuid.uuid4().hex,
            request_hash="h",
            response_status=201,
            response_body={},
        )
        await sql.execute(
            db.connection(),
            "UPDATE idempotency_keys SET created_at = $2 WHERE id = $1",
            Params(row.id, datetime.now(UTC) - age),
        )
        return int(row.id)

    return server.run(create())


def _token(
    server: Server,
    user: Account,
    expires_in: timedelta,
    used_at: datetime | None = None,
    revoked_at: datetime | None = None,
) -> uuid.UUID:
    async def create() -> uuid.UUID:
        row = await RefreshToken.create(
            token_hash=uuid.uuid4().hex,
            family_id=uuid.uuid4(),
            user_id=user.id,
            expires_at=datetime.now(UTC) + expires_in,
            used_at=used_at,
            revoked_at=revoked_at,
        )
        return uuid.UUID(str(row.id))

    return server.run(create())


def _remaining(server: Server) -> tuple[set[int], set[uuid.UUID]]:
    async def read() -> tuple[set[int], set[uuid.UUID]]:
        keys = {key.id for key in await IdempotencyKey.all()}
        tokens = {token.id for token in await RefreshToken.all()}
        return keys, tokens

    return server.run(read())


def test_purge_deletes_expired_keys_and_finished_tokens_and_prints_the_counts(
    praxis: Praxis, server: Server, make: Factories
) -> None:
    user = make.user()
    fresh_key = _key(server, user, timedelta(hours=1))
    _key(server, user, timedelta(hours=25))
    live = _token(server, user, timedelta(days=20))
    recently_spent = _token(server, user, timedelta(days=20), used_at=NOW - timedelta(days=1))
    _token(server, user, timedelta(seconds=-1))
    _token(server, user, timedelta(days=20), used_at=NOW - timedelta(days=8))
    _token(server, user, timedelta(days=20), revoked_at=NOW - timedelta(days=8))

    result = praxis("purge")
    assert result.returncode == 0, result.stderr
    assert "idempotency keys deleted: 1" in result.stdout
    assert "refresh tokens deleted: 3" in result.stdout
    assert _remaining(server) == ({fresh_key}, {live, recently_spent})

    again = praxis("purge")
    assert again.returncode == 0, again.stderr
    assert "idempotency keys deleted: 0" in again.stdout
    assert "refresh tokens deleted: 0" in again.stdout


def test_a_purge_skips_while_another_holds_the_lock(
    praxis: Praxis, server: Server, database_url: str, make: Factories
) -> None:
    user = make.user()
    old_key = _key(server, user, timedelta(hours=25))

    async def while_locked() -> object:
        other = await asyncpg.connect(database_url)
        try:
            async with other.transaction():
                assert await other.fetchval("SELECT pg_try_advisory_xact_lock($1)", PURGE_LOCK_KEY)
                return await purge_if_first()
        finally:
            await other.close()

    assert server.run(while_locked()) is None
    assert old_key in _remaining(server)[0]
    counts = server.run(purge_if_first())
    assert counts is not None
    assert counts.idempotency_keys == 1


def test_the_cli_reports_a_purge_already_running(
    praxis: Praxis, server: Server, database_url: str
) -> None:
    async def hold() -> asyncpg.Connection:
        other = await asyncpg.connect(database_url)
        await other.execute("BEGIN")
        await other.fetchval("SELECT pg_advisory_xact_lock($1)", PURGE_LOCK_KEY)
        return other

    other = server.run(hold())
    try:
        result = praxis("purge")
    finally:
        server.run(other.close())
    assert result.returncode == 1
    assert "another purge is running" in result.stderr


def test_the_server_purges_periodically(
    other_app: ServeVariant, server: Server, make: Factories
) -> None:
    user = make.user()
    old_key = _key(server, user, timedelta(hours=25))
    other_app(purge_interval_seconds=0.05)
    deadline = time.monotonic() + 10
    while old_key in _remaining(server)[0]:
        assert time.monotonic() < deadline, "the periodic purge did not run within 10s"
        server.run(_pause())


async def _pause() -> None:
    await asyncio.sleep(0.05)  # lets the served app's purge task run on this loop
