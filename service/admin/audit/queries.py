"""Audit records: every administrative write leaves one, in the same transaction as the write."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from service.infra.sql import Connection, Params, execute


@dataclass(frozen=True)
class AuditEntry:
    """What happened: who (None for an operator at the CLI), to what, and in which request."""

    actor_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    request_id: str | None


async def record_audit(conn: Connection, entry: AuditEntry) -> None:
    """Through the write's own transaction: the record commits with the write or not at all."""
    await execute(
        conn,
        """
        INSERT INTO audit_records
            (actor_id, action, target_type, target_id, details, request_id, created_at)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6, now())
        """,
        Params(
            entry.actor_id,
            entry.action,
            entry.target_type,
            entry.target_id,
            orjson.dumps(entry.details).decode(),
            entry.request_id,
        ),
    )
