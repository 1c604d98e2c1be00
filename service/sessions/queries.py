"""Every query of practice sessions and their idempotency keys.

State changes are single conditional statements (``... WHERE status = 'active'``): the database,
not a read-then-write in Python, decides whether a session is still open, so concurrent requests
cannot both close a session or slip a change past a close.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from service.infra.sql import (
    Connection,
    CopyTarget,
    Params,
    execute,
    fetch_one,
    fetch_row,
    fetch_value,
)

# A session row joined with its content; every session query answers these columns.
SESSION_COLUMNS = """
    s.id, s.status, s.progress, s.notes, s.score, s.started_at, s.ended_at,
    s.duration_seconds, s.updated_at,
    c.slug AS content_slug, c.title AS content_title, c.kind AS content_kind,
    c.category AS content_category, c.difficulty AS content_difficulty,
    c.duration_minutes AS content_duration_minutes
"""

# Whole seconds between start and now; never negative, even with a clock-skewed start.
_ELAPSED_SECONDS = "greatest(0, floor(extract(epoch FROM now() - started_at)))::int"
# The bulk-load target of ``praxis seed``: finished sessions only, so no active count to respect.
SESSIONS_COPY = CopyTarget(
    "practice_sessions",
    (
        "id",
        "user_id",
        "content_id",
        "status",
        "progress",
        "notes",
        "score",
        "started_at",
        "ended_at",
        "duration_seconds",
        "updated_at",
    ),
)


@dataclass(frozen=True)
class SessionRow:
    """A session joined with its content: the columns of ``SESSION_COLUMNS``."""

    id: uuid.UUID
    status: str
    progress: int
    notes: str
    score: float | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    updated_at: datetime
    content_slug: str
    content_title: str
    content_kind: str
    content_category: str
    content_difficulty: str
    content_duration_minutes: int


@dataclass(frozen=True)
class EventRow:
    id: int
    session_id: uuid.UUID
    kind: str
    data: str  # the jsonb document as text: decoded once, where the answer is built
    created_at: datetime


@dataclass(frozen=True)
class StoredKeyRow:
    """An idempotency key's committed row."""

    id: int
    request_hash: str
    response_status: int
    response_body: str  # jsonb as text
    expired: bool


# --- content --------------------------------------------------------------------------------


async def published_content_id(conn: Connection, slug: str) -> uuid.UUID | None:
    """The id of the published item with this slug; KEY SHARE keeps it from being deleted
    before the transaction that starts a session on it commits."""
    return await fetch_value(
        conn,
        uuid.UUID,
        "SELECT id FROM content WHERE slug = $1 AND status = 'published' FOR KEY SHARE",
        Params(slug),
    )


# --- sessions -------------------------------------------------------------------------------


async def lock_user(conn: Connection, user_id: uuid.UUID) -> None:
    """Serialize session starts of one user until the transaction ends.

    NO KEY UPDATE conflicts with itself but not with the KEY SHARE locks that inserts referencing
    the user take, so only concurrent starts wait. The active count must be a separate, later
    statement: in READ COMMITTED only a new statement sees what the lock holder committed.
    """
    await execute(conn, "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", Params(user_id))


async def count_active(conn: Connection, user_id: uuid.UUID) -> int:
    count = await fetch_value(
        conn,
        int,
        "SELECT count(*) FROM practice_sessions WHERE user_id = $1 AND status = 'active'",
        Params(user_id),
    )
    return count or 0


async def insert_session(conn: Connection, user_id: uuid.UUID, content_id: uuid.UUID) -> SessionRow:
    return await fetch_row(
        conn,
        SessionRow,
        f"""
        WITH s AS (
            INSERT INTO practice_sessions
                (id, user_id, content_id, status, progress, notes, started_at, updated_at)
            VALUES ($1, $2, $3, 'active', 0, '', now(), now())
            RETURNING *
        )
        SELECT {SESSION_COLUMNS} FROM s JOIN content c ON c.id = s.content_id
        """,
        Params(uuid.uuid4(), user_id, content_id),
    )


async def session_of(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID
) -> SessionRow | None:
    return await fetch_one(
        conn,
        SessionRow,
        f"""
        SELECT {SESSION_COLUMNS}
        FROM practice_sessions s JOIN content c ON c.id = s.content_id
        WHERE s.id = $1 AND s.user_id = $2
        """,
        Params(session_id, user_id),
    )


async def session_status(conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID) -> str | None:
    """Why a conditional change touched nothing: None (not the caller's) or its status."""
    return await fetch_value(
        conn,
        str,
        "SELECT status FROM practice_sessions WHERE id = $1 AND user_id = $2",
        Params(session_id, user_id),
    )


