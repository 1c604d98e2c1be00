"""The audit log: its filters and the records answered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.content.schemas import FilterQuery
from service.history.schemas import Timestamp
from service.kit.fields import NO_NUL_PATTERN, refusing_nul
from service.kit.pagination import Page

_no_nul = refusing_nul("must not contain the NUL character")
_Name = Annotated[str, Field(pattern=NO_NUL_PATTERN), AfterValidator(_no_nul)]


class AuditQuery(FilterQuery):
    """``?actor=&action=&target_type=&since=&until=&limit=&cursor=``; empty means absent."""

    # Its sort key ends with a sequence number, not a UUID: a format of its own.
    cursor: str | None = Field(
        default=None,
        max_length=512,
        json_schema_extra={"format": "numbered-cursor"},
        description="The `next_cursor` of the previous page; opaque.",
    )
    actor: uuid.UUID | None = Field(default=None, description="Only records by this user id.")
    action: Annotated[_Name, Field(max_length=64)] | None = Field(
        default=None, description="Only this action, e.g. user.roles.set."
    )
    target_type: Annotated[_Name, Field(max_length=32)] | None = Field(
        default=None, description="Only records about this kind of target: content, user, role."
    )
    since: Timestamp | None = Field(default=None, description="RFC 3339; inclusive.")
    until: Timestamp | None = Field(default=None, description="RFC 3339; exclusive.")


class AuditActorOut(BaseModel):
    id: uuid.UUID
    email: str


_RECORD_EXAMPLE: dict[str, Any] = {
    "id": "42",
    "actor": {"id": "0f8fad5b-d9cb-469f-a165-70867728950e", "email": "ada@example.com"},
    "action": "user.roles.set",
    "target_type": "user",
    "target_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "changes": {"roles": {"before": ["member"], "after": ["editor", "member"]}},
    "request_id": "5f0c6a4e2b7d4f0e9f3f2d1c0b9a8e7d",
    "created_at": "2026-11-26T09:30:00+00:00",
}


class AuditRecordOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _RECORD_EXAMPLE})

    id: str
    # None for an operator's change at the CLI (create-admin, ADMIN_EMAILS), or a deleted actor.
    actor: AuditActorOut | None
    action: str
    target_type: str
    target_id: str
    # {field: {"before", "after"}}; records older than this format keep their original details.
    changes: dict[str, Any]
    request_id: str | None
    created_at: datetime


class AuditPage(Page[AuditRecordOut]):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_RECORD_EXAMPLE], "next_cursor": None}}
    )
