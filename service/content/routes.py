from __future__ import annotations

from sanic import Blueprint
from sanic.response import HTTPResponse

from service.app_context import PraxisRequest
from service.content import service
from service.content.schemas import ContentDetailOut, ContentListQuery, ContentPage, TagsOut
from service.kit.cache import cached_response
from service.kit.openapi_docs import documented, query_parameters
from service.kit.web import parse_query

content_bp = Blueprint("content")


@content_bp.get("/content")
@documented(
    "Published content, newest first; with q, best full-text match first",
    "Content",
    responses={200: ContentPage, 304: None},
    errors=(422,),
)
@query_parameters(ContentListQuery)
async def list_content(request: PraxisRequest) -> HTTPResponse:
    query = parse_query(request, ContentListQuery)
    cache = service.content_cache(request.app)
    return cached_response(request, await service.list_content(cache, query))


@content_bp.get("/content/<slug:str>")
@documented(
    "A published content item with its body",
    "Content",
    responses={200: ContentDetailOut, 304: None},
    errors=(404,),
)
async def get_content(request: PraxisRequest, slug: str) -> HTTPResponse:
    cache = service.content_cache(request.app)
    return cached_response(request, await service.content_detail(cache, slug))


@content_bp.get("/tags")
@documented(
    "Tags of published content, with how many items carry each",
    "Content",
    responses={200: TagsOut, 304: None},
)
async def list_tags(request: PraxisRequest) -> HTTPResponse:
    cache = service.content_cache(request.app)
    return cached_response(request, await service.tag_counts(cache))
