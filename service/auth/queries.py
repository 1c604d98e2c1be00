"""Every query of the auth domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from service.models import RefreshToken, Role, User


async def user_by_email(email: str) -> User | None:
    return await User.get_or_none(email=email)


async def user_by_id(user_id: uuid.UUID) -> User | None:
    return await User.get_or_none(id=user_id)


async def insert_user(
    conn: BaseDBAsyncClient, email: str, password_hash: str, display_name: str
) -> User:
    return await User.create(
        email=email, password_hash=password_hash, display_name=display_name, using_db=conn
    )


async def grant_role(conn: BaseDBAsyncClient, user: User, role_name: str) -> None:
    role = await Role.get(name=role_name, using_db=conn)
    await user.roles.add(role, using_db=conn)


async def role_names(user_id: uuid.UUID) -> list[str]:
    names = await Role.filter(users__id=user_id).order_by("name").values_list("name", flat=True)
    return [str(name) for name in names]


async def set_password_hash(user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    await user.save(update_fields=["password_hash", "updated_at"])


async def insert_refresh_token(
    conn: BaseDBAsyncClient | None,
    user_id: uuid.UUID,
    token_hash: str,
    family_id: uuid.UUID,
    expires_at: datetime,
) -> RefreshToken:
    return await RefreshToken.create(
        user_id=user_id,
        token_hash=token_hash,
        family_id=family_id,
        expires_at=expires_at,
        using_db=conn,
    )


async def refresh_token_for_update(conn: BaseDBAsyncClient, token_hash: str) -> RefreshToken | None:
    return (
        await RefreshToken.filter(token_hash=token_hash).select_for_update().using_db(conn).first()
    )


async def refresh_token_by_hash(token_hash: str) -> RefreshToken | None:
    return await RefreshToken.get_or_none(token_hash=token_hash)


async def mark_used(conn: BaseDBAsyncClient, token: RefreshToken, when: datetime) -> None:
    await RefreshToken.filter(id=token.id).using_db(conn).update(used_at=when)


async def revoke_family(family_id: uuid.UUID, when: datetime) -> None:
    await RefreshToken.filter(family_id=family_id, revoked_at__isnull=True).update(revoked_at=when)
