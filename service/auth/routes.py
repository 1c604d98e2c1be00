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
from service.kit.openapi_docs import documented
from service.kit.rbac import Principal
from service.kit.web import json_response, parse_body

auth_bp = Blueprint("auth", url_prefix="/auth")
users_bp = Blueprint("users", url_prefix="/users")


@auth_bp.post("/register")
@documented(
    "Create an account (role: member)",
    "Auth",
    body=RegisterRequest,
    responses={201: UserOut},
    errors=(409,),
)
async def register(request: PraxisRequest) -> HTTPResponse:
    user = await service.register(parse_body(request, RegisterRequest))
    return json_response(user, status=201)


@auth_bp.post("/login")
@documented(
    "Exchange email and password for a token pair",
    "Auth",
    body=LoginRequest,
    responses={200: TokenPair},
    errors=(401, 403),
)
async def login(request: PraxisRequest) -> HTTPResponse:
    data = parse_body(request, LoginRequest)
    ctx = request.app.ctx
    return json_response(await service.login(data, ctx.settings, ctx.rate_limiter))


@auth_bp.post("/refresh")
@documented(
    "Rotate a refresh token; the old one is spent",
    "Auth",
    body=RefreshRequest,
    responses={200: TokenPair},
    errors=(401,),
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
@documented("The caller, with roles and expanded permissions", "Auth", responses={200: MeOut})
@rbac.authenticated
async def me(_: PraxisRequest, principal: Principal) -> HTTPResponse:
    return json_response(await service.me(principal))
