from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty

from service.admin.content import service as content_service
from service.admin.content.schemas import (
    AdminContentOut,
    AdminContentPage,
    AdminContentQuery,
    ContentCreate,
    ContentUpdate,
)
from service.content.service import content_cache
from service.kit import rbac
from service.kit.openapi_docs import documented, query_parameters
from service.kit.web import json_response, parse_body, parse_query, parse_uuid

admin_content_bp = Blueprint("admin_content", url_prefix="/admin")

CONTENT_TAG = "Admin: content"


def _write_context(request: Request) -> content_service.WriteContext:
    return content_service.WriteContext(
        actor_id=rbac.current_principal(request).user_id,
        request_id=request.ctx.request_id,
        cache=content_cache(request.app),
    )


@admin_content_bp.get("/content")
@documented(
    "Content of any status, newest created first",
    CONTENT_TAG,
    responses={200: AdminContentPage},
    errors=(422,),
)
@query_parameters(AdminContentQuery)
@rbac.require_permission("content:read")
async def list_content(request: Request) -> HTTPResponse:
    query = parse_query(request, AdminContentQuery)
    return json_response(await content_service.list_content(query))


@admin_content_bp.post("/content")
@documented(
    "Create a content item (as a draft)",
    CONTENT_TAG,
    body=ContentCreate,
    responses={201: AdminContentOut},
    errors=(409,),
)
@rbac.require_permission("content:write")
async def create_content(request: Request) -> HTTPResponse:
    data = parse_body(request, ContentCreate)
    created = await content_service.create_content(data, _write_context(request))
    location = f"{request.path.rstrip('/')}/{created.id}"
    return json_response(created, status=201, headers={"Location": location})


@admin_content_bp.get("/content/<content_id:str>")
@documented(
    "A content item of any status", CONTENT_TAG, responses={200: AdminContentOut}, errors=(404,)
)
@rbac.require_permission("content:read")
async def get_content(_: Request, content_id: str) -> HTTPResponse:
    return json_response(await content_service.get_content(parse_uuid(content_id)))


@admin_content_bp.patch("/content/<content_id:str>")
@documented(
    "Change some fields of a content item; tags, when sent, replace its tags",
    CONTENT_TAG,
    body=ContentUpdate,
    responses={200: AdminContentOut},
    errors=(404, 409),
)
@rbac.require_permission("content:write")
async def update_content(request: Request, content_id: str) -> HTTPResponse:
    item_id = parse_uuid(content_id)
    data = parse_body(request, ContentUpdate)
    return json_response(
        await content_service.update_content(item_id, data, _write_context(request))
    )


@admin_content_bp.delete("/content/<content_id:str>")
@documented(
    "Delete a content item no practice session refers to (else 409 CONTENT_IN_USE)",
    CONTENT_TAG,
    responses={204: None},
    errors=(404, 409),
)
@rbac.require_permission("content:delete")
async def delete_content(request: Request, content_id: str) -> HTTPResponse:
    await content_service.delete_content(parse_uuid(content_id), _write_context(request))
    return empty()


@admin_content_bp.post("/content/<content_id:str>/publish")
@documented(
    "Publish a content item (an already published one keeps its published_at)",
    CONTENT_TAG,
    responses={200: AdminContentOut},
    errors=(404,),
)
@rbac.require_permission("content:publish")
async def publish_content(request: Request, content_id: str) -> HTTPResponse:
    item_id = parse_uuid(content_id)
    return json_response(await content_service.publish(item_id, _write_context(request)))


@admin_content_bp.post("/content/<content_id:str>/unpublish")
@documented(
    "Unpublish a content item: back to draft, hidden from the public",
    CONTENT_TAG,
    responses={200: AdminContentOut},
    errors=(404,),
)
@rbac.require_permission("content:publish")
async def unpublish_content(request: Request, content_id: str) -> HTTPResponse:
    item_id = parse_uuid(content_id)
    return json_response(await content_service.unpublish(item_id, _write_context(request)))
