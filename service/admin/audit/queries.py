"""Audit records: every administrative write leaves one, in the same transaction as the write;
and the statement the audit log is read with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from service.infra.sql import Connection, Params, all_of, execute, fetch_all
from service.kit.pagination import Keyset


@dataclass(frozen=True)
class AuditEntry:
    """What happened: who (None for an operator at the CLI), to what, what changed (each field's
    ``{"before", "after"}``; never a password hash or token), and in which request."""

    actor_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str
    changes: dict[str, Any]
    request_id: str | None


@dataclass(frozen=True)
class AuditFilter:
    actor_id: uuid.UUID | None = None
    action: str | None = None
    target_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str
    target_type: str
    target_id: str
    # jsonb as its text: decoded by the service, which knows its shape.
    changes: str
    request_id: str | None
    created_at: datetime


async def record_audit(conn: Connection, entry: AuditEntry) -> None:
    """Through the write's own transaction: the record commits with the write or not at all."""
    await execute(
        conn,
        """
        INSERT INTO audit_records
            (actor_id, action, target_type, target_id, changes, request_id, created_at)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6, now())
        """,
        Params(
            entry.actor_id,
            entry.action,
            entry.target_type,
            entry.target_id,
            orjson.dumps(entry.changes).decode(),
            entry.request_id,
        ),
    )


def _conditions(params: Params, where: AuditFilter, after: Keyset | None) -> list[str]:
    wanted: list[tuple[str, Any]] = [
        ("a.actor_id = {}", where.actor_id),
        ("a.action = {}", where.action),
        ("a.target_type = {}", where.target_type),
        ("a.created_at >= {}", where.since),
        ("a.created_at < {}", where.until),
    ]
    conditions = [sql.format(params.bind(value)) for sql, value in wanted if value is not None]
    if after is not None:
        moment, record_id = params.bind(after.moment), params.bind(after.id)
        conditions.append(f"(a.created_at, a.id) < ({moment}::timestamptz, {record_id}::bigint)")
    return conditions


async def page(
    conn: Connection, where: AuditFilter, after: Keyset | None, limit: int
) -> list[AuditRow]:
    """Up to ``limit`` records newest first (idx_audit_created and its actor/action twins)."""
    params = Params()
    conditions = all_of(_conditions(params, where, after))
    return await fetch_all(
        conn,
        AuditRow,
        f"""
        SELECT a.id, a.actor_id, u.email AS actor_email, a.action, a.target_type, a.target_id,
               a.changes::text AS changes, a.request_id, a.created_at
        FROM audit_records a LEFT JOIN users u ON u.id = a.actor_id
        WHERE {conditions}
        ORDER BY a.created_at DESC, a.id DESC
        LIMIT {params.bind(limit)}
        """,
        params,
    )
