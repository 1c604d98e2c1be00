from __future__ import annotations

import uuid

from sanic import Blueprint
from sanic.response import HTTPResponse, empty

from service.admin.content import service as content_service
from service.admin.content.schemas import (
    AdminContentOut,
    AdminContentPage,
    AdminContentQuery,
    ContentCreate,
    ContentUpdate,
)
from service.app_context import PraxisRequest
from service.content.service import content_cache
from service.kit import rbac
from service.kit.openapi_docs import documented, query_parameters
from service.kit.web import json_response, parse_body, parse_query

admin_content_bp = Blueprint("admin_content", url_prefix="/admin")

CONTENT_TAG = "Admin: content"


def _write_context(request: PraxisRequest) -> content_service.WriteContext:
    return content_service.WriteContext(
        actor_id=rbac.principal_of(request).user_id,
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
async def list_content(request: PraxisRequest) -> HTTPResponse:
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
async def create_content(request: PraxisRequest) -> HTTPResponse:
    data = parse_body(request, ContentCreate)
    created = await content_service.create_content(data, _write_context(request))
    location = f"{request.path.rstrip('/')}/{created.id}"
    return json_response(created, status=201, headers={"Location": location})


@admin_content_bp.get("/content/<content_id:uuid>")
@documented(
    "A content item of any status", CONTENT_TAG, responses={200: AdminContentOut}, errors=(404,)
)
@rbac.require_permission("content:read")
async def get_content(_: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    return json_response(await content_service.get_content(content_id))


@admin_content_bp.patch("/content/<content_id:uuid>")
@documented(
    "Change some fields of a content item; tags, when sent, replace its tags",
    CONTENT_TAG,
    body=ContentUpdate,
    responses={200: AdminContentOut},
    errors=(404, 409),
)
@rbac.require_permission("content:write")
async def update_content(request: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    data = parse_body(request, ContentUpdate)
    return json_response(
        await content_service.update_content(content_id, data, _write_context(request))
    )


@admin_content_bp.delete("/content/<content_id:uuid>")
@documented(
    "Delete a content item no practice session refers to (else 409 CONTENT_IN_USE)",
    CONTENT_TAG,
    responses={204: None},
    errors=(404, 409),
)
@rbac.require_permission("content:delete")
async def delete_content(request: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    await content_service.delete_content(content_id, _write_context(request))
    return empty()


@admin_content_bp.post("/content/<content_id:uuid>/publish")
@documented(
    "Publish a content item (an already published one keeps its published_at)",
    CONTENT_TAG,
    responses={200: AdminContentOut},
    errors=(404,),
)
@rbac.require_permission("content:publish")
async def publish_content(request: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    return json_response(await content_service.publish(content_id, _write_context(request)))


@admin_content_bp.post("/content/<content_id:uuid>/unpublish")
@documented(
    "Unpublish a content item: back to draft, hidden from the public",
    CONTENT_TAG,
    responses={200: AdminContentOut},
    errors=(404,),
)
@rbac.require_permission("content:publish")
async def unpublish_content(request: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    return json_response(await content_service.unpublish(content_id, _write_context(request)))
