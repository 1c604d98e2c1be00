"""What the database holds, read back directly: the effects tests assert beyond the response."""

from __future__ import annotations

import uuid

from service.models import AuditRecord, PracticeSession, SessionEvent
from tests.support.factories import Account
from tests.support.servers import Server


def session_count(server: Server, user: Account) -> int:
    return server.run(PracticeSession.filter(user_id=user.id).count())


def event_count(server: Server, session_id: str | uuid.UUID) -> int:
    return server.run(SessionEvent.filter(session_id=session_id).count())


def stored_session(server: Server, session_id: str | uuid.UUID) -> PracticeSession:
    return server.run(PracticeSession.get(id=session_id))


def audit_records(server: Server) -> list[AuditRecord]:
    return server.run(AuditRecord.all().order_by("id"))
