"""Practice sessions of the caller: start, read, change, record events, complete, abandon."""

from __future__ import annotations

import uuid

from sanic import Blueprint
from sanic.response import HTTPResponse

from service.app_context import PraxisRequest
from service.kit import rbac
from service.kit.errors import ErrorCode, validation_error
from service.kit.openapi_docs import Link, documented, parameter
from service.kit.rbac import Principal
from service.kit.web import json_response, parse_body
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
_BY_ID = {"session_id": "$response.body#/id"}
SESSION_LINKS = {
    "GetSession": Link("sessions.get_session", _BY_ID, "The session just written."),
    "UpdateSession": Link("sessions.update_session", _BY_ID),
    "RecordEvent": Link("sessions.record_event", _BY_ID),
    "CompleteSession": Link("sessions.complete_session", _BY_ID),
    "AbandonSession": Link("sessions.abandon_session", _BY_ID),
}
CLOSED_SESSION_CODES = (ErrorCode.NOT_FOUND, ErrorCode.SESSION_CLOSED)
IDEMPOTENCY_KEY_PARAMETER = parameter(
    IDEMPOTENCY_KEY_HEADER,
    # Printable ASCII, not starting or ending with a space (HTTP would strip it).
    {
        "type": "string",
        "minLength": 1,
        "maxLength": IDEMPOTENCY_KEY_MAX_CHARS,
        "pattern": "^[!-~]([ -~]*[!-~])?$",
    },
    "header",
    f"1–{IDEMPOTENCY_KEY_MAX_CHARS} printable ASCII characters. A retry with the "
    "same key and body replays the first answer (with `Idempotent-Replayed: true`) and creates "
    "nothing; the same key with another body is 409 `IDEMPOTENCY_KEY_REUSED`. Keys are per user "
    "and kept 24 hours; 404 and 409 `SESSION_LIMIT` answers are replayed too.",
    required=False,
)


@sessions_bp.post("")
@documented(
    "Start a practice session on a published content item",
    TAG,
    description="At most 5 sessions may be active at once (409 `SESSION_LIMIT`). Send an "
    "`Idempotency-Key` to retry safely.",
    body=StartSessionRequest,
    responses={201: SessionOut},
    errors=(ErrorCode.NOT_FOUND, ErrorCode.SESSION_LIMIT, ErrorCode.IDEMPOTENCY_KEY_REUSED),
    links=SESSION_LINKS,
    parameters=(IDEMPOTENCY_KEY_PARAMETER,),
)
@rbac.authenticated
async def start_session(request: PraxisRequest, principal: Principal) -> HTTPResponse:
    key = idempotency_key(request)
    data = parse_body(request, StartSessionRequest)
    answer = await service.start_session(principal.user_id, data, key)
    return json_response(answer.body, status=answer.status, headers=answer.headers)


@sessions_bp.get("/<session_id:uuid>")
@documented(
    "One of the caller's practice sessions",
    TAG,
    description="Another user's session is 404, as if it did not exist.",
    responses={200: SessionOut},
    errors=(ErrorCode.NOT_FOUND,),
)
@rbac.authenticated
async def get_session(
    _: PraxisRequest, session_id: uuid.UUID, principal: Principal
) -> HTTPResponse:
    return json_response(await service.get_session(principal.user_id, session_id))


@sessions_bp.patch("/<session_id:uuid>")
@documented(
    "Report progress or notes on an active session",
    TAG,
    description="Fields left out (or null) keep their value.",
    body=UpdateSessionRequest,
    responses={200: SessionOut},
    errors=CLOSED_SESSION_CODES,
    links=SESSION_LINKS,
)
@rbac.authenticated
async def update_session(
    request: PraxisRequest, session_id: uuid.UUID, principal: Principal
) -> HTTPResponse:
    data = parse_body(request, UpdateSessionRequest)
    return json_response(await service.update_session(principal.user_id, session_id, data))


@sessions_bp.post("/<session_id:uuid>/events")
@documented(
    "Record an event on an active session",
    TAG,
    description="`data` is a JSON object of at most 16 KiB serialized (larger: 413).",
    body=EventRequest,
    responses={201: EventOut},
    errors=CLOSED_SESSION_CODES,
)
@rbac.authenticated
async def record_event(
    request: PraxisRequest, session_id: uuid.UUID, principal: Principal
) -> HTTPResponse:
    data = parse_body(request, EventRequest)
    event = await service.record_event(principal.user_id, session_id, data)
    return json_response(event, status=201)


@sessions_bp.post("/<session_id:uuid>/complete")
@documented(
    "Complete an active session, with an optional score",
    TAG,
    description="Sets `ended_at` and `duration_seconds`; the session can no longer change.",
    body=CompleteRequest,
    responses={200: SessionOut},
    errors=CLOSED_SESSION_CODES,
)
@rbac.authenticated
async def complete_session(
    request: PraxisRequest, session_id: uuid.UUID, principal: Principal
) -> HTTPResponse:
    data = parse_body(request, CompleteRequest)
    return json_response(await service.complete_session(principal.user_id, session_id, data))


@sessions_bp.post("/<session_id:uuid>/abandon")
@documented(
    "Abandon an active session",
    TAG,
    description="Sets `ended_at`; abandoned sessions count in history but not in minutes.",
    responses={200: SessionOut},
    errors=CLOSED_SESSION_CODES,
)
@rbac.authenticated
async def abandon_session(
    _: PraxisRequest, session_id: uuid.UUID, principal: Principal
) -> HTTPResponse:
    return json_response(await service.abandon_session(principal.user_id, session_id))


def idempotency_key(request: PraxisRequest) -> str | None:
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
