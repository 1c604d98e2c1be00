"""Content administration: each write, its audit record and its effects commit in one
transaction; the public content cache is invalidated after the commit."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.admin.audit.queries import AuditEntry, record_audit
from service.admin.audit.service import field_changes
from service.admin.content import queries
from service.admin.content.queries import AdminContentDetailRow, AdminContentRow
from service.admin.content.schemas import (
    AdminContentItemOut,
    AdminContentOut,
    AdminContentPage,
    AdminContentQuery,
    ContentCreate,
    ContentUpdate,
)
from service.content.schemas import SLUG_MAX_LENGTH
from service.infra import db
from service.infra.sql import Connection
from service.kit.cache import ReadCache
from service.kit.errors import ApiError, ErrorCode
from service.kit.pagination import Keyset, paginate

TARGET_TYPE = "content"
# Room for a "-<n>" suffix when a derived slug is taken.
DERIVED_SLUG_MAX_LENGTH = SLUG_MAX_LENGTH - 8
# A derived slug may be taken between choosing it and inserting (a concurrent create): retry.
SLUG_ATTEMPTS = 5
# What an audit record shows the before and after of (the timestamps are the record's own).
AUDITED_FIELDS = frozenset(
    {
        "slug",
        "title",
        "summary",
        "body",
        "kind",
        "category",
        "difficulty",
        "duration_minutes",
        "tags",
        "status",
        "published_at",
    }
)


@dataclass(frozen=True)
class WriteContext:
    """Who writes, in which request, and the cache their writes invalidate."""

    actor_id: uuid.UUID
    request_id: str | None
    cache: ReadCache

    async def audit(
        self,
        conn: Connection,
        action: str,
        before: AdminContentOut | None,
        after: AdminContentOut | None,
    ) -> bool:
        """Record what changed from ``before`` to ``after`` (None: the item did not exist);
        whether anything did (nothing changed leaves no record)."""
        changes = field_changes(_audited(before), _audited(after) or dict.fromkeys(AUDITED_FIELDS))
        if not changes:
            return False
        item = after or before
        if item is None:
            raise ValueError("an audit record names an item that existed before or after")
        entry = AuditEntry(
            self.actor_id, action, TARGET_TYPE, str(item.id), changes, self.request_id
        )
        await record_audit(conn, entry)
        return True


def _audited(item: AdminContentOut | None) -> dict[str, Any]:
    return item.model_dump(mode="json", include=set(AUDITED_FIELDS)) if item is not None else {}


async def list_content(query: AdminContentQuery) -> AdminContentPage:
    after = Keyset.from_cursor(query.cursor)
    rows = await queries.page(db.connection(), query.status, query.q, after, query.limit + 1)
    items, next_cursor = paginate(rows, query.limit, _sort_key)
    return AdminContentPage(
        items=[AdminContentItemOut.model_validate(row, from_attributes=True) for row in items],
        next_cursor=next_cursor,
    )


def _sort_key(row: AdminContentRow) -> list[Any]:
    return Keyset(row.created_at, row.id).sort_key()


async def get_content(content_id: uuid.UUID) -> AdminContentOut:
    return _item_out(await queries.item(db.connection(), content_id))


async def create_content(data: ContentCreate, ctx: WriteContext) -> AdminContentOut:
    fields = data.model_dump(mode="json", exclude={"tags", "slug"})
    for _ in range(SLUG_ATTEMPTS):
        slug = data.slug or await _free_slug(derive_slug(data.title))
        try:
            async with in_transaction() as conn:
                content_id = await queries.insert(conn, ctx.actor_id, {"slug": slug, **fields})
                await queries.replace_tags(conn, content_id, data.tags)
                created = _item_out(await queries.item(conn, content_id))
                await ctx.audit(conn, "content.create", None, created)
        except IntegrityError:
            if not await queries.slug_exists(db.connection(), slug):
                raise
            if data.slug is not None:
                raise _slug_taken(slug) from None
            continue
        await ctx.cache.invalidate()
        return created
    raise ApiError(ErrorCode.SLUG_TAKEN, "No free slug could be derived; send a slug explicitly.")


async def update_content(
    content_id: uuid.UUID, data: ContentUpdate, ctx: WriteContext
) -> AdminContentOut:
    """Partial update; an empty body changes nothing and leaves no audit record."""
    changes = data.model_dump(mode="json", exclude_unset=True)
    if not changes:
        return await get_content(content_id)
    tags = changes.pop("tags", None)
    try:
        async with in_transaction() as conn:
            if not await queries.lock(conn, content_id):
                raise _not_found()
            before = _item_out(await queries.item(conn, content_id))
            await queries.update(conn, content_id, changes, _now())
            if tags is not None:
                await queries.replace_tags(conn, content_id, tags)
            updated = _item_out(await queries.item(conn, content_id))
            await ctx.audit(conn, "content.update", before, updated)
    except IntegrityError:
        if "slug" in changes and await queries.slug_exists(db.connection(), changes["slug"]):
            raise _slug_taken(changes["slug"]) from None
        raise
    await ctx.cache.invalidate()
    return updated


async def publish(content_id: uuid.UUID, ctx: WriteContext) -> AdminContentOut:
    """Publish a draft now; publishing a published item changes nothing (keeps published_at)."""
    return await _change_status(content_id, ctx, queries.publish, "content.publish")


async def unpublish(content_id: uuid.UUID, ctx: WriteContext) -> AdminContentOut:
    """Back to draft (published_at cleared); unpublishing a draft changes nothing."""
    return await _change_status(content_id, ctx, queries.unpublish, "content.unpublish")


StatusChange = Callable[[Connection, uuid.UUID, datetime], Awaitable[bool]]


async def _change_status(
    content_id: uuid.UUID, ctx: WriteContext, change: StatusChange, action: str
) -> AdminContentOut:
    """Apply ``change``; only a change that happened is audited and invalidates the cache."""
    async with in_transaction() as conn:
        if not await queries.lock(conn, content_id):
            raise _not_found()
        before = _item_out(await queries.item(conn, content_id))
        changed = await change(conn, content_id, _now())
        item = _item_out(await queries.item(conn, content_id))
        if changed:
            await ctx.audit(conn, action, before, item)
    if changed:
        await ctx.cache.invalidate()
    return item


async def delete_content(content_id: uuid.UUID, ctx: WriteContext) -> None:
    """Delete an item no practice session refers to; one that sessions refer to is a 409
    ``CONTENT_IN_USE`` (members' history keeps it), to be unpublished instead."""
    async with in_transaction() as conn:
        item = _item_out(await queries.item(conn, content_id))
        try:
            await queries.delete(conn, content_id)
        except IntegrityError as exc:
            raise ApiError(
                ErrorCode.CONTENT_IN_USE,
                "Practice sessions refer to this content; unpublish it instead.",
            ) from exc
        await ctx.audit(conn, "content.delete", item, None)
    await ctx.cache.invalidate()


def derive_slug(title: str) -> str:
    """``"Déjà vu: SQL!"`` → ``"deja-vu-sql"``; ``"content"`` when no letter or digit survives."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    return "-".join(words)[:DERIVED_SLUG_MAX_LENGTH].strip("-") or "content"


async def _free_slug(base: str) -> str:
    taken = await queries.slugs_from(db.connection(), base)
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def _item_out(row: AdminContentDetailRow | None) -> AdminContentOut:
    if row is None:
        raise _not_found()
    return AdminContentOut.model_validate(row, from_attributes=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found() -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, "No content has this id.")


def _slug_taken(slug: str) -> ApiError:
    return ApiError(ErrorCode.SLUG_TAKEN, f"Another content item has the slug '{slug}'.")
