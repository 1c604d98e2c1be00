"""The test database: one per run, migrated with the real migrations, emptied before each test.

The tables emptied are derived from the models Tortoise knows, so a new model's rows cannot leak
from one test into the next; only Aerich's history and the reference data the migrations seed
(built-in roles, permissions and their grants) are kept."""

from __future__ import annotations

import asyncio
import os
import uuid
from functools import cache
from pathlib import Path

import asyncpg
from aerich.models import Aerich
from tortoise import Tortoise, connections
from tortoise.fields.relational import ManyToManyFieldInstance
from tortoise.models import Model

from service.infra import db
from service.models import Permission, Role

ADMIN_URL = os.environ.get("PRAXIS_TEST_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
RUN_ID = uuid.uuid4().hex[:10]
TEST_DATABASE = f"praxis_test_{RUN_ID}"
# Rows the migrations seed; tests may add roles of their own, which are deleted again.
REFERENCE_MODELS: tuple[type[Model], ...] = (Role, Permission)
UNMANAGED_MODELS: tuple[type[Model], ...] = (Aerich,)


def admin_url() -> str:
    """The local PostgreSQL server when one answers, else an embedded one (a fresh machine)."""
    if asyncio.run(db.server_answers(ADMIN_URL)):
        return ADMIN_URL
    from service.dev.embedded_pg import start_embedded_postgres

    embedded = start_embedded_postgres(Path(".praxis/test-postgres"))
    return embedded.rsplit("/", 1)[0] + "/postgres"


def database_url_on(server_url: str, database: str) -> str:
    return server_url.rsplit("/", 1)[0] + "/" + database


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(server_url: str, name: str) -> str:
    """An empty database ``name`` on the server; returns its URL."""
    asyncio.run(_execute(server_url, f'CREATE DATABASE "{name}"'))
    return database_url_on(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    asyncio.run(_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _tables_of(model: type[Model]) -> set[str]:
    """The model's table and the through tables of its many-to-many fields."""
    meta = model._meta
    through = {
        field.through
        for field in meta.fields_map.values()
        if isinstance(field, ManyToManyFieldInstance)
    }
    return {meta.db_table, *through}


def model_tables() -> set[str]:
    """Every table of every model Tortoise knows, many-to-many through tables included."""
    apps = Tortoise.apps
    assert apps is not None, "Tortoise is not initialised: serve the app first"
    return {table for model in apps.get_models_iterable() for table in _tables_of(model)}


def kept_tables() -> set[str]:
    """Aerich's history and the reference tables, with the through tables joining only them."""
    unmanaged = {table for model in UNMANAGED_MODELS for table in _tables_of(model)}
    reference_own = {model._meta.db_table for model in REFERENCE_MODELS}
    joining_reference = {
        field.through
        for model in REFERENCE_MODELS
        for field in model._meta.fields_map.values()
        if isinstance(field, ManyToManyFieldInstance)
        and field.related_model._meta.db_table in reference_own
    }
    return unmanaged | reference_own | joining_reference


@cache
def emptied_tables() -> tuple[str, ...]:
    """The tables truncated before each test: every model table that is not kept."""
    return tuple(sorted(model_tables() - kept_tables()))


async def empty_tables() -> None:
    conn = connections.get("default")
    await conn.execute_script(f"TRUNCATE {', '.join(emptied_tables())} RESTART IDENTITY CASCADE")
    # Roles a test created go, with their grants (the foreign keys cascade).
    await conn.execute_script(f"DELETE FROM {Role._meta.db_table} WHERE NOT is_builtin")
