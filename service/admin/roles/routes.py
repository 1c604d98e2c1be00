from __future__ import annotations

from sanic import Blueprint
from sanic.response import HTTPResponse

from service.admin.audit.service import Actor
from service.admin.roles import service
from service.admin.roles.schemas import (
    ROLE_NAME_FIELD_PATTERN,
    ROLE_NAME_MAX_LENGTH,
    RoleCreate,
    RoleList,
    RoleOut,
    RoleUpdate,
)
from service.app_context import PraxisRequest
from service.kit import rbac
from service.kit.errors import ErrorCode
from service.kit.openapi_docs import Link, documented, path_parameter
from service.kit.rbac import Principal
from service.kit.web import json_response, parse_body

admin_roles_bp = Blueprint("admin_roles", url_prefix="/admin")

TAG = "Admin: roles"
path_parameter(
    "name",
    {"type": "string", "pattern": ROLE_NAME_FIELD_PATTERN, "maxLength": ROLE_NAME_MAX_LENGTH},
    "The role's name, e.g. `moderator`.",
)
ROLE_LINKS = {
    "UpdateRole": Link("admin.roles.update_role", {"name": "$response.body#/name"}),
}


def _actor(request: PraxisRequest, principal: Principal) -> Actor:
    return Actor(principal.user_id, request.ctx.request_id)


@admin_roles_bp.get("/roles")
@documented("Every role with its permissions", TAG, responses={200: RoleList})
@rbac.require_permission("roles:manage")
async def list_roles(_: PraxisRequest) -> HTTPResponse:
    return json_response(await service.list_roles())


@admin_roles_bp.post("/roles")
@documented(
    "Create a custom role",
    TAG,
    body=RoleCreate,
    responses={201: RoleOut},
    errors=(ErrorCode.ROLE_EXISTS,),
    links=ROLE_LINKS,
)
@rbac.require_permission("roles:manage")
async def create_role(request: PraxisRequest, principal: Principal) -> HTTPResponse:
    data = parse_body(request, RoleCreate)
    created = await service.create_role(data, _actor(request, principal))
    location = f"{request.path.rstrip('/')}/{created.name}"
    return json_response(created, status=201, headers={"Location": location})


@admin_roles_bp.put("/roles/<name:slug>")
@documented(
    "Replace a custom role's permissions (built-in roles cannot be changed)",
    TAG,
    body=RoleUpdate,
    responses={200: RoleOut},
    errors=(ErrorCode.NOT_FOUND, ErrorCode.ROLE_BUILTIN),
    links=ROLE_LINKS,
)
@rbac.require_permission("roles:manage")
async def update_role(request: PraxisRequest, name: str, principal: Principal) -> HTTPResponse:
    data = parse_body(request, RoleUpdate)
    actor = _actor(request, principal)
    updated = await service.update_role(name, data, actor, request.app.ctx.principal_cache)
    return json_response(updated)
