"""Reading the audit log, and what every administrative write tells it: who acted, in which
request, and the before and after of each field it changed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from service.admin.audit import queries
from service.admin.audit.queries import AuditEntry, AuditFilter, AuditRow
from service.admin.audit.schemas import AuditActorOut, AuditPage, AuditQuery, AuditRecordOut
from service.infra import db
from service.infra.sql import Connection
from service.kit.pagination import Keyset, paginate


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: {"before", "after"}}`` for each field of ``after`` whose value differs."""
    return {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if before.get(name) != value
    }


@dataclass(frozen=True)
class Actor:
    """Who makes an administrative write, and in which request (None at the CLI)."""

    user_id: uuid.UUID | None
    request_id: str | None

    async def record(
        self,
        conn: Connection,
        action: str,
        target: tuple[str, str],
        changes: dict[str, Any],
    ) -> None:
        """``target`` is (type, id); through the write's transaction."""
        target_type, target_id = target
        entry = AuditEntry(self.user_id, action, target_type, target_id, changes, self.request_id)
        await queries.record_audit(conn, entry)


async def list_records(query: AuditQuery) -> AuditPage:
    where = AuditFilter(query.actor, query.action, query.target_type, query.since, query.until)
    after = Keyset.from_cursor(query.cursor, numbered=True)
    rows = await queries.page(db.connection(), where, after, query.limit + 1)
    items, next_cursor = paginate(rows, query.limit, _sort_key)
    return AuditPage(items=[_record_out(row) for row in items], next_cursor=next_cursor)


def _sort_key(row: AuditRow) -> list[Any]:
    return Keyset(row.created_at, row.id).sort_key()


def _record_out(row: AuditRow) -> AuditRecordOut:
    actor = None
    if row.actor_id is not None and row.actor_email is not None:
        actor = AuditActorOut(id=row.actor_id, email=row.actor_email)
    return AuditRecordOut(
        id=str(row.id),
        actor=actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        changes=orjson.loads(row.changes),
        request_id=row.request_id,
        created_at=row.created_at,
    )
