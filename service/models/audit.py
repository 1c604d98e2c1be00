from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from service.models.users import User


class AuditRecord(Model):
    id = fields.BigIntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_records", null=True, on_delete=fields.SET_NULL
    )
    # Tortoise sets the foreign key's column attribute itself; declared so type checkers know it.
    actor_id: uuid.UUID | None
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=32)
    target_id = fields.CharField(max_length=64)
    # {field: {"before": ..., "after": ...}} for each field the write changed. Records written
    # before migration 3 keep the free-form details they had (e.g. {"slug": ...}).
    changes: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    request_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_records"
