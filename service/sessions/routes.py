"""Practice sessions of the caller: start, read, change, record events, complete, abandon."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from service.kit import rbac
from service.kit.errors import validation_error
from service.kit.openapi_docs import documented
from service.kit.web import json_response, parse_body, parse_uuid
from service.sessions import service
from service.sessions.schemas import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_MAX_CHARS,
    CompleteRequest,
    EventOut,
    EventRequest,
    SessionOut,
    StartSessionRequest,
    UpdateSessionRequest,
)

sessions_bp = Blueprint("sessions", url_prefix="/sessions")

TAG = "Practice sessions"


@sessions_bp.post("")
@documented(
    "Start a practice session on a published content item (at most 5 active at once)",
    TAG,
    body=StartSessionRequest,
    responses={201: SessionOut},
    errors=(404, 409),
)
@openapi.parameter(
    IDEMPOTENCY_KEY_HEADER,
    str,
    "header",
    description=f"1–{IDEMPOTENCY_KEY_MAX_CHARS} printable ASCII characters. A retry with the "
    "same key and body replays the first answer (with `Idempotent-Replayed: true`) and creates "
    "nothing; the same key with another body is 409 IDEMPOTENCY_KEY_REUSED. Keys are per user "
    "and kept 24 hours; 404 and 409 SESSION_LIMIT answers are replayed too.",
)
@rbac.authenticated
async def start_session(request: Request) -> HTTPResponse:
    key = idempotency_key(request)
    data = parse_body(request, StartSessionRequest)
    principal = rbac.current_principal(request)
    answer = await service.start_session(principal.user_id, data, key)
    return json_response(answer.body, status=answer.status, headers=answer.headers)


@sessions_bp.get("/<session_id:str>")
@documented(
    "One of the caller's practice sessions", TAG, responses={200: SessionOut}, errors=(404,)
)
@rbac.authenticated
async def get_session(request: Request, session_id: str) -> HTTPResponse:
    principal = rbac.current_principal(request)
    return json_response(await service.get_session(principal.user_id, parse_uuid(session_id)))


@sessions_bp.patch("/<session_id:str>")
@documented(
    "Report progress or notes on an active session",
    TAG,
    body=UpdateSessionRequest,
    responses={200: SessionOut},
    errors=(404, 409),
)
@rbac.authenticated
async def update_session(request: Request, session_id: str) -> HTTPResponse:
    principal = rbac.current_principal(request)
    session_uuid = parse_uuid(session_id)
    data = parse_body(request, UpdateSessionRequest)
    return json_response(await service.update_session(principal.user_id, session_uuid, data))


@sessions_bp.post("/<session_id:str>/events")
@documented(
    "Record an event on an active session",
    TAG,
    body=EventRequest,
    responses={201: EventOut},
    errors=(404, 409),
)
@rbac.authenticated
async def record_event(request: Request, session_id: str) -> HTTPResponse:
    principal = rbac.current_principal(request)
    session_uuid = parse_uuid(session_id)
    data = parse_body(request, EventRequest)
    event = await service.record_event(principal.user_id, session_uuid, data)
    return json_response(event, status=201)


@sessions_bp.post("/<session_id:str>/complete")
@documented(
    "Complete an active session, with an optional score",
    TAG,
    body=CompleteRequest,
    responses={200: SessionOut},
    errors=(404, 409),
)
@rbac.authenticated
async def complete_session(request: Request, session_id: str) -> HTTPResponse:
    principal = rbac.current_principal(request)
    session_uuid = parse_uuid(session_id)
    data = parse_body(request, CompleteRequest)
    return json_response(await service.complete_session(principal.user_id, session_uuid, data))


@sessions_bp.post("/<session_id:str>/abandon")
@documented("Abandon an active session", TAG, responses={200: SessionOut}, errors=(404, 409))
@rbac.authenticated
async def abandon_session(request: Request, session_id: str) -> HTTPResponse:
    principal = rbac.current_principal(request)
    return json_response(await service.abandon_session(principal.user_id, parse_uuid(session_id)))


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, if it sent one; 422 when it is not a sane key."""
    key: str | None = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_CHARS or not (key.isascii() and key.isprintable()):
        raise validation_error(
            IDEMPOTENCY_KEY_HEADER,
            f"must be 1–{IDEMPOTENCY_KEY_MAX_CHARS} printable ASCII characters",
        )
    return key
