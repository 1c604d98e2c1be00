from __future__ import annotations

from sanic import Blueprint
from sanic.response import HTTPResponse, empty

from service.app_context import PraxisRequest
from service.auth import service
from service.auth.schemas import (
    LoginRequest,
    MeOut,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserOut,
)
from service.kit import rbac
from service.kit.errors import ErrorCode
from service.kit.openapi_docs import documented
from service.kit.rbac import Principal
from service.kit.web import json_response, parse_body

auth_bp = Blueprint("auth", url_prefix="/auth")
users_bp = Blueprint("users", url_prefix="/users")


@auth_bp.post("/register")
@documented(
    "Create an account (role: member)",
    "Auth",
    description="Emails are unique case-insensitively and stored lower-cased; the password "
    "is hashed with Argon2id. Sign in afterwards with `POST /api/v1/auth/login`.",
    body=RegisterRequest,
    responses={201: UserOut},
    errors=(ErrorCode.EMAIL_TAKEN,),
)
async def register(request: PraxisRequest) -> HTTPResponse:
    user = await service.register(parse_body(request, RegisterRequest))
    return json_response(user, status=201)


@auth_bp.post("/login")
@documented(
    "Exchange email and password for a token pair",
    "Auth",
    description="Answers a short-lived bearer access token and a refresh token; an unknown "
    "email and a wrong password are not told apart.",
    body=LoginRequest,
    responses={200: TokenPair},
    errors=(ErrorCode.INVALID_CREDENTIALS, ErrorCode.ACCOUNT_DISABLED),
)
async def login(request: PraxisRequest) -> HTTPResponse:
    data = parse_body(request, LoginRequest)
    ctx = request.app.ctx
    return json_response(await service.login(data, ctx.settings, ctx.rate_limiter))


@auth_bp.post("/refresh")
@documented(
    "Rotate a refresh token; the old one is spent",
    "Auth",
    description="Answers a new pair. Sending a spent refresh token again is treated as theft: "
    "every token of that login is revoked (401 `TOKEN_REVOKED`).",
    body=RefreshRequest,
    responses={200: TokenPair},
    errors=(ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_REVOKED),
)
async def refresh(request: PraxisRequest) -> HTTPResponse:
    data = parse_body(request, RefreshRequest)
    ctx = request.app.ctx
    return json_response(
        await service.refresh(data.refresh_token, ctx.settings, ctx.principal_cache)
    )


@auth_bp.post("/logout")
@documented(
    "End the refresh token's login: its refresh and access tokens stop working",
    "Auth",
    body=RefreshRequest,
    responses={204: None},
)
@rbac.authenticated
async def logout(request: PraxisRequest, principal: Principal) -> HTTPResponse:
    data = parse_body(request, RefreshRequest)
    await service.logout(data.refresh_token, principal, request.app.ctx.principal_cache)
    return empty()


@users_bp.get("/me")
@documented(
    "The caller, with roles and expanded permissions",
    "Auth",
    description="`permissions` is the union of the roles' permissions, fully expanded.",
    responses={200: MeOut},
)
@rbac.authenticated
async def me(_: PraxisRequest, principal: Principal) -> HTTPResponse:
    return json_response(service.me(principal))
