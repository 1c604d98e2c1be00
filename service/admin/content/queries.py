"""Every query of content administration: reads of any status, and the writes, each given the
transaction's connection so the write and its audit record commit together. The bulk-load
targets of content and its tags (``praxis seed``) are here too: they are writes of content."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.content.queries import Conditions, NewestPage, tag_names_sql
from service.infra.sql import (
    Connection,
    CopyTarget,
    Params,
    execute,
    fetch_all,
    fetch_one,
    fetch_row,
    fetch_value,
)
from service.kit.pagination import Keyset
from service.models import ContentStatus

ITEM_COLUMNS = (
    "c.id, c.slug, c.title, c.summary, c.kind, c.category, c.difficulty, c.duration_minutes, "
    "c.status, c.published_at, c.author_id, c.created_at, c.updated_at"
)
# The columns a write may set from a request body; anything else is refused before any SQL.
WRITABLE_COLUMNS = frozenset(
    {"slug", "title", "summary", "body", "kind", "category", "difficulty", "duration_minutes"}
)
CONTENT_COPY = CopyTarget(
    "content",
    (
        "id",
        "slug",
        "title",
        "summary",
        "body",
        "kind",
        "category",
        "difficulty",
        "duration_minutes",
        "status",
        "published_at",
        "created_at",
        "updated_at",
    ),
)
CONTENT_TAGS_COPY = CopyTarget("content_tags", ("content_id", "tag_id"))


@dataclass(frozen=True)
class AdminContentRow:
    """An item of any status: ``ITEM_COLUMNS`` and its tags."""

    id: uuid.UUID
    slug: str
    title: str
    summary: str
    kind: str
    category: str
    difficulty: str
    duration_minutes: int
    status: str
    published_at: datetime | None
    author_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    tags: list[str]


@dataclass(frozen=True)
class AdminContentDetailRow(AdminContentRow):
    body: str


@dataclass(frozen=True)
class SlugRow:
    slug: str


@dataclass(frozen=True)
class IdRow:
    id: uuid.UUID


@dataclass(frozen=True)
class TagIdRow:
    id: int


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(
    conn: Connection,
    status: ContentStatus | None,
    text: str | None,
    after: Keyset | None,
    limit: int,
) -> list[AdminContentRow]:
    """Up to ``limit`` items of any status, newest created first, each with ``tags``."""
    conditions = Conditions([], Params())
    if status is not None:
        conditions.where.append(f"c.status = {conditions.params.bind(status.value)}")
    if text is not None:
        pattern = conditions.params.bind(_like_pattern(text))
        conditions.where.append(f"(c.title ILIKE {pattern} OR c.slug ILIKE {pattern})")
    newest = NewestPage(ITEM_COLUMNS, "created_at", after, limit)
    return await newest.fetch(conn, AdminContentRow, conditions)


async def item(conn: Connection, content_id: uuid.UUID) -> AdminContentDetailRow | None:
    """One item of any status with ``body`` and ``tags``; in a transaction it sees its writes."""
    return await fetch_one(
        conn,
        AdminContentDetailRow,
        f"SELECT {ITEM_COLUMNS}, c.body, {tag_names_sql('c')} AS tags FROM content c "
        "WHERE c.id = $1",
        Params(content_id),
    )


async def lock(conn: Connection, content_id: uuid.UUID) -> bool:
    """Lock the item's row until the transaction ends (its audit "before" stays true); whether
    it exists."""
    row = await fetch_one(
        conn, IdRow, "SELECT id FROM content WHERE id = $1 FOR UPDATE", Params(content_id)
    )
    return row is not None


async def slugs_from(conn: Connection, base: str) -> set[str]:
    """``base`` and ``base-<n>`` slugs in use (``base`` is a slug: no regex metacharacters)."""
    rows = await fetch_all(
        conn,
        SlugRow,
        "SELECT slug FROM content WHERE slug ~ ('^' || $1 || '(-[0-9]+)?$')",
        Params(base),
    )
    return {row.slug for row in rows}


async def slug_exists(conn: Connection, slug: str) -> bool:
    exists = await fetch_value(
        conn, bool, "SELECT EXISTS (SELECT 1 FROM content WHERE slug = $1)", Params(slug)
    )
    return bool(exists)


def _writable(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` if every key is a writable column: column names enter the SQL text."""
    unknown = set(fields) - WRITABLE_COLUMNS
    if unknown:
        raise ValueError(f"not writable content columns: {sorted(unknown)}")
    return fields


