"""Roles and permissions: the catalog, the built-in roles, and the guards routes use."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from sanic import Request
from sanic.response import HTTPResponse

from service.app_context import PraxisRequest
from service.auth import queries as auth_queries
from service.infra import db
from service.kit.errors import ApiError, ErrorCode
from service.kit.principal_cache import PrincipalLookup, PrincipalState
from service.kit.security import AccessClaims

PERMISSIONS: dict[str, str] = {
    "content:read": "Read content in any status",
    "content:write": "Create and edit content",
    "content:publish": "Publish and unpublish content",
    "content:delete": "Delete content",
    "users:read": "List and read users",
    "users:write": "Edit users and deactivate accounts",
    "roles:assign": "Assign roles to users",
    "roles:manage": "Create and edit roles",
    "audit:read": "Read the audit log",
}

ADMIN_ROLE = "admin"
EDITOR_ROLE = "editor"
MEMBER_ROLE = "member"

BUILTIN_ROLES: dict[str, tuple[str, list[str]]] = {
    ADMIN_ROLE: ("Every permission", list(PERMISSIONS)),
    EDITOR_ROLE: (
        "Writes and publishes content",
        ["content:read", "content:write", "content:publish", "content:delete"],
    ),
    MEMBER_ROLE: ("Practises; given at registration", []),
}


# Clocks of the service and the database may differ a little; a login ended this much longer ago
# than an access token lives is still checked.
ENDED_LOGIN_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Principal:
    """The authenticated caller as of this request: its profile and roles as they are now (cached
    only while provably current, see principal_cache) and the login its token belongs to."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    state: PrincipalState

    @property
    def roles(self) -> frozenset[str]:
        return self.state.roles

    @property
    def permissions(self) -> frozenset[str]:
        return self.state.permissions

    def has(self, permission: str) -> bool:
        return permission in self.permissions


def bearer_token(request: PraxisRequest) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def access_claims(request: PraxisRequest) -> AccessClaims:
    """The verified claims of the request's bearer token, decoded once per request (the rate
    limiter reads the user from them before the route's guard does)."""
    cached: AccessClaims | None = getattr(request.ctx, "access_claims", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise ApiError(ErrorCode.AUTH_REQUIRED, "This endpoint needs a bearer access token.")
    claims = request.app.ctx.verified_tokens.claims(token)
    request.ctx.access_claims = claims
    return claims


async def load_principal(request: PraxisRequest) -> Principal:
    """Authenticate the bearer token and load what the caller may do; cached for the request."""
    cached: Principal | None = getattr(request.ctx, "principal", None)
    if cached is not None:
        return cached
    claims = access_claims(request)
    state = await _current_state(request, claims)
    if not state.is_active:
        raise ApiError(ErrorCode.ACCOUNT_DISABLED, "This account has been disabled.")
    if claims.session_id in state.ended_logins:
        raise ApiError(ErrorCode.TOKEN_REVOKED, "This login has ended; log in again.")
    principal = Principal(claims.user_id, claims.session_id, state)
    request.ctx.principal = principal
    return principal


async def _current_state(request: PraxisRequest, claims: AccessClaims) -> PrincipalState:
    """The caller's cached state when the limiter's script call found it current, else the
    database's (cached for the next request when that call told us the counters)."""
    cache = request.app.ctx.principal_cache
    lookup: PrincipalLookup | None = getattr(request.ctx, "principal_lookup", None)
    if cache.lost_bump:
        await cache.settle()  # every entry is suspect: ignore this one, invalidate them all
        lookup = None
    state = lookup.fresh_state() if lookup is not None else None
    if state is not None:
        return state
    state = await read_state(claims.user_id, request.app.ctx.settings.jwt_access_ttl_seconds)
    if lookup is not None:
        await cache.store(lookup, state)
    return state


async def read_state(user_id: uuid.UUID, access_ttl_seconds: int) -> PrincipalState:
    row = await auth_queries.principal(
        db.connection(), user_id, access_ttl_seconds + ENDED_LOGIN_MARGIN_SECONDS
    )
    if row is None:
        raise ApiError(ErrorCode.TOKEN_INVALID, "The token's user no longer exists.")
    return PrincipalState(
        email=row.email,
        display_name=row.display_name,
        created_at=row.created_at,
        is_active=row.is_active,
        roles=frozenset(row.roles),
        permissions=frozenset(row.permissions),
        ended_logins=frozenset(row.ended_logins),
    )


P = ParamSpec("P")
R = TypeVar("R", bound=HTTPResponse)
Handler = Callable[Concatenate[PraxisRequest, P], Coroutine[Any, Any, R]]


def authenticated(handler: Handler[P, R]) -> Handler[P, R]:
    """Require a valid bearer token; the handler reads the caller from ``request.ctx.principal``."""

    @wraps(handler)
    async def guarded(request: PraxisRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
        await load_principal(request)
        return await handler(request, *args, **kwargs)

    guarded.__dict__.setdefault("_praxis_auth", {"permission": None})
    return guarded


def require_permission(permission: str) -> Callable[[Handler[P, R]], Handler[P, R]]:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorate(handler: Handler[P, R]) -> Handler[P, R]:
        @wraps(handler)
        async def guarded(request: PraxisRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
            principal = await load_principal(request)
            if not principal.has(permission):
                raise ApiError(
                    ErrorCode.PERMISSION_DENIED, f"This action needs the '{permission}' permission."
                )
            return await handler(request, *args, **kwargs)

        guarded.__dict__["_praxis_auth"] = {"permission": permission}
        return guarded

    return decorate


def principal_of(request: PraxisRequest) -> Principal:
    """The caller, as the route's guard loaded it."""
    principal: Principal = request.ctx.principal
    return principal


async def inject_principal(request: Request) -> Principal:
    """sanic-ext's constructor for a handler's ``principal: Principal`` parameter. It runs on
    ``http.handler.before``, after the request middleware (the limiter sees the request first),
    and its annotation is the plain ``Request``, which is what sanic-ext recognises."""
    return await load_principal(cast("PraxisRequest", request))


def auth_requirement(handler: Any) -> dict[str, Any] | None:
    """What a guarded handler requires, for documentation; None for public handlers."""
    requirement: dict[str, Any] | None = getattr(handler, "_praxis_auth", None)
    return requirement
