"""Public content reads: each answers JSON bytes through the content cache, which every admin
content write invalidates (``invalidate_content_cache``)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

from service.app_context import PraxisApp
from service.content import queries
from service.content.queries import ContentFilters, ListPosition
from service.content.schemas import (
    ContentDetailOut,
    ContentItemOut,
    ContentListQuery,
    ContentPage,
    TagCountOut,
    TagsOut,
    is_slug,
)
from service.kit.cache import CachedBody, ReadCache, read_cache
from service.kit.errors import ApiError, ErrorCode
from service.kit.pagination import bad_cursor, cursor_id, cursor_time, decode_cursor, paginate

CACHE_NAMESPACE = "content"
# ts_rank is a small non-negative real; a cursor claiming anything else was not issued here.
MAX_RANK = 1e6


def content_cache(app: PraxisApp) -> ReadCache:
    return read_cache(app, CACHE_NAMESPACE)


async def invalidate_content_cache(app: PraxisApp) -> None:
    """Call after a content write commits: the next read of any list, item or tag count is fresh."""
    await content_cache(app).invalidate()


async def list_content(cache: ReadCache, query: ContentListQuery) -> CachedBody:
    after = position_from_cursor(query)  # a bad cursor is a 422 before the cache is asked
    digest = hashlib.blake2b(query.cache_key().encode(), digest_size=16).hexdigest()
    return await cache.get_or_load("list:" + digest, lambda: _page_json(query, after))


async def content_detail(cache: ReadCache, slug: str) -> CachedBody:
    if not is_slug(slug):
        raise _not_found()  # no item can have it: neither the cache nor the database is asked
    return await cache.get_or_load("detail:" + slug, lambda: _detail_json(slug))


async def tag_counts(cache: ReadCache) -> CachedBody:
    return await cache.get_or_load("tags", _tags_json)


async def _page_json(query: ContentListQuery, after: ListPosition | None) -> bytes:
    filters = ContentFilters(
        category=query.category,
        tag=query.tag,
        kind=query.kind.value if query.kind is not None else None,
    )
    if query.q is not None:
        rows = await queries.search_page(filters, query.q, after, query.limit + 1)
    else:
        rows = await queries.published_page(filters, after, query.limit + 1)
    items, next_cursor = paginate(rows, query.limit, _sort_key if query.q is None else _rank_key)
    page = ContentPage(
        items=[ContentItemOut.model_validate(row) for row in items], next_cursor=next_cursor
    )
    return page.model_dump_json().encode()


async def _detail_json(slug: str) -> bytes:
    row = await queries.published_by_slug(slug)
    if row is None:
        raise _not_found()
    return ContentDetailOut.model_validate(row).model_dump_json().encode()


async def _tags_json() -> bytes:
    rows = await queries.published_tag_counts()
    return (
        TagsOut(items=[TagCountOut.model_validate(row) for row in rows]).model_dump_json().encode()
    )


def _sort_key(row: dict[str, Any]) -> Sequence[Any]:
    return [row["published_at"].isoformat(), str(row["id"])]


def _rank_key(row: dict[str, Any]) -> Sequence[Any]:
    return [row["rank"], *_sort_key(row)]


def position_from_cursor(query: ContentListQuery) -> ListPosition | None:
    """The sort key the cursor carries: (published_at, id), or (rank, published_at, id) when
    searching, since search pages are ordered by rank first."""
    if query.cursor is None:
        return None
    searching = query.q is not None
    key = decode_cursor(query.cursor, 3 if searching else 2)
    rank = _cursor_rank(key.pop(0)) if searching else None
    published_at, item_id = key
    return ListPosition(published_at=cursor_time(published_at), id=cursor_id(item_id), rank=rank)


def _cursor_rank(value: Any) -> float:
    if not _is_rank(value):
        raise bad_cursor()
    return float(value)


def _is_rank(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= MAX_RANK
    )


def _not_found() -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, "No published content has this slug.")