async def insert(conn: Connection, author_id: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
    """A new draft with ``fields`` (``WRITABLE_COLUMNS``); its id."""
    params = Params(uuid.uuid4(), author_id)
    names = ", ".join(_writable(fields))
    values = ", ".join(params.bind(value) for value in fields.values())
    row = await fetch_row(
        conn,
        IdRow,
        f"""
        INSERT INTO content (id, author_id, {names}, status, created_at, updated_at)
        VALUES ($1, $2, {values}, 'draft', now(), now())
        RETURNING id
        """,
        params,
    )
    return row.id


async def update(
    conn: Connection, content_id: uuid.UUID, fields: dict[str, Any], now: datetime
) -> bool:
    """Set ``fields`` (``WRITABLE_COLUMNS``); whether the item exists (and so was updated)."""
    params = Params(content_id, now)
    assignments = [
        f"{column} = {params.bind(value)}" for column, value in _writable(fields).items()
    ]
    assignments.append("updated_at = $2")
    changed = await execute(
        conn, f"UPDATE content SET {', '.join(assignments)} WHERE id = $1", params
    )
    return changed > 0


async def replace_tags(conn: Connection, content_id: uuid.UUID, names: list[str]) -> None:
    """The item's tags become exactly ``names``, creating the tags that do not exist yet."""
    await execute(conn, "DELETE FROM content_tags WHERE content_id = $1", Params(content_id))
    if not names:
        return
    # Sorted, so concurrent writers insert shared new tags in one order and cannot deadlock.
    # Two statements: the second one's snapshot sees tags another transaction just created.
    await ensure_tags(conn, sorted(names))
    await execute(
        conn,
        "INSERT INTO content_tags (content_id, tag_id) "
        "SELECT $1, t.id FROM tags t WHERE t.name = ANY($2::text[])",
        Params(content_id, names),
    )


async def ensure_tags(conn: Connection, names: list[str]) -> None:
    """Create the tags of ``names`` that do not exist yet."""
    await execute(
        conn,
        "INSERT INTO tags (name, created_at) SELECT n, now() FROM unnest($1::text[]) AS n "
        "ON CONFLICT (name) DO NOTHING",
        Params(names),
    )


async def tag_ids(conn: Connection, names: list[str]) -> list[int]:
    rows = await fetch_all(
        conn, TagIdRow, "SELECT id FROM tags WHERE name = ANY($1::text[])", Params(names)
    )
    return [row.id for row in rows]


async def content_ids(conn: Connection) -> list[uuid.UUID]:
    """Every item's id: what bulk-seeded sessions are spread over."""
    return [row.id for row in await fetch_all(conn, IdRow, "SELECT id FROM content")]


async def publish(conn: Connection, content_id: uuid.UUID, now: datetime) -> bool:
    """Publish a draft; whether it changed (an already published item keeps its published_at)."""
    changed = await execute(
        conn,
        "UPDATE content SET status = 'published', published_at = $2, updated_at = $2 "
        "WHERE id = $1 AND status <> 'published'",
        Params(content_id, now),
    )
    return changed > 0


async def unpublish(conn: Connection, content_id: uuid.UUID, now: datetime) -> bool:
    """Back to draft; whether it changed."""
    changed = await execute(
        conn,
        "UPDATE content SET status = 'draft', published_at = NULL, updated_at = $2 "
        "WHERE id = $1 AND status = 'published'",
        Params(content_id, now),
    )
    return changed > 0


async def delete(conn: Connection, content_id: uuid.UUID) -> None:
    """Raises IntegrityError when practice sessions refer to the item (the FK is RESTRICT)."""
    await execute(conn, "DELETE FROM content WHERE id = $1", Params(content_id))
