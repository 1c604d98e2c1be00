"""Password hashing (Argon2id), access tokens (JWT, HS256) and opaque refresh tokens."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.kit.errors import ApiError, ErrorCode

JWT_ALGORITHM = "HS256"
# An explicit allow-list: a token naming any other algorithm (including "none") is refused.
ALLOWED_JWT_ALGORITHMS = [JWT_ALGORITHM]
TOKEN_ISSUER = "praxis"  # noqa: S105 - the iss claim, not a secret

_password_hasher = PasswordHasher()  # argon2-cffi's default type is Argon2id.
# Verifying against this when the user does not exist keeps login timing uniform.
_DUMMY_HASH = _password_hasher.hash(secrets.token_urlsafe(16))
# Argon2 costs tens of milliseconds of CPU and 64 MiB of memory per hash. Its own small pool per
# worker process: a flood of logins queues here instead of taking every thread of the default
# executor (and every core) from the rest of the server.
PASSWORD_HASHING_THREADS = 2
_hashing_pool = ThreadPoolExecutor(PASSWORD_HASHING_THREADS, thread_name_prefix="argon2")


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _password_hasher.check_needs_rehash(password_hash)


async def hash_password_off_loop(password: str) -> str:
    """``hash_password`` on the bounded hashing pool, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_hashing_pool, hash_password, password)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """``verify_password`` on the bounded hashing pool; a missing hash costs the same time."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing_pool, verify_password, password_hash, password)


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    # The login the token belongs to (its refresh-token family): logout ends exactly this one.
    session_id: uuid.UUID
    token_id: str
    issued_at: datetime
    expires_at: datetime


def issue_access_token(
    user_id: uuid.UUID, session_id: uuid.UUID, secret: str, ttl_seconds: int
) -> tuple[str, int]:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
        "iss": TOKEN_ISSUER,
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM), ttl_seconds


def decode_access_token(token: str, secret: str) -> AccessClaims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=ALLOWED_JWT_ALGORITHMS,
            issuer=TOKEN_ISSUER,
            # ``sid`` is checked below, after the expiry: an expired token says so first.
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(ErrorCode.TOKEN_EXPIRED, "The access token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise ApiError(ErrorCode.TOKEN_INVALID, "The access token is not valid.") from exc
    if payload.get("typ") != "access":
        raise ApiError(ErrorCode.TOKEN_INVALID, "The access token is not valid.")
    try:
        user_id = uuid.UUID(payload["sub"])
        session_id = uuid.UUID(payload.get("sid"))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ApiError(ErrorCode.TOKEN_INVALID, "The access token is not valid.") from exc
    return AccessClaims(
        user_id=user_id,
        session_id=session_id,
        token_id=str(payload["jti"]),
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
    )


# Bearers in flight at once on one worker, with room to spare; past it the oldest are dropped.
VERIFIED_TOKENS_MAX = 10_000


class VerifiedTokens:
    """Access tokens already verified by this worker, and their claims: a bearer's next request
    costs a dictionary lookup instead of an HMAC and a JSON parse. Only tokens that passed every
    check are kept, each until it expires (compared on every hit, so an expired one is decoded
    again and refused as expired). A token's signature and claims never change, so nothing is
    ever stale; whether its login was ended is checked per request (``rbac.load_principal``)."""

    def __init__(
        self,
        secret: str,
        max_entries: int = VERIFIED_TOKENS_MAX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self.max_entries = max_entries
        self._clock = clock
        self._claims: dict[str, tuple[float, AccessClaims]] = {}

    def __len__(self) -> int:
        return len(self._claims)

    def claims(self, token: str) -> AccessClaims:
        """``token``'s verified claims; raises ``ApiError`` as ``decode_access_token`` does."""
        kept = self._claims.get(token)
        if kept is not None and self._clock() < kept[0]:
            return kept[1]
        claims = decode_access_token(token, self._secret)
        if len(self._claims) >= self.max_entries:
            del self._claims[next(iter(self._claims))]  # the oldest kept
        self._claims[token] = (claims.expires_at.timestamp(), claims)
        return claims


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_digest(token: str) -> str:
    """Refresh tokens are stored only as digests, so a database leak does not leak sessions."""
    return hashlib.sha256(token.encode()).hexdigest()
