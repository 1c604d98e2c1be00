from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.kit.fields import NO_NUL_PATTERN, NON_BLANK_PATTERN, non_blank, refusing_nul

# ASCII whitespace, spelled out: regex engines (Python's, Rust's in pydantic-core, a client's
# JSON-schema validator) disagree on what ``\s`` matches beyond it.
_SPACE = " \t\n\r\f\v"
_EMAIL = re.compile(rf"^[^@{_SPACE}]{{1,64}}@[^@{_SPACE}]+\.[^@{_SPACE}]+$")
# What _normalized_email accepts before stripping and lower-casing, for the OpenAPI document.
EMAIL_FIELD_PATTERN = (
    rf"^[{_SPACE}]*[^@{_SPACE}\x00]{{1,64}}@[^@{_SPACE}\x00]+\.[^@{_SPACE}\x00]+[{_SPACE}]*$"
)


# RFC 5321's limit on an address (64 local + @ + 255 domain).
MAX_EMAIL_CHARS = 320


def _normalized_email(value: str) -> str:
    email = value.strip(_SPACE)
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):
        raise ValueError("must be an email address")
    return email.lower()


# PostgreSQL text cannot hold U+0000: refused here (422) before any hashing or query.
_no_nul = refusing_nul("must not contain the NUL character")
# Each field's pattern states, for the OpenAPI document, what its validators accept; the
# constraints come before the validators, or Pydantic leaves them out of the JSON schema.
Text = Annotated[str, Field(pattern=NO_NUL_PATTERN), AfterValidator(_no_nul)]
Email = Annotated[
    str,
    Field(pattern=EMAIL_FIELD_PATTERN, max_length=MAX_EMAIL_CHARS, examples=["ada@example.com"]),
    AfterValidator(_no_nul),
    AfterValidator(_normalized_email),
]
DisplayName = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=NON_BLANK_PATTERN),
    AfterValidator(_no_nul),
    AfterValidator(non_blank),
]
Password = Annotated[
    str, Field(min_length=8, max_length=256, pattern=NO_NUL_PATTERN), AfterValidator(_no_nul)
]


class RegisterRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        regex_engine="python-re",
        json_schema_extra={
            "example": {
                "email": "ada@example.com",
                "password": "correct horse battery",
                "display_name": "Ada",
            }
        },
    )

    email: Email
    password: Password
    display_name: DisplayName


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"email": "ada@example.com", "password": "correct horse"}},
    )

    email: Annotated[Text, Field(max_length=320)]
    password: Annotated[Text, Field(max_length=256)]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"refresh_token": "b1F3...Qw"}}
    )

    refresh_token: Annotated[Text, Field(min_length=1, max_length=512)]


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "access_token": "eyJhbGciOiJIUzI1NiJ9...",
                "refresh_token": "b1F3...Qw",
                "token_type": "bearer",
                "expires_in": 900,
            }
        }
    )

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a token
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                "email": "ada@example.com",
                "display_name": "Ada",
                "roles": ["member"],
                "created_at": "2026-11-25T21:00:00+00:00",
            }
        }
    )

    id: uuid.UUID
    email: str
    display_name: str
    roles: list[str]
    created_at: datetime


class MeOut(UserOut):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                "email": "ada@example.com",
                "display_name": "Ada",
                "roles": ["editor", "member"],
                "permissions": ["content:delete", "content:publish", "content:read"],
                "created_at": "2026-11-25T21:00:00+00:00",
            }
        }
    )

    permissions: list[str]
