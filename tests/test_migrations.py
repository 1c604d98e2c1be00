"""Migrations on a database of their own: the schema, the built-in roles, the hot-query indexes
(built CONCURRENTLY) and their downgrade."""

import asyncio
import uuid

import asyncpg
import pytest

from service import db, rbac

INDEX_MIGRATION = 2


@pytest.fixture
def scratch_database(database_url):
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    name = f"praxis_mig_{uuid.uuid4().hex[:8]}"

    async def run(sql):
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield database_url.rsplit("/", 1)[0] + "/" + name
    asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))


def fetch(url, sql):
    async def run():
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def index_names(url):
    rows = fetch(url, "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'idx\\_%'")
    return {r["indexname"] for r in rows}


def test_a_fresh_database_gets_every_migration_then_none_are_pending(scratch_database):
    applied = asyncio.run(db.apply_migrations(scratch_database))
    assert [name.split("_", 1)[0] for name in applied] == ["0", "1", "2"]
    assert asyncio.run(db.pending_migrations(scratch_database)) == []
    assert asyncio.run(db.apply_migrations(scratch_database)) == []


def test_the_built_in_roles_carry_their_permissions(scratch_database):
    asyncio.run(db.apply_migrations(scratch_database))
    rows = fetch(
        scratch_database,
        "SELECT r.name, array_agg(p.name ORDER BY p.name) AS perms FROM roles r "
        "LEFT JOIN role_permissions rp ON rp.role_id = r.id "
        "LEFT JOIN permissions p ON p.id = rp.permission_id GROUP BY r.name",
    )
    granted = {r["name"]: [p for p in r["perms"] if p] for r in rows}
    for role, (_, permissions) in rbac.BUILTIN_ROLES.items():
        assert granted[role] == sorted(permissions)


def test_the_index_migration_builds_valid_indexes_and_its_downgrade_drops_them(scratch_database):
    asyncio.run(db.apply_migrations(scratch_database))
    built = index_names(scratch_database)
    assert {"idx_sessions_user_started", "idx_content_published", "idx_content_search"} <= built
    invalid = fetch(scratch_database, "SELECT 1 FROM pg_index WHERE NOT indisvalid")
    assert invalid == []

    undone = asyncio.run(db.roll_back_migration(scratch_database, INDEX_MIGRATION))
    assert [name.split("_", 1)[0] for name in undone] == ["2"]
    assert "idx_sessions_user_started" not in index_names(scratch_database)

    assert len(asyncio.run(db.apply_migrations(scratch_database))) == 1
    assert index_names(scratch_database) == built
