"""User administration: the list query, the two write bodies, and the user answered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from service.admin.roles.schemas import ROLE_NAME_FIELD_PATTERN
from service.auth.schemas import DisplayName
from service.content.schemas import FilterQuery, SearchText
from service.kit.fields import refusing_nul
from service.kit.pagination import Page

MAX_ROLES = 20
_no_nul = refusing_nul("must not contain the NUL character")
# Documented as the names roles can have; which of them exist is known only when asked (else 422).
RoleName = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=ROLE_NAME_FIELD_PATTERN),
    AfterValidator(_no_nul),
]
_USER_EXAMPLE: dict[str, Any] = {
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "email": "ada@example.com",
    "display_name": "Ada",
    "roles": ["editor", "member"],
    "is_active": True,
    "created_at": "2026-11-25T21:00:00+00:00",
}


class UserListQuery(FilterQuery):
    """``?q=&limit=&cursor=``."""

    q: SearchText | None = Field(
        default=None, description="Part of the email or display name, any case."
    )


class AdminUserOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _USER_EXAMPLE})

    id: uuid.UUID
    email: str
    display_name: str
    roles: list[str]
    is_active: bool
    created_at: datetime


class AdminUserPage(Page[AdminUserOut]):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_USER_EXAMPLE], "next_cursor": None}}
    )


class UserUpdate(BaseModel):
    """Only the fields sent change. Deactivating ends every login of the user; the last active
    admin cannot be deactivated (409 ``LAST_ADMIN``). Roles change through ``PUT .../roles``;
    a field sent as null is left as it is."""

    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
        json_schema_extra={"example": {"is_active": False}},
    )

    is_active: StrictBool | None = None
    display_name: DisplayName | None = None


class RolesUpdate(BaseModel):
    """The user's roles become exactly these (duplicates dropped); each must exist (else 422)."""

    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
        json_schema_extra={"example": {"roles": ["editor", "member"]}},
    )

    roles: Annotated[list[RoleName], Field(max_length=MAX_ROLES)]
