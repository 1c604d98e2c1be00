"""Registration, login and refresh-token rotation with reuse detection."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.auth import queries
from service.auth.queries import RefreshTokenRow, UserRow
from service.auth.schemas import LoginRequest, MeOut, RegisterRequest, TokenPair, UserOut
from service.config import RateLimit, Settings
from service.infra import db
from service.infra.sql import Connection
from service.kit import rbac, security
from service.kit.errors import ApiError, ErrorCode
from service.kit.principal_cache import PrincipalCache
from service.kit.ratelimit import Policy, RateLimiter

# Failed logins per account (whether or not it exists), on top of the per-IP auth policy: a
# password guessed from many addresses is throttled too. Only failures draw from the bucket.
ACCOUNT_LOGIN_FAILURES = Policy("account", RateLimit(10, 15 * 60))


async def create_user(
    conn: Connection, email: str, password_hash: str, display_name: str, roles: list[str]
) -> UserRow:
    """The one way an account comes to exist (registration, ``create-admin``, the demo seed):
    a member, plus ``roles``. IntegrityError when the email is taken."""
    user = await queries.insert_user(conn, email, password_hash, display_name)
    await queries.grant_roles(conn, user.id, sorted({rbac.MEMBER_ROLE, *roles}))
    return user


async def register(data: RegisterRequest) -> UserOut:
    password_hash = await security.hash_password_off_loop(data.password)
    try:
        async with in_transaction() as conn:
            user = await create_user(conn, data.email, password_hash, data.display_name, [])
    except IntegrityError as exc:
        raise ApiError(ErrorCode.EMAIL_TAKEN, "An account with this email exists.") from exc
    return user_out(user, [rbac.MEMBER_ROLE])


async def login(data: LoginRequest, settings: Settings, limiter: RateLimiter | None) -> TokenPair:
    """The same answers, in the same time, whether or not the account exists: an unknown email
    is verified against a dummy hash and throttled under its own (hashed) name."""
    email = data.email.strip().lower()
    await _refuse_when_throttled(limiter, email)
    user = await queries.user_by_email(db.connection(), email)
    password_hash = user.password_hash if user else None
    valid = await security.verify_password_off_loop(password_hash, data.password)
    if user is None or not valid:
        if limiter is not None:
            await limiter.decide(ACCOUNT_LOGIN_FAILURES, _account_key(email))
        raise ApiError(ErrorCode.INVALID_CREDENTIALS, "The email or password is wrong.")
    if not user.is_active:
        raise ApiError(ErrorCode.ACCOUNT_DISABLED, "This account has been disabled.")
    if security.password_needs_rehash(user.password_hash):
        new_hash = await security.hash_password_off_loop(data.password)
        await queries.set_password_hash(db.connection(), user.id, new_hash)
    return await _issue_pair(db.connection(), user.id, uuid.uuid4(), settings)


def _account_key(email: str) -> str:
    """Bucket names never hold an address in the clear."""
    return hashlib.sha256(email.encode()).hexdigest()


async def _refuse_when_throttled(limiter: RateLimiter | None, email: str) -> None:
    if limiter is None:
        return
    verdict = await limiter.decide(ACCOUNT_LOGIN_FAILURES, _account_key(email), peek=True)
    decision = verdict.decision
    if not decision.allowed:
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            f"Too many failed logins for this account; retry in {decision.seconds} seconds.",
            headers={"Retry-After": str(decision.seconds)},
            extra={"violated-policies": [ACCOUNT_LOGIN_FAILURES.name]},
        )


async def refresh(refresh_token: str, settings: Settings, principals: PrincipalCache) -> TokenPair:
    """Spend the token and issue its successor in one transaction, holding the token's row lock:
    a concurrent reuse waits, then finds it spent and revokes the family, successor included."""
    digest = security.refresh_token_digest(refresh_token)
    async with in_transaction() as conn:
        token = await queries.refresh_token_for_update(conn, digest)
        if token is None:
            raise ApiError(ErrorCode.TOKEN_INVALID, "The refresh token is not valid.")
        pair = await _rotate_or_revoke(conn, token, settings)
    if pair is None:
        # A spent token presented again means it leaked: that login ends, access tokens too.
        await principals.bump_users([token.user_id])
        raise ApiError(ErrorCode.TOKEN_REVOKED, "The refresh token was already used or revoked.")
    return pair


async def _rotate_or_revoke(
    conn: Connection, token: RefreshTokenRow, settings: Settings
) -> TokenPair | None:
    """The successor pair; None when the token was spent (its family is revoked then)."""
    now = datetime.now(UTC)
    if token.used_at is not None or token.revoked_at is not None:
        await queries.revoke_family(conn, token.family_id, now)
        return None
    if token.expires_at <= now:
        raise ApiError(ErrorCode.TOKEN_EXPIRED, "The refresh token has expired.")
    user = await queries.user_by_id(conn, token.user_id)
    if user is None or not user.is_active:
        raise ApiError(ErrorCode.TOKEN_INVALID, "The refresh token is not valid.")
    await queries.mark_used(conn, token.id, now)
    return await _issue_pair(conn, user.id, token.family_id, settings)


async def logout(refresh_token: str, principal: rbac.Principal, principals: PrincipalCache) -> None:
    """End the login the refresh token belongs to (if it is the caller's): its refresh tokens are
    revoked and its access tokens refused from the next request on."""
    digest = security.refresh_token_digest(refresh_token)
    token = await queries.refresh_token_by_hash(db.connection(), digest)
    if token is not None and token.user_id == principal.user_id:
        await queries.revoke_family(db.connection(), token.family_id, datetime.now(UTC))
        await principals.bump_users([principal.user_id])


def me(principal: rbac.Principal) -> MeOut:
    """From the principal alone: its profile is as current as its roles (principal_cache)."""
    state = principal.state
    return MeOut(
        id=principal.user_id,
        email=state.email,
        display_name=state.display_name,
        roles=sorted(state.roles),
        created_at=state.created_at,
        permissions=sorted(state.permissions),
    )


def user_out(user: UserRow, roles: list[str]) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=roles,
        created_at=user.created_at,
    )


async def _issue_pair(
    conn: Connection, user_id: uuid.UUID, family_id: uuid.UUID, settings: Settings
) -> TokenPair:
    """An access token naming the login (``sid``, the family) and a new refresh token in it."""
    access, expires_in = security.issue_access_token(
        user_id, family_id, settings.jwt_secret, settings.jwt_access_ttl_seconds
    )
    refresh_token = security.new_refresh_token()
    await queries.insert_refresh_token(
        conn,
        user_id,
        security.refresh_token_digest(refresh_token),
        family_id,
        datetime.now(UTC) + timedelta(seconds=settings.jwt_refresh_ttl_seconds),
    )
    return TokenPair(access_token=access, refresh_token=refresh_token, expires_in=expires_in)
