"""Registration, login and refresh-token rotation with reuse detection."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.auth import queries
from service.auth.queries import UserRow
from service.auth.schemas import LoginRequest, MeOut, RegisterRequest, TokenPair, UserOut
from service.config import Settings
from service.infra import db
from service.infra.sql import Connection
from service.kit import rbac, security
from service.kit.errors import ApiError, ErrorCode


async def create_user(
    conn: Connection, email: str, password_hash: str, display_name: str, roles: list[str]
) -> UserRow:
    """The one way an account comes to exist (registration, ``create-admin``, the demo seed):
    a member, plus ``roles``. IntegrityError when the email is taken."""
    user = await queries.insert_user(conn, email, password_hash, display_name)
    await queries.grant_roles(conn, user.id, sorted({rbac.MEMBER_ROLE, *roles}))
    return user


async def register(data: RegisterRequest) -> UserOut:
    # Argon2 takes tens of milliseconds of CPU; off the event loop it stalls no other request.
    password_hash = await asyncio.to_thread(security.hash_password, data.password)
    try:
        async with in_transaction() as conn:
            user = await create_user(conn, data.email, password_hash, data.display_name, [])
    except IntegrityError as exc:
        raise ApiError(ErrorCode.EMAIL_TAKEN, "An account with this email exists.") from exc
    return user_out(user, [rbac.MEMBER_ROLE])


async def login(data: LoginRequest, settings: Settings) -> TokenPair:
    user = await queries.user_by_email(db.connection(), data.email.strip().lower())
    password_hash = user.password_hash if user else None
    valid = await asyncio.to_thread(security.verify_password, password_hash, data.password)
    if user is None or not valid:
        raise ApiError(ErrorCode.INVALID_CREDENTIALS, "The email or password is wrong.")
    if not user.is_active:
        raise ApiError(ErrorCode.ACCOUNT_DISABLED, "This account has been disabled.")
    if security.password_needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(security.hash_password, data.password)
        await queries.set_password_hash(db.connection(), user.id, new_hash)
    return await _issue_pair(user.id, uuid.uuid4(), settings)


async def refresh(refresh_token: str, settings: Settings) -> TokenPair:
    digest = security.refresh_token_digest(refresh_token)
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        token = await queries.refresh_token_for_update(conn, digest)
        if token is None:
            raise ApiError(ErrorCode.TOKEN_INVALID, "The refresh token is not valid.")
        reused = token.used_at is not None or token.revoked_at is not None
        if not reused:
            if token.expires_at <= now:
                raise ApiError(ErrorCode.TOKEN_EXPIRED, "The refresh token has expired.")
            await queries.mark_used(conn, token.id, now)
    if reused:
        # A spent token presented again means it leaked: end every session of that login.
        await queries.revoke_family(db.connection(), token.family_id, now)
        raise ApiError(ErrorCode.TOKEN_REVOKED, "The refresh token was already used or revoked.")
    user = await queries.user_by_id(db.connection(), token.user_id)
    if user is None or not user.is_active:
        raise ApiError(ErrorCode.TOKEN_INVALID, "The refresh token is not valid.")
    return await _issue_pair(user.id, token.family_id, settings)


async def logout(refresh_token: str, principal: rbac.Principal) -> None:
    digest = security.refresh_token_digest(refresh_token)
    token = await queries.refresh_token_by_hash(db.connection(), digest)
    if token is not None and token.user_id == principal.user_id:
        await queries.revoke_family(db.connection(), token.family_id, datetime.now(UTC))


async def me(principal: rbac.Principal) -> MeOut:
    user = await queries.user_by_id(db.connection(), principal.user_id)
    if user is None:
        raise ApiError(ErrorCode.TOKEN_INVALID, "The token's user no longer exists.")
    return MeOut(
        **user_out(user, sorted(principal.roles)).model_dump(),
        permissions=sorted(principal.permissions),
    )


def user_out(user: UserRow, roles: list[str]) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=roles,
        created_at=user.created_at,
    )


async def _issue_pair(user_id: uuid.UUID, family_id: uuid.UUID, settings: Settings) -> TokenPair:
    access, expires_in = security.issue_access_token(
        user_id, settings.jwt_secret, settings.jwt_access_ttl_seconds
    )
    refresh_token = security.new_refresh_token()
    await queries.insert_refresh_token(
        db.connection(),
        user_id,
        security.refresh_token_digest(refresh_token),
        family_id,
        datetime.now(UTC) + timedelta(seconds=settings.jwt_refresh_ttl_seconds),
    )
    return TokenPair(access_token=access, refresh_token=refresh_token, expires_in=expires_in)