async def _update_active(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID, assignments: str, *values: Any
) -> SessionRow | None:
    """Apply ``assignments`` ($3... are ``values``) if the session is the caller's and active.

    A concurrent change waits for the row lock, then re-checks ``status = 'active'`` against
    the committed row: after a close it matches nothing.
    """
    return await fetch_one(
        conn,
        SessionRow,
        f"""
        WITH s AS (
            UPDATE practice_sessions SET {assignments}, updated_at = now()
            WHERE id = $1 AND user_id = $2 AND status = 'active'
            RETURNING *
        )
        SELECT {SESSION_COLUMNS} FROM s JOIN content c ON c.id = s.content_id
        """,
        Params(session_id, user_id, *values),
    )


async def update_active(
    conn: Connection,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    progress: int | None,
    notes: str | None,
) -> SessionRow | None:
    return await _update_active(
        conn,
        user_id,
        session_id,
        "progress = coalesce($3, progress), notes = coalesce($4, notes)",
        progress,
        notes,
    )


async def complete_active(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID, score: float | None
) -> SessionRow | None:
    return await _update_active(
        conn,
        user_id,
        session_id,
        "status = 'completed', score = $3::double precision, ended_at = now(), "
        f"duration_seconds = {_ELAPSED_SECONDS}",
        score,
    )


async def abandon_active(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID
) -> SessionRow | None:
    return await _update_active(
        conn,
        user_id,
        session_id,
        f"status = 'abandoned', ended_at = now(), duration_seconds = {_ELAPSED_SECONDS}",
    )


async def insert_event_if_active(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID, kind: str, data: dict[str, Any]
) -> EventRow | None:
    """Record an event on the caller's active session, else nothing.

    FOR SHARE conflicts with the lock a close takes, so an event and a close are ordered: the
    event lands before the close commits, or it sees the closed session and is refused. Events
    on one session do not block each other.
    """
    return await fetch_one(
        conn,
        EventRow,
        """
        WITH s AS (
            SELECT id FROM practice_sessions
            WHERE id = $1 AND user_id = $2 AND status = 'active'
            FOR SHARE
        )
        INSERT INTO session_events (session_id, kind, data, created_at)
        SELECT s.id, $3, $4::jsonb, now() FROM s
        RETURNING id, session_id, kind, data::text AS data, created_at
        """,
        Params(session_id, user_id, kind, orjson.dumps(data).decode()),
    )


# --- idempotency keys -----------------------------------------------------------------------


async def claim_idempotency_key(
    conn: Connection, user_id: uuid.UUID, key: str, request_hash: str
) -> int | None:
    """Insert the key's row (answer still blank); its id, or None when the key exists.

    A concurrent transaction holding an uncommitted row with the same key makes this wait on the
    unique index: when that one commits this does nothing (and the caller reads its answer),
    when it rolls back this inserts.
    """
    return await fetch_value(
        conn,
        int,
        """
        INSERT INTO idempotency_keys
            (user_id, key, request_hash, response_status, response_body, created_at)
        VALUES ($1, $2, $3, 0, '{}'::jsonb, now())
        ON CONFLICT (user_id, key) DO NOTHING
        RETURNING id
        """,
        Params(user_id, key, request_hash),
    )


async def stored_idempotency_key(
    conn: Connection, user_id: uuid.UUID, key: str, kept_for: timedelta
) -> StoredKeyRow | None:
    """The key's committed row, locked until commit, and whether it outlived ``kept_for``."""
    return await fetch_one(
        conn,
        StoredKeyRow,
        """
        SELECT id, request_hash, response_status, response_body::text AS response_body,
               created_at < now() - $3::interval AS expired
        FROM idempotency_keys
        WHERE user_id = $1 AND key = $2
        FOR UPDATE
        """,
        Params(user_id, key, kept_for),
    )


async def reclaim_idempotency_key(conn: Connection, key_id: int, request_hash: str) -> None:
    """Reuse an expired key's row for a new request (it is locked by ``stored_idempotency_key``)."""
    await execute(
        conn,
        """
        UPDATE idempotency_keys
        SET request_hash = $2, response_status = 0, response_body = '{}'::jsonb, created_at = now()
        WHERE id = $1
        """,
        Params(key_id, request_hash),
    )


async def save_idempotent_answer(
    conn: Connection, key_id: int, status: int, body: dict[str, Any]
) -> None:
    await execute(
        conn,
        "UPDATE idempotency_keys SET response_status = $2, response_body = $3::jsonb WHERE id = $1",
        Params(key_id, status, orjson.dumps(body).decode()),
    )


async def delete_idempotency_keys_before(conn: Connection, created_before: datetime) -> int:
    """Delete the keys created before ``created_before`` (expired: a retry with one is a new
    request anyway); how many went."""
    return await execute(
        conn, "DELETE FROM idempotency_keys WHERE created_at < $1", Params(created_before)
    )
