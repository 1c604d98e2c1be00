"""Public content reads: each answers JSON bytes through the content cache, which every admin
content write invalidates after it commits."""

from __future__ import annotations

import hashlib
from typing import Any

from service.app_context import PraxisApp, PraxisRequest
from service.content import queries
from service.content.queries import ContentFilters, ContentListRow, RankedContentRow
from service.content.schemas import (
    ContentDetailOut,
    ContentItemOut,
    ContentListQuery,
    ContentPage,
    TagCountOut,
    TagsOut,
    is_slug,
)
from service.infra import db
from service.kit.cache import CachedBody, ReadCache, RequestCache, read_cache, request_cache
from service.kit.errors import ApiError, ErrorCode
from service.kit.pagination import Keyset, paginate

CACHE_NAMESPACE = "content"


def content_cache(app: PraxisApp) -> ReadCache:
    """For writes, which invalidate it."""
    return read_cache(app, CACHE_NAMESPACE)


def content_reads(request: PraxisRequest) -> RequestCache:
    return request_cache(request, CACHE_NAMESPACE)


async def list_content(cache: RequestCache, query: ContentListQuery) -> CachedBody:
    # A bad cursor is a 422 before the cache is asked; search pages are ordered by rank first.
    after = Keyset.from_cursor(query.cursor, ranked=query.q is not None)
    digest = hashlib.blake2b(query.cache_key().encode(), digest_size=16).hexdigest()
    return await cache.get_or_load("list:" + digest, lambda: _page_json(query, after))


async def content_detail(cache: RequestCache, slug: str) -> CachedBody:
    if not is_slug(slug):
        raise _not_found()  # no item can have it: neither the cache nor the database is asked
    return await cache.get_or_load("detail:" + slug, lambda: _detail_json(slug))


async def tag_counts(cache: RequestCache) -> CachedBody:
    return await cache.get_or_load("tags", _tags_json)


async def _page_json(query: ContentListQuery, after: Keyset | None) -> bytes:
    filters = ContentFilters(
        category=query.category,
        tag=query.tag,
        kind=query.kind.value if query.kind is not None else None,
    )
    rows: list[ContentListRow] | list[RankedContentRow]
    if query.q is not None:
        rows = await queries.search_page(db.connection(), filters, query.q, after, query.limit + 1)
    else:
        rows = await queries.published_page(db.connection(), filters, after, query.limit + 1)
    items, next_cursor = paginate(rows, query.limit, _sort_key)
    page = ContentPage(
        items=[ContentItemOut.model_validate(row, from_attributes=True) for row in items],
        next_cursor=next_cursor,
    )
    return page.model_dump_json().encode()


async def _detail_json(slug: str) -> bytes:
    row = await queries.published_by_slug(db.connection(), slug)
    if row is None:
        raise _not_found()
    return ContentDetailOut.model_validate(row, from_attributes=True).model_dump_json().encode()


async def _tags_json() -> bytes:
    rows = await queries.published_tag_counts(db.connection())
    items = [TagCountOut.model_validate(row, from_attributes=True) for row in rows]
    return TagsOut(items=items).model_dump_json().encode()


def _sort_key(row: ContentListRow) -> list[Any]:
    rank = row.rank if isinstance(row, RankedContentRow) else None
    return Keyset(row.published_at, row.id, rank).sort_key()


def _not_found() -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, "No published content has this slug.")
