"""Every query of content administration: reads of any status, and the writes, each given the
transaction's connection so the write and its audit record commit together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from service.content.queries import newest_page_with_tags, tag_names_sql
from service.infra.sql import SqlBuilder, fetch_all
from service.models import Content, ContentStatus

ITEM_COLUMNS = (
    "c.id, c.slug, c.title, c.summary, c.kind, c.category, c.difficulty, c.duration_minutes, "
    "c.status, c.published_at, c.author_id, c.created_at, c.updated_at"
)


@dataclass(frozen=True)
class CreatedPosition:
    """Where a page starts: after the item created at ``created_at`` with ``id``."""

    created_at: datetime
    id: uuid.UUID


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(
    status: ContentStatus | None, text: str | None, after: CreatedPosition | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` items of any status, newest created first, each with ``tags``."""
    sql = SqlBuilder()
    if status is not None:
        sql.where(f"c.status = {sql.param(status.value)}")
    if text is not None:
        pattern = sql.param(_like_pattern(text))
        sql.where(f"(c.title ILIKE {pattern} OR c.slug ILIKE {pattern})")
    position = (after.created_at, after.id) if after is not None else None
    return await newest_page_with_tags(sql, ITEM_COLUMNS, "created_at", position, limit)


async def item(conn: BaseDBAsyncClient | None, content_id: uuid.UUID) -> dict[str, Any] | None:
    """One item of any status with ``body`` and ``tags``; through ``conn`` to see its writes."""
    rows = await fetch_all(
        f"SELECT {ITEM_COLUMNS}, c.body, {tag_names_sql('c')} AS tags FROM content c "
        "WHERE c.id = $1",
        [content_id],
        conn,
    )
    return rows[0] if rows else None


async def slugs_from(base: str) -> set[str]:
    """``base`` and ``base-<n>`` slugs in use (``base`` is a slug: no regex metacharacters)."""
    rows = await fetch_all(
        "SELECT slug FROM content WHERE slug ~ ('^' || $1 || '(-[0-9]+)?$')", [base]
    )
    return {row["slug"] for row in rows}


async def slug_exists(slug: str) -> bool:
    return await Content.filter(slug=slug).exists()


async def insert(conn: BaseDBAsyncClient, author_id: uuid.UUID, **fields: Any) -> uuid.UUID:
    created = await Content.create(author_id=author_id, using_db=conn, **fields)
    return created.id


async def update(conn: BaseDBAsyncClient, content_id: uuid.UUID, **fields: Any) -> bool:
    """Whether the item exists (and so was updated)."""
    updated = await Content.filter(id=content_id).using_db(conn).update(**fields)
    return updated > 0


async def replace_tags(conn: BaseDBAsyncClient, content_id: uuid.UUID, names: list[str]) -> None:
    """The item's tags become exactly ``names``, creating the tags that do not exist yet."""
    await conn.execute_query("DELETE FROM content_tags WHERE content_id = $1", [content_id])
    if not names:
        return
    # Sorted, so concurrent writers insert shared new tags in one order and cannot deadlock.
    # Two statements: the second one's snapshot sees tags another transaction just created.
    await conn.execute_query(
        "INSERT INTO tags (name, created_at) SELECT n, now() FROM unnest($1::text[]) AS n "
        "ON CONFLICT (name) DO NOTHING",
        [sorted(names)],
    )
    await conn.execute_query(
        "INSERT INTO content_tags (content_id, tag_id) "
        "SELECT $1, t.id FROM tags t WHERE t.name = ANY($2::text[])",
        [content_id, names],
    )


async def publish(conn: BaseDBAsyncClient, content_id: uuid.UUID, now: datetime) -> bool:
    """Publish a draft; whether it changed (an already published item keeps its published_at)."""
    changed = (
        await Content.filter(id=content_id)
        .exclude(status=ContentStatus.PUBLISHED)
        .using_db(conn)
        .update(status=ContentStatus.PUBLISHED, published_at=now, updated_at=now)
    )
    return changed > 0


async def unpublish(conn: BaseDBAsyncClient, content_id: uuid.UUID, now: datetime) -> bool:
    """Back to draft; whether it changed."""
    changed = (
        await Content.filter(id=content_id, status=ContentStatus.PUBLISHED)
        .using_db(conn)
        .update(status=ContentStatus.DRAFT, published_at=None, updated_at=now)
    )
    return changed > 0


async def delete(conn: BaseDBAsyncClient, content_id: uuid.UUID) -> None:
    """Raises IntegrityError when practice sessions refer to the item (the FK is RESTRICT)."""
    await Content.filter(id=content_id).using_db(conn).delete()
