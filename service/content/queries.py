"""Every query of the public content domain. Each read is ONE statement: an item's tag names come
from an ``ARRAY(...)`` subquery evaluated only for the rows of the page, never a query per item.

List filters are appended as fixed SQL fragments with numbered parameters; only the fragments
that apply are included, so PostgreSQL plans each shape of query for the filters it really has.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from service.infra.sql import Connection, Params, all_of, fetch_all, fetch_one
from service.kit.pagination import Keyset

RowT = TypeVar("RowT")


def tag_names_sql(alias: str) -> str:
    """The sorted tag names of the content row aliased ``alias``, as a text[] expression (empty,
    never NULL, for an item without tags). Every statement answering an item's tags uses it."""
    return (
        "ARRAY(SELECT t.name FROM content_tags ct JOIN tags t ON t.id = ct.tag_id "
        f"WHERE ct.content_id = {alias}.id ORDER BY t.name)"
    )


LIST_COLUMNS = (
    "c.id, c.slug, c.title, c.summary, c.kind, c.category, c.difficulty, "
    "c.duration_minutes, c.published_at"
)


class SearchDocument(StrEnum):
    """The ``tsvector`` a search matches and ranks: title and summary, in English."""

    # Stored in a generated column with a GIN index (migration 4): read, never computed.
    COLUMN = "c.search_document"
    # What the column holds, computed for every row read: the query as it was before the column
    # (the index benchmark's baseline, on a table without the column).
    EXPRESSION = "to_tsvector('english', c.title || ' ' || c.summary)"


@dataclass(frozen=True)
class ContentListRow:
    """An item of a public list: ``LIST_COLUMNS`` and its tags."""

    id: uuid.UUID
    slug: str
    title: str
    summary: str
    kind: str
    category: str
    difficulty: str
    duration_minutes: int
    published_at: datetime
    tags: list[str]


@dataclass(frozen=True)
class RankedContentRow(ContentListRow):
    """An item of a search page, with the rank it is ordered by."""

    rank: float


@dataclass(frozen=True)
class ContentDetailRow(ContentListRow):
    body: str


@dataclass(frozen=True)
class TagCountRow:
    name: str
    content_count: int


@dataclass(frozen=True)
class ContentFilters:
    category: str | None = None
    tag: str | None = None
    kind: str | None = None


@dataclass
class Conditions:
    """A WHERE clause being assembled: its conditions and the values they bind."""

    where: list[str]
    params: Params


def _published_with_filters(filters: ContentFilters) -> Conditions:
    params = Params()
    # Published items always have published_at; the second test keeps a stray row from sorting
    # first (NULLs lead a DESC order) and from escaping the keyset comparison.
    where = ["c.status = 'published' AND c.published_at IS NOT NULL"]
    if filters.category is not None:
        where.append(f"c.category = {params.bind(filters.category)}")
    if filters.kind is not None:
        where.append(f"c.kind = {params.bind(filters.kind)}")
    if filters.tag is not None:
        where.append(
            "EXISTS (SELECT 1 FROM content_tags ft JOIN tags t ON t.id = ft.tag_id "
            f"WHERE ft.content_id = c.id AND t.name = {params.bind(filters.tag)})"
        )
    return Conditions(where, params)


async def published_page(
    conn: Connection, filters: ContentFilters, after: Keyset | None, limit: int
) -> list[ContentListRow]:
    """Up to ``limit`` published items, newest first, each with ``tags``."""
    page = NewestPage(LIST_COLUMNS, "published_at", after, limit)
    return await page.fetch(conn, ContentListRow, _published_with_filters(filters))


@dataclass(frozen=True)
class NewestPage:
    """A keyset page of content, newest ``time_column`` first, after the item at ``after``;
    public and admin lists differ only in their columns, time column and conditions."""

    columns: str
    time_column: str
    after: Keyset | None
    limit: int

    async def fetch(
        self, conn: Connection, row: Callable[..., RowT], conditions: Conditions
    ) -> list[RowT]:
        """The page's items built by ``row``, each with ``tags`` (looked up for the page only)."""
        params, where = conditions.params, list(conditions.where)
        if self.after is not None:
            moment, item_id = params.bind(self.after.moment), params.bind(self.after.id)
            where.append(f"(c.{self.time_column}, c.id) < ({moment}::timestamptz, {item_id}::uuid)")
        query = f"""
            WITH page AS (
                SELECT {self.columns} FROM content c
                WHERE {all_of(where)}
                ORDER BY c.{self.time_column} DESC, c.id DESC
                LIMIT {params.bind(self.limit)}
            )
            SELECT page.*, {tag_names_sql("page")} AS tags FROM page
            ORDER BY page.{self.time_column} DESC, page.id DESC
        """
        return await fetch_all(conn, row, query, params)


def _after_rank(params: Params, after: Keyset | None) -> str:
    """The keyset condition of a search page resuming after ``after``."""
    if after is None:
        return ""
    rank, published_at = params.bind(after.rank), params.bind(after.moment)
    return (
        f"WHERE (ranked.rank, ranked.published_at, ranked.id) "
        f"< ({rank}::real, {published_at}::timestamptz, {params.bind(after.id)}::uuid)"
    )


async def search_page(
    conn: Connection,
    filters: ContentFilters,
    text: str,
    after: Keyset | None,
    limit: int,
    document: SearchDocument = SearchDocument.COLUMN,
) -> list[RankedContentRow]:
    """Up to ``limit`` published items matching ``text``, best match first (then newest), each
    with ``tags`` and its ``rank``. The rank is a ``real`` computed the same way on every call,
    so a cursor carrying it resumes exactly after the item it was taken from."""
    conditions = _published_with_filters(filters)
    params = conditions.params
    search = params.bind(text)
    conditions.where.append(f"{document} @@ websearch_to_tsquery('english', {search})")
    query = f"""
        WITH ranked AS (
            SELECT {LIST_COLUMNS},
                   ts_rank({document}, websearch_to_tsquery('english', {search})) AS rank
            FROM content c
            WHERE {all_of(conditions.where)}
        ), page AS (
            SELECT * FROM ranked {_after_rank(params, after)}
            ORDER BY ranked.rank DESC, ranked.published_at DESC, ranked.id DESC
            LIMIT {params.bind(limit)}
        )
        SELECT page.*, {tag_names_sql("page")} AS tags FROM page
        ORDER BY page.rank DESC, page.published_at DESC, page.id DESC
    """
    return await fetch_all(conn, RankedContentRow, query, params)


async def published_by_slug(conn: Connection, slug: str) -> ContentDetailRow | None:
    return await fetch_one(
        conn,
        ContentDetailRow,
        f"""
        SELECT {LIST_COLUMNS}, c.body, {tag_names_sql("c")} AS tags
        FROM content c
        WHERE c.slug = $1 AND c.status = 'published'
        """,
        Params(slug),
    )


async def published_tag_counts(conn: Connection) -> list[TagCountRow]:
    """Tags with at least one published item and how many, by name."""
    return await fetch_all(
        conn,
        TagCountRow,
        """
        SELECT t.name, count(*) AS content_count
        FROM tags t
        JOIN content_tags ct ON ct.tag_id = t.id
        JOIN content c ON c.id = ct.content_id AND c.status = 'published'
        GROUP BY t.name
        ORDER BY t.name
        """,
    )
