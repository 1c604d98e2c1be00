"""Every query of the public content domain. Each read is ONE statement: an item's tag names come
from an ``ARRAY(...)`` subquery evaluated only for the rows of the page, never a query per item.

List filters are appended as fixed SQL fragments with numbered parameters; only the fragments
that apply are included, so PostgreSQL plans each shape of query for the filters it really has.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.infra.sql import SqlBuilder, fetch_all


def tag_names_sql(alias: str) -> str:
    """The sorted tag names of the content row aliased ``alias``, as a text[] expression."""
    return (
        "ARRAY(SELECT t.name FROM content_tags ct JOIN tags t ON t.id = ct.tag_id "
        f"WHERE ct.content_id = {alias}.id ORDER BY t.name)"
    )


LIST_COLUMNS = (
    "c.id, c.slug, c.title, c.summary, c.kind, c.category, c.difficulty, "
    "c.duration_minutes, c.published_at"
)
# Full-text search over title and summary. An expression index must repeat it exactly to be used.
DOCUMENT_SQL = "to_tsvector('english', c.title || ' ' || c.summary)"


@dataclass(frozen=True)
class ContentFilters:
    category: str | None = None
    tag: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ListPosition:
    """Where a page starts: after the item with this sort key (rank only when searching)."""

    published_at: datetime
    id: uuid.UUID
    rank: float | None = None


def _published_with_filters(filters: ContentFilters) -> SqlBuilder:
    sql = SqlBuilder()
    # Published items always have published_at; the second test keeps a stray row from sorting
    # first (NULLs lead a DESC order) and from escaping the keyset comparison.
    sql.where("c.status = 'published' AND c.published_at IS NOT NULL")
    if filters.category is not None:
        sql.where(f"c.category = {sql.param(filters.category)}")
    if filters.kind is not None:
        sql.where(f"c.kind = {sql.param(filters.kind)}")
    if filters.tag is not None:
        sql.where(
            "EXISTS (SELECT 1 FROM content_tags ft JOIN tags t ON t.id = ft.tag_id "
            f"WHERE ft.content_id = c.id AND t.name = {sql.param(filters.tag)})"
        )
    return sql


async def published_page(
    filters: ContentFilters, after: ListPosition | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` published items, newest first, each with ``tags``."""
    position = (after.published_at, after.id) if after is not None else None
    return await newest_page_with_tags(
        _published_with_filters(filters), LIST_COLUMNS, "published_at", position, limit
    )


async def newest_page_with_tags(
    sql: SqlBuilder,
    columns: str,
    time_column: str,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A keyset page of content matching ``sql``'s conditions, newest ``time_column`` first
    (after the item at ``after``), each with ``tags``. Tags are looked up for the page only."""
    if after is not None:
        moment, item_id = sql.param(after[0]), sql.param(after[1])
        sql.where(f"(c.{time_column}, c.id) < ({moment}::timestamptz, {item_id}::uuid)")
    query = f"""
        WITH page AS (
            SELECT {columns} FROM content c
            WHERE {sql.where_sql()}
            ORDER BY c.{time_column} DESC, c.id DESC
            LIMIT {sql.param(limit)}
        )
        SELECT page.*, {tag_names_sql("page")} AS tags FROM page
        ORDER BY page.{time_column} DESC, page.id DESC
    """
    return await fetch_all(query, sql.params)


async def search_page(
    filters: ContentFilters, text: str, after: ListPosition | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` published items matching ``text``, best match first (then newest), each
    with ``tags`` and its ``rank``. The rank is a ``real`` computed the same way on every call,
    so a cursor carrying it resumes exactly after the item it was taken from."""
    sql = _published_with_filters(filters)
    search = sql.param(text)
    sql.where(f"{DOCUMENT_SQL} @@ websearch_to_tsquery('english', {search})")
    position = ""
    if after is not None:
        rank, published_at = sql.param(after.rank), sql.param(after.published_at)
        item_id = sql.param(after.id)
        position = (
            f"WHERE (ranked.rank, ranked.published_at, ranked.id) "
            f"< ({rank}::real, {published_at}::timestamptz, {item_id}::uuid)"
        )
    query = f"""
        WITH ranked AS (
            SELECT {LIST_COLUMNS},
                   ts_rank({DOCUMENT_SQL}, websearch_to_tsquery('english', {search})) AS rank
            FROM content c
            WHERE {sql.where_sql()}
        ), page AS (
            SELECT * FROM ranked {position}
            ORDER BY ranked.rank DESC, ranked.published_at DESC, ranked.id DESC
            LIMIT {sql.param(limit)}
        )
        SELECT page.*, {tag_names_sql("page")} AS tags FROM page
        ORDER BY page.rank DESC, page.published_at DESC, page.id DESC
    """
    return await fetch_all(query, sql.params)


async def published_by_slug(slug: str) -> dict[str, Any] | None:
    rows = await fetch_all(
        f"""
        SELECT {LIST_COLUMNS}, c.body, {tag_names_sql("c")} AS tags
        FROM content c
        WHERE c.slug = $1 AND c.status = 'published'
        """,
        [slug],
    )
    return rows[0] if rows else None


async def published_tag_counts() -> list[dict[str, Any]]:
    """Tags with at least one published item and how many, by name."""
    return await fetch_all(
        """
        SELECT t.name, count(*) AS content_count
        FROM tags t
        JOIN content_tags ct ON ct.tag_id = t.id
        JOIN content c ON c.id = ct.content_id AND c.status = 'published'
        GROUP BY t.name
        ORDER BY t.name
        """
    )
