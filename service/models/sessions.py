from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from service.models.content import Content
    from service.models.users import User


class SessionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class PracticeSession(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="practice_sessions", on_delete=fields.CASCADE
    )
    content: fields.ForeignKeyRelation[Content] = fields.ForeignKeyField(
        "models.Content", related_name="practice_sessions", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(SessionStatus, max_length=16, default=SessionStatus.ACTIVE)
    progress = fields.SmallIntField(default=0)
    notes = fields.TextField(default="")
    score = fields.FloatField(null=True)
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    duration_seconds = fields.IntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)
    events: fields.ReverseRelation[SessionEvent]

    class Meta:
        table = "practice_sessions"


class SessionEvent(Model):
    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[PracticeSession] = fields.ForeignKeyField(
        "models.PracticeSession", related_name="events", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=64)
    data: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "session_events"


class IdempotencyKey(Model):
    """The first answer to a keyed request, replayed to retries of the same request."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    response_status = fields.SmallIntField()
    response_body: fields.Field[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_keys"
        unique_together = (("user", "key"),)
