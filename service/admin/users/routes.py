from __future__ import annotations

import uuid

from sanic import Blueprint
from sanic.response import HTTPResponse

from service.admin.audit.service import Actor
from service.admin.users import service
from service.admin.users.schemas import (
    AdminUserOut,
    AdminUserPage,
    RolesUpdate,
    UserListQuery,
    UserUpdate,
)
from service.app_context import PraxisRequest
from service.kit import rbac
from service.kit.errors import ErrorCode
from service.kit.openapi_docs import Link, documented
from service.kit.rbac import Principal
from service.kit.web import json_response, parse_body, parse_query

admin_users_bp = Blueprint("admin_users", url_prefix="/admin")

TAG = "Admin: users"


def _user_links(user_id: str) -> dict[str, Link]:
    by_id = {"user_id": user_id}
    return {
        "UpdateUser": Link("admin.users.update_user", by_id),
        "ReplaceRoles": Link("admin.users.replace_roles", by_id),
    }


# A page's first user (the newest), and the user a write answered.
LIST_LINKS = _user_links("$response.body#/items/0/id")
USER_LINKS = _user_links("$response.body#/id")


def user_write(request: PraxisRequest, principal: Principal) -> service.UserWrite:
    return service.UserWrite(
        actor=Actor(principal.user_id, request.ctx.request_id),
        principals=request.app.ctx.principal_cache,
    )


@admin_users_bp.get("/users")
@documented(
    "Users, newest first, with their roles",
    TAG,
    description="`q` matches a substring of the email or the display name, case-insensitively.",
    query=UserListQuery,
    responses={200: AdminUserPage},
    links=LIST_LINKS,
)
@rbac.require_permission("users:read")
async def list_users(request: PraxisRequest) -> HTTPResponse:
    return json_response(await service.list_users(parse_query(request, UserListQuery)))


@admin_users_bp.patch("/users/<user_id:uuid>")
@documented(
    "Activate or deactivate a user, or change the display name",
    TAG,
    body=UserUpdate,
    responses={200: AdminUserOut},
    errors=(ErrorCode.NOT_FOUND, ErrorCode.LAST_ADMIN),
    links=USER_LINKS,
)
@rbac.require_permission("users:write")
async def update_user(
    request: PraxisRequest, user_id: uuid.UUID, principal: Principal
) -> HTTPResponse:
    data = parse_body(request, UserUpdate)
    return json_response(await service.update_user(user_id, data, user_write(request, principal)))


@admin_users_bp.put("/users/<user_id:uuid>/roles")
@documented(
    "Replace a user's roles",
    TAG,
    body=RolesUpdate,
    responses={200: AdminUserOut},
    errors=(ErrorCode.NOT_FOUND, ErrorCode.LAST_ADMIN),
    links=USER_LINKS,
)
@rbac.require_permission("roles:assign")
async def replace_roles(
    request: PraxisRequest, user_id: uuid.UUID, principal: Principal
) -> HTTPResponse:
    data = parse_body(request, RolesUpdate)
    updated = await service.replace_roles(user_id, data, user_write(request, principal))
    return json_response(updated)
