"""Role administration: the create and update bodies, and the role answered."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.kit import rbac
from service.kit.fields import END_OF_TEXT, NO_NUL_PATTERN, refusing_nul

# What Sanic's ``slug`` path type matches, so every role can be named in PUT /roles/<name>; the
# same rule as a JSON-schema pattern for the OpenAPI document (Python's regex dialect).
ROLE_NAME_FIELD_PATTERN = rf"^[a-z0-9]+(?:-[a-z0-9]+)*{END_OF_TEXT}"
ROLE_NAME_PATTERN = re.compile(ROLE_NAME_FIELD_PATTERN)
ROLE_NAME_MAX_LENGTH = 64


def _role_name(value: str) -> str:
    if len(value) > ROLE_NAME_MAX_LENGTH or not ROLE_NAME_PATTERN.match(value):
        raise ValueError(
            "must be lowercase letters and digits in words joined by single hyphens, "
            f"at most {ROLE_NAME_MAX_LENGTH} characters"
        )
    return value


def _known_permissions(values: list[str]) -> list[str]:
    unknown = sorted(set(values) - set(rbac.PERMISSIONS))
    if unknown:
        raise ValueError(f"unknown permissions: {', '.join(unknown)}")
    return sorted(set(values))


RoleName = Annotated[
    str,
    Field(pattern=ROLE_NAME_FIELD_PATTERN, max_length=ROLE_NAME_MAX_LENGTH),
    AfterValidator(_role_name),
]
Description = Annotated[
    str,
    Field(max_length=255, pattern=NO_NUL_PATTERN),
    AfterValidator(refusing_nul("must not contain the NUL character")),
]
# The catalog is fixed in code, so the document can list every permission a role may have.
Permission = Annotated[
    str, Field(max_length=64, json_schema_extra={"enum": sorted(rbac.PERMISSIONS)})
]
PermissionList = Annotated[
    list[Permission],
    Field(max_length=len(rbac.PERMISSIONS) * 2),
    AfterValidator(_known_permissions),
]


class RoleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "moderator",
                "description": "Reads users and the audit log",
                "permissions": ["audit:read", "users:read"],
                "builtin": False,
            }
        }
    )

    name: str
    description: str
    permissions: list[str]
    builtin: bool


_BUILTIN_EXAMPLE: dict[str, Any] = {
    "name": rbac.ADMIN_ROLE,
    "description": "Every permission",
    "permissions": sorted(rbac.PERMISSIONS),
    "builtin": True,
}


class RoleList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"items": [_BUILTIN_EXAMPLE, RoleOut.model_json_schema()["example"]]}
        }
    )

    items: list[RoleOut]


class RoleCreate(BaseModel):
    """A custom role; its name must be free (else 409 ``ROLE_EXISTS``)."""

    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
        json_schema_extra={
            "example": {
                "name": "moderator",
                "description": "Reads users and the audit log",
                "permissions": ["audit:read", "users:read"],
            }
        },
    )

    name: RoleName
    description: Description = ""
    permissions: PermissionList


class RoleUpdate(BaseModel):
    """The role's permissions become exactly these; the description changes when sent."""

    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
        json_schema_extra={"example": {"permissions": ["audit:read", "users:read"]}},
    )

    permissions: PermissionList
    description: Description | None = None
