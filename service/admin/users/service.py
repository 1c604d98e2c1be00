"""User administration: each write and its audit record commit in one transaction, under the
lock that keeps one active admin; the users' cached permissions are invalidated after the
commit, so a change applies to their next request on every worker and instance."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from service.admin.audit.service import Actor, field_changes
from service.admin.users import queries
from service.admin.users.queries import AdminUserRow
from service.admin.users.schemas import (
    AdminUserOut,
    AdminUserPage,
    RolesUpdate,
    UserListQuery,
    UserUpdate,
)
from service.auth import queries as auth_queries
from service.infra import db
from service.infra.sql import Connection
from service.kit import rbac
from service.kit.errors import ApiError, ErrorCode, validation_error
from service.kit.pagination import Keyset, paginate
from service.kit.principal_cache import PrincipalCache

TARGET_TYPE = "user"


@dataclass(frozen=True)
class UserWrite:
    """Who writes, and the cache of permissions the write invalidates."""

    actor: Actor
    principals: PrincipalCache


async def list_users(query: UserListQuery) -> AdminUserPage:
    after = Keyset.from_cursor(query.cursor)
    rows = await queries.page(db.connection(), query.q, after, query.limit + 1)
    items, next_cursor = paginate(rows, query.limit, _sort_key)
    return AdminUserPage(items=[_user_out(row) for row in items], next_cursor=next_cursor)


def _sort_key(row: AdminUserRow) -> list[Any]:
    return Keyset(row.created_at, row.id).sort_key()


async def update_user(user_id: uuid.UUID, data: UserUpdate, write: UserWrite) -> AdminUserOut:
    """Partial update; deactivating revokes every refresh token of the user."""
    wanted = data.model_dump(exclude_unset=True, exclude_none=True)
    async with in_transaction() as conn:
        await queries.lock_admins(conn)
        before = await _locked_user(conn, user_id)
        changes = field_changes(asdict(before), wanted)
        if not changes:
            return _user_out(before)
        if wanted.get("is_active") is False:
            await _keep_an_admin(conn, before)
            await auth_queries.revoke_user_tokens(conn, user_id, datetime.now(UTC))
        await queries.update(conn, user_id, {name: c["after"] for name, c in changes.items()})
        await write.actor.record(conn, "user.update", (TARGET_TYPE, str(user_id)), changes)
        after = await _locked_user(conn, user_id)
    # Activity and the profile (email, display name) are both in the user's cached principal.
    await write.principals.bump_users([user_id])
    return _user_out(after)


async def replace_roles(user_id: uuid.UUID, data: RolesUpdate, write: UserWrite) -> AdminUserOut:
    """The user's roles become exactly ``data.roles``."""
    roles = sorted(set(data.roles))
    async with in_transaction() as conn:
        await queries.lock_admins(conn)
        before = await _locked_user(conn, user_id)
        unknown = await queries.unknown_roles(conn, roles)
        if unknown:
            raise validation_error("roles", f"unknown roles: {', '.join(unknown)}")
        if rbac.ADMIN_ROLE not in roles:
            await _keep_an_admin(conn, before)
        changes = field_changes({"roles": sorted(before.roles)}, {"roles": roles})
        if not changes:
            return _user_out(before)
        await queries.replace_roles(conn, user_id, roles)
        await write.actor.record(conn, "user.roles.set", (TARGET_TYPE, str(user_id)), changes)
        after = await _locked_user(conn, user_id)
    await write.principals.bump_users([user_id])
    return _user_out(after)


async def _locked_user(conn: Connection, user_id: uuid.UUID) -> AdminUserRow:
    row = await queries.user(conn, user_id, lock=True)
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, "No user has this id.")
    return row


async def _keep_an_admin(conn: Connection, user: AdminUserRow) -> None:
    """409 when ``user`` is an active admin and no other is (the caller holds the lock)."""
    if not user.is_active or rbac.ADMIN_ROLE not in user.roles:
        return
    if await queries.other_active_admins(conn, user.id, rbac.ADMIN_ROLE) == 0:
        raise ApiError(
            ErrorCode.LAST_ADMIN,
            "This is the last active admin: make another admin first.",
        )


def _user_out(row: AdminUserRow) -> AdminUserOut:
    return AdminUserOut.model_validate(row, from_attributes=True)
