"""Practice sessions: starting (idempotently, within the active limit), changing and closing.

Idempotency protocol for ``POST /sessions`` with an ``Idempotency-Key``, all in ONE transaction:

1. Insert the key's row (user, key, hash of the request) with ``ON CONFLICT DO NOTHING``.
   A concurrent request with the same key that has not committed yet makes this insert wait on
   the unique (user, key) index, so two racing requests never both do the work.
2. Inserted: this request owns the key. Start the session, store the answer (status and body)
   on the row, commit: the session and its answer become visible together. An unexpected error
   rolls both back, so a retry starts afresh.
3. Not inserted: the key exists and is committed. Read it (locked): a different request hash is
   409 ``IDEMPOTENCY_KEY_REUSED``; the same hash replays the stored status and body.
4. A key older than ``IDEMPOTENCY_KEY_TTL`` is treated as new: its row is reused for this
   request (the lock from step 3 keeps racing retries of an expired key ordered too).

Outcomes of the endpoint's own logic are stored and replayed like successes (as Stripe does):
404 ``NOT_FOUND`` and 409 ``SESSION_LIMIT`` answer every retry of that key the same way, so a
key always means one decision. Requests refused before the logic runs (401, 413, 415, 400, 422)
store nothing, and neither does an unexpected failure.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import orjson
from tortoise.transactions import in_transaction

from service.infra import db
from service.infra.sql import Connection
from service.kit.errors import ApiError, ErrorCode
from service.sessions import queries
from service.sessions.queries import SessionRow
from service.sessions.schemas import (
    ACTIVE_SESSION_LIMIT,
    MAX_EVENT_DATA_BYTES,
    REPLAYED_HEADER,
    CompleteRequest,
    EventOut,
    EventRequest,
    SessionOut,
    StartSessionRequest,
    UpdateSessionRequest,
)

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
# Outcomes of starting a session that are stored under an idempotency key and replayed.
STORED_ERRORS = frozenset({ErrorCode.NOT_FOUND, ErrorCode.SESSION_LIMIT})


@dataclass(frozen=True)
class Answer:
    """A successful answer to a start, fresh or replayed from its idempotency key."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return _replay_headers(self.replayed)


def _replay_headers(replayed: bool) -> dict[str, str]:
    return {REPLAYED_HEADER: "true"} if replayed else {}


@dataclass(frozen=True)
class _Stored:
    """An outcome as kept on an idempotency key: a success body or an error's code and detail."""

    status: int
    body: dict[str, Any]

    @classmethod
    def of_error(cls, error: ApiError) -> _Stored:
        return cls(error.code.status, {"code": error.code.name, "detail": error.detail})

    def answer(self, replayed: bool) -> Answer:
        """The answer to give; a stored error is raised again, rendered for this request."""
        if self.status >= HTTPStatus.BAD_REQUEST:
            code = ErrorCode[self.body["code"]]
            raise ApiError(code, self.body["detail"], headers=_replay_headers(replayed))
        return Answer(self.status, self.body, replayed)


# --- starting -------------------------------------------------------------------------------


async def start_session(
    user_id: uuid.UUID, data: StartSessionRequest, idempotency_key: str | None
) -> Answer:
    if idempotency_key is None:
        async with in_transaction() as conn:
            session = await _start(conn, user_id, data.content_slug)
        return Answer(201, session.model_dump(mode="json"))
    return await _start_idempotently(user_id, data, idempotency_key)


async def _start(conn: Connection, user_id: uuid.UUID, slug: str) -> SessionOut:
    content_id = await queries.published_content_id(conn, slug)
    if content_id is None:
        raise ApiError(ErrorCode.NOT_FOUND, "No published content has this slug.")
    await queries.lock_user(conn, user_id)
    if await queries.count_active(conn, user_id) >= ACTIVE_SESSION_LIMIT:
        raise ApiError(
            ErrorCode.SESSION_LIMIT,
            f"You already have {ACTIVE_SESSION_LIMIT} active sessions; "
            "complete or abandon one first.",
        )
    return SessionOut.from_row(await queries.insert_session(conn, user_id, content_id))


