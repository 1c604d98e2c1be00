"""What the database holds, read back directly: the effects tests assert beyond the response."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import fields as dataclasses_fields
from typing import Any

from service.models import AuditRecord, PracticeSession, SessionEvent, User
from tests.support.factories import Account
from tests.support.servers import Server


def session_count(server: Server, user: Account) -> int:
    return server.run(PracticeSession.filter(user_id=user.id).count())


def event_count(server: Server, session_id: str | uuid.UUID) -> int:
    return server.run(SessionEvent.filter(session_id=session_id).count())


def stored_session(server: Server, session_id: str | uuid.UUID) -> PracticeSession:
    return server.run(PracticeSession.get(id=session_id))


@dataclass(frozen=True)
class AuditEntry:
    action: str
    actor_id: uuid.UUID | None
    target_type: str
    target_id: str
    request_id: str | None
    changes: dict[str, Any]


def audit_records(server: Server) -> list[AuditEntry]:
    """Every audit record, oldest first."""
    columns = [field.name for field in dataclasses_fields(AuditEntry)]
    rows = server.run(AuditRecord.all().order_by("id").values(*columns))
    return [AuditEntry(**row) for row in rows]


def roles_of(server: Server, email: str) -> list[str]:
    async def fetch() -> list[str]:
        user = await User.get(email=email)
        return sorted(r.name for r in await user.roles.all())

    return server.run(fetch())
