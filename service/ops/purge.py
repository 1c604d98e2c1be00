"""Data retention: expired idempotency keys and finished refresh tokens are deleted, by
``praxis purge`` and periodically by the server. Every purge runs in one transaction holding a
transaction-level advisory lock, so one worker (of any instance) purges at a time and the others
skip that round; the lock goes with the transaction, even when its connection is lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from service.app_context import PraxisApp
from service.auth import queries as auth_queries
from service.config import Settings
from service.infra import db, sql
from service.ops.exit_codes import EXIT_FAILURE, EXIT_OK
from service.sessions import queries as session_queries
from service.sessions.service import IDEMPOTENCY_KEY_TTL

logger = logging.getLogger("praxis.purge")

# A fixed key of this service's own in PostgreSQL's advisory lock space ("praxis-purge").
PURGE_LOCK_KEY = 0x70726178_70757267 & 0x7FFF_FFFF_FFFF_FFFF
# Spent and revoked refresh tokens are kept this long after they were spent: replaying one
# revokes its family (reuse detection) and a revoked login's access tokens stay refused.
SPENT_TOKEN_RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class PurgeCounts:
    idempotency_keys: int
    refresh_tokens: int


async def purge_if_first(now: datetime | None = None) -> PurgeCounts | None:
    """Purge unless another session is purging right now (then None)."""
    now = now or datetime.now(UTC)
    async with in_transaction() as conn:
        if not await sql.try_advisory_xact_lock(conn, PURGE_LOCK_KEY):
            return None
        keys = await session_queries.delete_idempotency_keys_before(conn, now - IDEMPOTENCY_KEY_TTL)
        tokens = await auth_queries.delete_finished_refresh_tokens(
            conn, now, now - SPENT_TOKEN_RETENTION
        )
    return PurgeCounts(idempotency_keys=keys, refresh_tokens=tokens)


async def run(settings: Settings) -> int:
    """``praxis purge``: the counts on stdout; exit 1 when another purge holds the lock."""
    database = await db.resolve_database(settings)
    await db.init_orm(database.url, pgbouncer=settings.db_pgbouncer)
    try:
        counts = await purge_if_first()
    finally:
        await db.close_orm()
    if counts is None:
        print("praxis: another purge is running; nothing deleted", file=sys.stderr)  # noqa: T201
        return EXIT_FAILURE
    print(f"idempotency keys deleted: {counts.idempotency_keys}")  # noqa: T201
    print(f"refresh tokens deleted: {counts.refresh_tokens}")  # noqa: T201
    return EXIT_OK


async def _purge_periodically(interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            counts = await purge_if_first()
        except Exception:  # a failed round (database down) must not end the schedule
            logger.exception("periodic purge failed")
            continue
        if counts is not None:
            logger.info(
                "purged %d idempotency keys and %d refresh tokens",
                counts.idempotency_keys,
                counts.refresh_tokens,
            )


def install_periodic_purge(app: PraxisApp) -> None:
    """Every worker tries every ``PURGE_INTERVAL_SECONDS``; the lock lets one through."""
    interval = app.ctx.settings.purge_interval_seconds
    if interval == 0:
        return
    tasks: list[asyncio.Task[None]] = []

    @app.after_server_start
    async def start_purging(_: PraxisApp) -> None:
        tasks.append(asyncio.create_task(_purge_periodically(interval)))

    @app.before_server_stop
    async def stop_purging(_: PraxisApp) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tasks.clear()
