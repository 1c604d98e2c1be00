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
from service.kit.errors import ErrorCode
from service.kit.openapi_docs import Link, documented
from service.kit.web import json_response, parse_body, parse_query

admin_content_bp = Blueprint("admin_content", url_prefix="/admin")

CONTENT_TAG = "Admin: content"
_BY_ID = {"content_id": "$response.body#/id"}
CONTENT_LINKS = {
    "GetContent": Link("admin.content.get_content", _BY_ID, "The item just written."),
    "UpdateContent": Link("admin.content.update_content", _BY_ID),
    "DeleteContent": Link("admin.content.delete_content", _BY_ID),
    "PublishContent": Link("admin.content.publish_content", _BY_ID),
    "UnpublishContent": Link("admin.content.unpublish_content", _BY_ID),
}


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
    description="`q` matches a substring of the title or slug, case-insensitively.",
    query=AdminContentQuery,
    responses={200: AdminContentPage},
)
@rbac.require_permission("content:read")
async def list_content(request: PraxisRequest) -> HTTPResponse:
    query = parse_query(request, AdminContentQuery)
    return json_response(await content_service.list_content(query))


@admin_content_bp.post("/content")
@documented(
    "Create a content item (as a draft)",
    CONTENT_TAG,
    description="The slug is derived from the title when absent (made unique with a `-2`, "
    "`-3`... suffix); an explicit slug that is taken is 409 `SLUG_TAKEN`. Answers `Location`.",
    body=ContentCreate,
    responses={201: AdminContentOut},
    errors=(ErrorCode.SLUG_TAKEN,),
    links=CONTENT_LINKS,
)
@rbac.require_permission("content:write")
async def create_content(request: PraxisRequest) -> HTTPResponse:
    data = parse_body(request, ContentCreate)
    created = await content_service.create_content(data, _write_context(request))
    location = f"{request.path.rstrip('/')}/{created.id}"
    return json_response(created, status=201, headers={"Location": location})


@admin_content_bp.get("/content/<content_id:uuid>")
@documented(
    "A content item of any status",
    CONTENT_TAG,
    description="Drafts included, with the body.",
    responses={200: AdminContentOut},
    errors=(ErrorCode.NOT_FOUND,),
)
@rbac.require_permission("content:read")
async def get_content(_: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    return json_response(await content_service.get_content(content_id))


@admin_content_bp.patch("/content/<content_id:uuid>")
@documented(
    "Change some fields of a content item; tags, when sent, replace its tags",
    CONTENT_TAG,
    description="Only the fields sent change; `null` is refused (leave a field out to keep "
    "it). The change is visible to the next public read.",
    body=ContentUpdate,
    responses={200: AdminContentOut},
    errors=(ErrorCode.NOT_FOUND, ErrorCode.SLUG_TAKEN),
    links=CONTENT_LINKS,
)
@rbac.require_permission("content:write")
async def update_content(request: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    data = parse_body(request, ContentUpdate)
    return json_response(
        await content_service.update_content(content_id, data, _write_context(request))
    )


@admin_content_bp.delete("/content/<content_id:uuid>")
@documented(
    "Delete a content item no practice session refers to",
    CONTENT_TAG,
    description="Content that sessions refer to is 409 `CONTENT_IN_USE`: unpublish it instead.",
    responses={204: None},
    errors=(ErrorCode.NOT_FOUND, ErrorCode.CONTENT_IN_USE),
)
@rbac.require_permission("content:delete")
async def delete_content(request: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    await content_service.delete_content(content_id, _write_context(request))
    return empty()


@admin_content_bp.post("/content/<content_id:uuid>/publish")
@documented(
    "Publish a content item",
    CONTENT_TAG,
    description="An already published item keeps its `published_at`.",
    responses={200: AdminContentOut},
    errors=(ErrorCode.NOT_FOUND,),
    links=CONTENT_LINKS,
)
@rbac.require_permission("content:publish")
async def publish_content(request: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    return json_response(await content_service.publish(content_id, _write_context(request)))


@admin_content_bp.post("/content/<content_id:uuid>/unpublish")
@documented(
    "Unpublish a content item",
    CONTENT_TAG,
    description="Back to draft: hidden from the public from the next read on.",
    responses={200: AdminContentOut},
    errors=(ErrorCode.NOT_FOUND,),
    links=CONTENT_LINKS,
)
@rbac.require_permission("content:publish")
async def unpublish_content(request: PraxisRequest, content_id: uuid.UUID) -> HTTPResponse:
    return json_response(await content_service.unpublish(content_id, _write_context(request)))
