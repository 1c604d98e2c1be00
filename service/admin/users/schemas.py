"""User administration: the list query, the two write bodies, and the user answered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from service.auth.schemas import DisplayName
from service.content.schemas import FilterQuery, SearchText
from service.kit.fields import refusing_nul
from service.kit.pagination import Page

MAX_ROLES = 20
_no_nul = refusing_nul("must not contain the NUL character")
RoleName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_nul)]


class UserListQuery(FilterQuery):
    """``?q=&limit=&cursor=``."""

    q: SearchText | None = Field(
        default=None, description="Part of the email or display name, any case."
    )


class AdminUserOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                "email": "ada@example.com",
                "display_name": "Ada",
                "roles": ["editor", "member"],
                "is_active": True,
                "created_at": "2026-11-25T21:00:00+00:00",
            }
        }
    )

    id: uuid.UUID
    email: str
    display_name: str
    roles: list[str]
    is_active: bool
    created_at: datetime


class AdminUserPage(Page[AdminUserOut]):
    pass


class UserUpdate(BaseModel):
    """Only the fields sent change. Deactivating ends every login of the user; the last active
    admin cannot be deactivated (409 ``LAST_ADMIN``). Roles change through ``PUT .../roles``;
    a field sent as null is left as it is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"is_active": False}})

    is_active: StrictBool | None = None
    display_name: DisplayName | None = None


class RolesUpdate(BaseModel):
    """The user's roles become exactly these (duplicates dropped); each must exist (else 422)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"roles": ["editor", "member"]}}
    )

    roles: Annotated[list[RoleName], Field(max_length=MAX_ROLES)]
