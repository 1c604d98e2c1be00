"""The Tortoise engine the server uses: Tortoise's asyncpg client over a pool whose every wait is
bounded. Tortoise acquires pool connections without a timeout (``pool.acquire()``), and
asyncpg's release waits, unbounded by default, for a cancelled statement's cancellation and the
connection's reset: with a hung server both would hold a request forever. Here an acquire (and
so its release, which inherits the acquire's timeout) gives up after ``acquire_timeout``
seconds; statements have asyncpg's ``command_timeout``, new connections its connect
``timeout``. A connection whose statement timed out is closed on release, never reused, and a
failed BEGIN gives its connection back (Tortoise's own context would keep it, and the task's
connection context with it). Tortoise loads this module by path (``engine``) and reads
``client_class``.

On release the pool resets nothing beyond rolling back a transaction left open (asyncpg does
that before calling ``reset``): its default reset (``pg_advisory_unlock_all(); CLOSE ALL;
UNLISTEN *; RESET ALL``) is one more round trip per statement run outside a held connection,
and the service leaves no session state to undo. It sets no session parameters, opens no
cursors outside transactions, listens to nothing, and takes advisory locks only per
transaction (``try_advisory_xact_lock``). ``tests/infra/test_pg_pool.py`` holds it to that.

Behind PgBouncer in transaction pooling mode (``DB_PGBOUNCER``) consecutive statements of one
client connection may run on different server connections, so nothing may outlive a statement
or a transaction on the server: ``driver_options`` turns off what would (docs/operations.md,
"PgBouncer")."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionContext, TransactionContextPooled
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connections

logger = logging.getLogger("praxis.db")

ENGINE = __name__


POOL_DEFAULTS: dict[str, Any] = {
    "max_queries": 50_000,
    "max_inactive_connection_lifetime": 300.0,
    "record_class": asyncpg.Record,
}


@dataclass(frozen=True)
class PoolLimits:
    """What one worker's pool may hold and how long anything may wait on it, in seconds."""

    max_size: int
    acquire_timeout: float
    command_timeout: float
    connect_timeout: float


class CancelFreeConnection(asyncpg.Connection):  # type: ignore[misc]  # no type hints
    """asyncpg's connection, which closes itself where asyncpg would cancel its statement (a
    timeout, a cancelled task). asyncpg cancels with a CancelRequest on a second connection, and
    closes that one early when its own connection is closed meanwhile (the pool closes one whose
    statement timed out) or the cancel outlasts ``command_timeout`` (a hung server): PgBouncer
    1.18 (Debian 12's; fixed in 1.19.1, more cancel crashes in 1.21.0) then exits with ``FATAL
    ... bad client state: 0`` (pgbouncer/pgbouncer#801), taking every client's database along.
    Closed instead, the client makes PgBouncer drop its server connection, and the server's
    ``statement_timeout`` ends the statement left running there."""

    def _cancel_current_command(self, _sent: Any, _answered: Any = None) -> None:
        # Called from the protocol's timeout callback, which delivers the TimeoutError after
        # this returns: terminating now would tear the protocol down under it. The waiters
        # for the cancel complete when the connection is lost.
        self._loop.call_soon(self.terminate)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing (see the module's docstring). Behind a transaction
    pooler asyncpg's reset statement would moreover run on whichever server connection PgBouncer
    picks, releasing another client's session locks."""


def driver_options(pgbouncer: bool) -> dict[str, Any]:
    """asyncpg's options for one connection (``asyncpg.connect``): behind a transaction pooler
    no statement cache (its named prepared statements stay on the server connection that
    prepared them; asyncpg then sends unnamed ones, parsed again with every execution) and no
    cancel requests."""
    if not pgbouncer:
        return {}
    return {"statement_cache_size": 0, "connection_class": CancelFreeConnection}


def pool_options(pgbouncer: bool) -> dict[str, Any]:
    """``driver_options`` for a pool's connections, and the pool's reset on release."""
    return {**driver_options(pgbouncer), "reset": _keep_session}


class BoundedPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg ships no type hints
    """An asyncpg pool whose acquire (and hence release) defaults to a timeout."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        # A statement that timed out is still being cancelled. On a hung server the cancel
        # never lands: whatever was sent (a BEGIN, an UPDATE) may run once the server resumes,
        # after asyncpg decided what state the session is in, and the next borrower's
        # autocommit statement would land inside a transaction nobody commits. So that
        # connection is closed, never reused. (``_con`` is the proxied connection.)
        raw = getattr(connection, "_con", None)
        protocol = getattr(raw, "_protocol", None)
        if raw is not None and protocol is not None and protocol._is_cancelling():
            raw.terminate()
        try:
            await super().release(connection, timeout=timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # asyncpg terminated the connection before raising: it is out of the pool. Not
            # raised on: Tortoise's transaction exit releases before it restores the task's
            # connection context, so a raise here would leave the next request served on
            # this keep-alive connection inside this dead transaction.
            logger.info("database connection dropped on release: %r", exc)


class _ReleasingTransactionContext(TransactionContextPooled):
    """Tortoise's pooled transaction, which keeps the connection and the task's connection
    context when BEGIN fails (its exit never runs then): the connection would never return to
    the pool, and the next request served by the same task (Sanic serves a keep-alive
    connection's requests in one task) would run its statements in that transaction."""

    async def __aenter__(self) -> Any:
        try:
            return await super().__aenter__()
        except BaseException:
            await self._abandon()
            raise

    async def _abandon(self) -> None:
        token = getattr(self, "token", None)  # set only once a connection was acquired
        if token is None:
            return
        get_connections().reset(token)
        pool = self.client._parent._pool
        if pool is not None:
            await pool.release(self.client._connection)


class BoundedPoolClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return _ReleasingTransactionContext(TransactionWrapper(self), self._pool_init_lock)

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        acquire_timeout = float(kwargs.pop("acquire_timeout"))
        # What asyncpg.create_pool does, with our pool class and its defaults (Pool's own
        # constructor has none): awaiting a pool opens it.
        options = {**POOL_DEFAULTS, **kwargs}
        return await BoundedPool(None, acquire_timeout=acquire_timeout, **options)


client_class = BoundedPoolClient


def bounded_connection(
    database_url: str, limits: PoolLimits, pgbouncer: bool = False
) -> dict[str, Any]:
    """Tortoise's ``connections`` entry for ``database_url`` (its query options kept) on the
    bounded pool."""
    config = tortoise_connection(database_url, pgbouncer)
    config["engine"] = ENGINE
    config["credentials"].update(
        minsize=1,
        maxsize=limits.max_size,
        acquire_timeout=limits.acquire_timeout,
        command_timeout=limits.command_timeout,
        timeout=limits.connect_timeout,
    )
    return config


def tortoise_connection(database_url: str, pgbouncer: bool = False) -> dict[str, Any]:
    """Tortoise's ``connections`` entry for ``database_url`` on its own asyncpg pool."""
    config: dict[str, Any] = expand_db_url(database_url)
    config["credentials"].update(pool_options(pgbouncer))
    return config
