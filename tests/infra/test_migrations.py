"""Migrations on a database of their own: the schema, the built-in roles, the hot-query indexes
(built CONCURRENTLY), the stored document of full-text search, and their downgrades."""

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from service.kit import rbac
from tests.support.database import create_database, drop_database

INDEX_MIGRATION = 2
DOCUMENT_MIGRATION = 4


@pytest.fixture
def scratch_database(database_url: str) -> Iterator[str]:
    """A database of the test's own, empty: the migrations are applied to it by the test."""
    name = f"praxis_mig_{uuid.uuid4().hex[:8]}"
    yield create_database(database_url, name)
    drop_database(database_url, name)


def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql)
            return rows
        finally:
            await conn.close()

    return asyncio.run(run())


def index_names(url: str) -> set[str]:
    rows = fetch(url, "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'idx\\_%'")
    return {r["indexname"] for r in rows}


def migrations(action: str, url: str, *args: int) -> Any:
    """Run a migration function of service.infra.db in a process of its own: Aerich initialises and
    closes Tortoise's process-global connections, which the served test app is using."""
    code = (
        "import asyncio, json, sys; from service.infra import db; "
        f"print(json.dumps(asyncio.run(db.{action}(*sys.argv[1:2], *map(int, sys.argv[2:])))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, url, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def versions(names: list[str]) -> list[str]:
    return [name.split("_", 1)[0] for name in names]


def test_a_fresh_database_gets_every_migration_then_none_are_pending(scratch_database: str) -> None:
    assert versions(migrations("apply_migrations", scratch_database)) == ["0", "1", "2", "3", "4"]
    assert migrations("pending_migrations", scratch_database) == []
    assert migrations("apply_migrations", scratch_database) == []


def test_the_built_in_roles_carry_their_permissions(scratch_database: str) -> None:
    migrations("apply_migrations", scratch_database)
    rows = fetch(
        scratch_database,
        "SELECT r.name, array_agg(p.name ORDER BY p.name) AS perms FROM roles r "
        "LEFT JOIN role_permissions rp ON rp.role_id = r.id "
        "LEFT JOIN permissions p ON p.id = rp.permission_id GROUP BY r.name",
    )
    granted = {r["name"]: [p for p in r["perms"] if p] for r in rows}
    for role, (_, permissions) in rbac.BUILTIN_ROLES.items():
        assert granted[role] == sorted(permissions)


def test_the_index_migration_builds_valid_indexes_and_its_downgrade_drops_them(
    scratch_database: str,
) -> None:
    migrations("apply_migrations", scratch_database)
    built = index_names(scratch_database)
    assert {
        "idx_sessions_user_started",
        "idx_content_published",
        "idx_content_search_document",
    } <= built
    invalid = fetch(scratch_database, "SELECT 1 FROM pg_index WHERE NOT indisvalid")
    assert invalid == []

    undone = migrations("roll_back_migration", scratch_database, INDEX_MIGRATION)
    assert versions(undone) == ["4", "3", "2"]  # and the later ones
    assert index_names(scratch_database) == {"idx_refresh_tok_family__59d0e5"}  # the schema's

    assert versions(migrations("apply_migrations", scratch_database)) == ["2", "3", "4"]
    assert index_names(scratch_database) == built


def document_column(url: str) -> list[tuple[str, str]]:
    """How content's ``search_document`` is defined: (generated kind, type), if it exists."""
    rows = fetch(
        url,
        "SELECT attgenerated::text, format_type(atttypid, atttypmod) AS type FROM pg_attribute "
        "WHERE attrelid = 'content'::regclass AND attname = 'search_document' "
        "AND NOT attisdropped",
    )
    return [(r["attgenerated"], r["type"]) for r in rows]


def insert_content(url: str, title: str, summary: str) -> None:
    fetch(
        url,
        "INSERT INTO content (id, slug, title, summary, body, kind, category, difficulty, "
        "duration_minutes, status, created_at, updated_at) VALUES (gen_random_uuid(), "
        f"'item-{uuid.uuid4().hex[:8]}', '{title}', '{summary}', '', 'lesson', 'databases', "
        "'beginner', 10, 'published', now(), now())",
    )


def test_the_document_migration_stores_a_generated_tsvector_in_place_of_the_expression_index(
    scratch_database: str,
) -> None:
    migrations("apply_migrations", scratch_database)
    assert document_column(scratch_database) == [("s", "tsvector")]  # s: stored generated
    names = index_names(scratch_database)
    assert "idx_content_search_document" in names
    assert "idx_content_search" not in names  # migration 2's index on the expression

    undone = migrations("roll_back_migration", scratch_database, DOCUMENT_MIGRATION)

    assert versions(undone) == ["4"]
    assert document_column(scratch_database) == []
    names = index_names(scratch_database)
    assert "idx_content_search" in names
    assert "idx_content_search_document" not in names


def test_rows_older_than_the_document_column_get_their_document_when_it_is_added(
    scratch_database: str,
) -> None:
    migrations("apply_migrations", scratch_database)
    migrations("roll_back_migration", scratch_database, DOCUMENT_MIGRATION)
    insert_content(scratch_database, "Window functions", "Rank rows")

    assert versions(migrations("apply_migrations", scratch_database)) == ["4"]

    rows = fetch(scratch_database, "SELECT search_document::text AS document FROM content")
    assert [r["document"] for r in rows] == ["'function':2 'rank':3 'row':4 'window':1"]
    invalid = fetch(scratch_database, "SELECT 1 FROM pg_index WHERE NOT indisvalid")
    assert invalid == []
