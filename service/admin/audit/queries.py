"""Audit records: every administrative write leaves one, in the same transaction as the write."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from service.models import AuditRecord


async def record_audit(
    conn: BaseDBAsyncClient | None,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any],
    request_id: str | None,
) -> AuditRecord:
    return await AuditRecord.create(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
        request_id=request_id,
        using_db=conn,
    )
