"""Admin content: create and update bodies, the list query, and the items answered (any status)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from service.content.schemas import (
    Category,
    ContentFields,
    FilterQuery,
    SearchText,
    Slug,
    TagList,
    no_nul,
)
from service.kit.fields import NO_NUL_PATTERN, NON_BLANK_PATTERN, non_blank
from service.kit.pagination import Page
from service.models import ContentKind, ContentStatus, Difficulty

MAX_DURATION_MINUTES = 24 * 60
# Small enough that any body the schema allows, even JSON-escaped (up to 12 bytes a character),
# fits the 1 MiB request limit: a valid body is never refused as too large.
MAX_BODY_CHARACTERS = 50_000
# Something besides whitespace, and no NUL.


Title = Annotated[
    str,
    Field(max_length=200, pattern=NON_BLANK_PATTERN),
    AfterValidator(no_nul),
    AfterValidator(non_blank),
]
Summary = Annotated[str, Field(max_length=1000, pattern=NO_NUL_PATTERN), AfterValidator(no_nul)]
Body = Annotated[
    str, Field(max_length=MAX_BODY_CHARACTERS, pattern=NO_NUL_PATTERN), AfterValidator(no_nul)
]
# Strict: "10", 10.5 and true are not durations.
Duration = Annotated[int, Field(strict=True, ge=1, le=MAX_DURATION_MINUTES)]

_WRITE_EXAMPLE: dict[str, Any] = {
    "title": "SQL joins warm-up",
    "summary": "Five short join exercises to start the day.",
    "body": "# Warm-up\n\nJoin `users` to `orders`...",
    "kind": "drill",
    "category": "databases",
    "difficulty": "beginner",
    "duration_minutes": 10,
    "tags": ["sql", "warm-up"],
}


class ContentCreate(BaseModel):
    """A new item, saved as a draft. ``slug`` is derived from the title when absent (made unique
    with a ``-2``, ``-3``... suffix); an explicit slug that is taken is a 409 ``SLUG_TAKEN``.
    Tags are stripped and lower-cased, duplicates dropped, created on first use."""

    model_config = ConfigDict(
        extra="forbid", regex_engine="python-re", json_schema_extra={"example": _WRITE_EXAMPLE}
    )

    title: Title
    summary: Summary
    body: Body
    kind: ContentKind
    category: Category
    difficulty: Difficulty
    duration_minutes: Duration
    tags: TagList
    slug: Slug | None = None


def _fields_not_nullable(schema: dict[str, Any]) -> None:
    """The document of ContentUpdate: a field may be left out, never sent as null."""
    for field in schema["properties"].values():
        variants = field.pop("anyOf", None)
        if variants is not None:
            field.update(next(v for v in variants if v != {"type": "null"}))
        field.pop("default", None)
    schema["example"] = {"title": "SQL joins: warm-up", "tags": ["sql"]}


class ContentUpdate(BaseModel):
    """Only the fields sent change; ``tags``, when sent, replaces the item's tags."""

    model_config = ConfigDict(
        extra="forbid", regex_engine="python-re", json_schema_extra=_fields_not_nullable
    )

    title: Title | None = None
    summary: Summary | None = None
    body: Body | None = None
    kind: ContentKind | None = None
    category: Category | None = None
    difficulty: Difficulty | None = None
    duration_minutes: Duration | None = None
    tags: TagList | None = None
    slug: Slug | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Absent means "unchanged"; null would mean "erase", which no field allows.
        if value is None:
            raise ValueError("must not be null; leave the field out to keep it")
        return value


class AdminContentQuery(FilterQuery):
    """``?status=&q=&limit=&cursor=``: newest created first; ``q`` matches a substring of the
    title or slug, case-insensitively (finding an item, not ranking a search)."""

    status: ContentStatus | None = Field(default=None, description="draft or published.")
    q: SearchText | None = Field(
        default=None, description="Case-insensitive substring of the title or slug."
    )


_ITEM_EXAMPLE: dict[str, Any] = {
    "id": "6f1c2b1e-6a0e-4c2a-9f51-0e7f8f7c9d10",
    "slug": "sql-joins-warm-up",
    **{k: v for k, v in _WRITE_EXAMPLE.items() if k != "body"},
    "status": "draft",
    "published_at": None,
    "author_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "created_at": "2026-11-25T21:00:00Z",
    "updated_at": "2026-11-25T21:05:00Z",
}


class AdminContentItemOut(ContentFields):
    model_config = ConfigDict(json_schema_extra={"example": _ITEM_EXAMPLE})

    status: ContentStatus
    published_at: datetime | None
    author_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class AdminContentOut(AdminContentItemOut):
    model_config = ConfigDict(
        json_schema_extra={"example": _ITEM_EXAMPLE | {"body": _WRITE_EXAMPLE["body"]}}
    )

    body: str


class AdminContentPage(Page[AdminContentItemOut]):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_ITEM_EXAMPLE], "next_cursor": None}}
    )
