from __future__ import annotations

from sanic import Blueprint
from sanic.response import HTTPResponse

from service.app_context import PraxisRequest
from service.content import service
from service.content.schemas import (
    SLUG_FIELD_PATTERN,
    SLUG_MAX_LENGTH,
    ContentDetailOut,
    ContentListQuery,
    ContentPage,
    TagsOut,
)
from service.kit.cache import cached_response
from service.kit.errors import ErrorCode
from service.kit.openapi_docs import documented, path_parameter
from service.kit.web import parse_query

content_bp = Blueprint("content")
path_parameter(
    "slug",
    {"type": "string", "pattern": SLUG_FIELD_PATTERN, "maxLength": SLUG_MAX_LENGTH},
    "The item's slug, e.g. `python-list-basics`.",
)


@content_bp.get("/content")
@documented(
    "Published content, newest first; with q, best full-text match first",
    "Content",
    description="Cached; answers carry a strong `ETag`, and a matching `If-None-Match` gets "
    "304. Filters combine with AND; an empty filter value is the same as none.",
    query=ContentListQuery,
    responses={200: ContentPage, 304: None},
)
async def list_content(request: PraxisRequest) -> HTTPResponse:
    query = parse_query(request, ContentListQuery)
    cache = service.content_reads(request)
    return cached_response(request, await service.list_content(cache, query))


@content_bp.get("/content/<slug:str>")
@documented(
    "A published content item with its body",
    "Content",
    description="Cached, with a strong `ETag` (`If-None-Match` gets 304). Unknown and "
    "unpublished slugs are both 404.",
    responses={200: ContentDetailOut, 304: None},
    errors=(ErrorCode.NOT_FOUND,),
)
async def get_content(request: PraxisRequest, slug: str) -> HTTPResponse:
    cache = service.content_reads(request)
    return cached_response(request, await service.content_detail(cache, slug))


@content_bp.get("/tags")
@documented(
    "Tags of published content, with how many items carry each",
    "Content",
    description="Cached, with a strong `ETag` (`If-None-Match` gets 304); by name.",
    responses={200: TagsOut, 304: None},
)
async def list_tags(request: PraxisRequest) -> HTTPResponse:
    cache = service.content_reads(request)
    return cached_response(request, await service.tag_counts(cache))
