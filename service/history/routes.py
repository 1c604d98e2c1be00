"""The caller's practice history and statistics."""

from __future__ import annotations

from sanic import Blueprint
from sanic.response import HTTPResponse

from service.app_context import PraxisRequest
from service.history import service
from service.history.schemas import HistoryPage, HistoryQuery, StatsOut
from service.kit import rbac
from service.kit.openapi_docs import documented
from service.kit.rbac import Principal
from service.kit.web import json_response, parse_query

history_bp = Blueprint("history", url_prefix="/history")

TAG = "History"


@history_bp.get("")
@documented(
    "The caller's sessions, newest started first, with content, tags and event counts",
    TAG,
    description="Filters combine with AND; `since` and `until` are RFC 3339 timestamps with an "
    "offset (send `+` as `%2B`).",
    query=HistoryQuery,
    responses={200: HistoryPage},
)
@rbac.authenticated
async def history(request: PraxisRequest, principal: Principal) -> HTTPResponse:
    query = parse_query(request, HistoryQuery)
    return json_response(await service.history(principal.user_id, query))


@history_bp.get("/stats")
@documented(
    "The caller's totals, minutes, streaks and per-category figures",
    TAG,
    description="Minutes count completed sessions only; a practice day is a UTC day on which "
    "a session that was completed started.",
    responses={200: StatsOut},
)
@rbac.authenticated
async def stats(_: PraxisRequest, principal: Principal) -> HTTPResponse:
    return json_response(await service.stats(principal.user_id))