async def _start_idempotently(user_id: uuid.UUID, data: StartSessionRequest, key: str) -> Answer:
    request_hash = _fingerprint(data)
    async with in_transaction() as conn:
        claim = await _claim_key(conn, user_id, key, request_hash)
        if isinstance(claim, _Stored):
            return claim.answer(replayed=True)
        outcome = await _stored_outcome_of_start(conn, user_id, data.content_slug)
        await queries.save_idempotent_answer(conn, claim, outcome.status, outcome.body)
    return outcome.answer(replayed=False)


async def _stored_outcome_of_start(conn: Connection, user_id: uuid.UUID, slug: str) -> _Stored:
    try:
        session = await _start(conn, user_id, slug)
    except ApiError as error:
        if error.code not in STORED_ERRORS:
            raise
        return _Stored.of_error(error)
    return _Stored(201, session.model_dump(mode="json"))


async def _claim_key(
    conn: Connection, user_id: uuid.UUID, key: str, request_hash: str
) -> int | _Stored:
    """The id of the key's row when this request owns it, else the answer stored on it."""
    # A second round only when the row vanished between the two statements (its user deleted).
    for _ in range(2):
        key_id = await queries.claim_idempotency_key(conn, user_id, key, request_hash)
        if key_id is not None:
            return key_id
        row = await queries.stored_idempotency_key(conn, user_id, key, IDEMPOTENCY_KEY_TTL)
        if row is None:
            continue
        if row.expired:
            await queries.reclaim_idempotency_key(conn, row.id, request_hash)
            return row.id
        if row.request_hash != request_hash:
            raise ApiError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This Idempotency-Key was already used with a different request body.",
            )
        return _Stored(row.response_status, orjson.loads(row.response_body))
    raise RuntimeError("idempotency key row vanished twice while claiming it")


def _fingerprint(data: StartSessionRequest) -> str:
    """Hash of the request as validated, so key order and whitespace do not make it differ."""
    canonical = orjson.dumps(data.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(b"POST /sessions\n" + canonical).hexdigest()


# --- reading and changing -------------------------------------------------------------------


async def get_session(user_id: uuid.UUID, session_id: uuid.UUID) -> SessionOut:
    row = await queries.session_of(db.connection(), user_id, session_id)
    if row is None:
        raise _not_found()
    return SessionOut.from_row(row)


async def update_session(
    user_id: uuid.UUID, session_id: uuid.UUID, data: UpdateSessionRequest
) -> SessionOut:
    row = await queries.update_active(
        db.connection(), user_id, session_id, data.progress, data.notes
    )
    return await _changed_or_refused(row, user_id, session_id)


async def complete_session(
    user_id: uuid.UUID, session_id: uuid.UUID, data: CompleteRequest
) -> SessionOut:
    row = await queries.complete_active(db.connection(), user_id, session_id, data.score)
    return await _changed_or_refused(row, user_id, session_id)


async def abandon_session(user_id: uuid.UUID, session_id: uuid.UUID) -> SessionOut:
    row = await queries.abandon_active(db.connection(), user_id, session_id)
    return await _changed_or_refused(row, user_id, session_id)


async def record_event(user_id: uuid.UUID, session_id: uuid.UUID, data: EventRequest) -> EventOut:
    if len(orjson.dumps(data.data)) > MAX_EVENT_DATA_BYTES:
        raise ApiError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"An event's data must serialize to at most {MAX_EVENT_DATA_BYTES} bytes of JSON.",
        )
    row = await queries.insert_event_if_active(
        db.connection(), user_id, session_id, data.kind, data.data
    )
    if row is None:
        raise await _refusal(user_id, session_id)
    return EventOut(
        id=str(row.id),
        session_id=row.session_id,
        kind=row.kind,
        data=orjson.loads(row.data),
        created_at=row.created_at,
    )


async def _changed_or_refused(
    row: SessionRow | None, user_id: uuid.UUID, session_id: uuid.UUID
) -> SessionOut:
    if row is None:
        raise await _refusal(user_id, session_id)
    return SessionOut.from_row(row)


async def _refusal(user_id: uuid.UUID, session_id: uuid.UUID) -> ApiError:
    """Why a change to an active session of the caller's matched nothing."""
    status = await queries.session_status(db.connection(), user_id, session_id)
    if status is None:
        return _not_found()
    return ApiError(ErrorCode.SESSION_CLOSED, f"This session is {status}; it can no longer change.")


def _not_found() -> ApiError:
    # Another user's session is answered exactly like a missing one: ids leak no existence.
    return ApiError(ErrorCode.NOT_FOUND, "No such practice session.")
