"""Tests do not leak state into each other: the clean-up before each test covers every table of
the schema (derived from the models, not listed by hand), the run's Redis namespace and the
worker's in-process read caches."""

from __future__ import annotations

from tortoise import connections

from service.config import Settings
from service.kit import rbac
from service.models import Role
from tests.support.api import CONTENT
from tests.support.database import emptied_tables, kept_tables, model_tables
from tests.support.factories import Factories
from tests.support.isolation import harness_redis, reset_app_state
from tests.support.servers import Api, Server

REFERENCE_TABLES = {"roles", "permissions", "role_permissions"}
AERICH_TABLE = "aerich"


async def _schema_tables() -> set[str]:
    rows = await connections.get("default").execute_query_dict(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    return {row["table_name"] for row in rows}


async def _row_counts(tables: tuple[str, ...]) -> dict[str, int]:
    conn = connections.get("default")
    counts = {}
    for table in tables:
        rows = await conn.execute_query_dict(f"SELECT count(*) AS n FROM {table}")
        counts[table] = rows[0]["n"]
    return counts


async def _leave_a_key(settings: Settings) -> None:
    async with harness_redis(settings.redis_url) as redis:
        await redis.set(f"{settings.redis_key_prefix}left-over", "1")


async def _namespace_keys(settings: Settings) -> list[bytes]:
    async with harness_redis(settings.redis_url) as redis:
        return [key async for key in redis.scan_iter(match=f"{settings.redis_key_prefix}*")]


def test_every_table_in_the_schema_is_the_table_of_a_model(server: Server) -> None:
    assert server.run(_schema_tables()) == model_tables()


def test_only_aerich_history_and_the_seeded_reference_tables_are_kept(server: Server) -> None:
    assert kept_tables() == REFERENCE_TABLES | {AERICH_TABLE}
    assert set(emptied_tables()) == model_tables() - kept_tables()


def test_a_reset_empties_every_data_table_the_redis_namespace_and_the_read_caches(
    server: Server, api: Api, make: Factories, settings: Settings
) -> None:
    user = make.user_with_permissions("reviewer", "content:read")
    make.practice_session(user, make.content(tags=["sql"]))
    assert api.get(CONTENT).status_code == 200  # fills both cache tiers
    server.run(_leave_a_key(settings))
    assert server.app.ctx.read_caches

    reset_app_state(server, settings)

    assert set(server.run(_row_counts(emptied_tables())).values()) == {0}
    assert server.run(_namespace_keys(settings)) == []
    assert server.app.ctx.read_caches == {}
    assert {role.name for role in server.run(Role.all())} == set(rbac.BUILTIN_ROLES)
