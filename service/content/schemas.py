"""Public content: the query parameters, the items and pages served, and the field rules the admin
API reuses (slug, category, tag names)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from service.kit.fields import END_OF_TEXT, NO_NUL_PATTERN, is_blank, refusing_nul
from service.kit.pagination import Page, PageQuery
from service.models import ContentKind, Difficulty

SLUG_MAX_LENGTH = 160
CATEGORY_MAX_LENGTH = 64
TAG_MAX_LENGTH = 64
MAX_TAGS = 20
QUERY_MAX_LENGTH = 200
# Field patterns are part of the OpenAPI document: they state exactly what the validators below
# accept, evaluated with Python's re (regex_engine="python-re") as JSON Schema tools evaluate them.
SLUG_FIELD_PATTERN = rf"^[a-z0-9]+(?:-[a-z0-9]+)*{END_OF_TEXT}"
SLUG_PATTERN = re.compile(SLUG_FIELD_PATTERN)
# Any case, lowered on the way in.
CATEGORY_FIELD_PATTERN = rf"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*{END_OF_TEXT}"
# Words of letters, digits and . + # _ - separated by whitespace (collapsed to single spaces).
TAG_FIELD_PATTERN = r"^\s*[\w.+#-]+(?:\s+[\w.+#-]+)*\s*$"


def is_slug(value: str, max_length: int = SLUG_MAX_LENGTH) -> bool:
    return len(value) <= max_length and bool(SLUG_PATTERN.match(value))


def _slug(value: str) -> str:
    if not is_slug(value):
        raise ValueError(
            "must be lowercase letters and digits in words joined by single hyphens, "
            f"at most {SLUG_MAX_LENGTH} characters"
        )
    return value


def _category(value: str) -> str:
    normalized = value.strip().lower()
    if not is_slug(normalized, CATEGORY_MAX_LENGTH):
        raise ValueError(
            "must be a lowercase slug (letters, digits, single hyphens), "
            f"at most {CATEGORY_MAX_LENGTH} characters"
        )
    return normalized


def normalize_tag(value: str) -> str:
    """Tags are stored stripped, lower-cased, with single spaces: ``" Deep  Dive"`` is
    ``"deep dive"``; filters and writes normalize the same way."""
    normalized = " ".join(value.split()).lower()
    if not normalized or len(normalized) > TAG_MAX_LENGTH or not normalized.isprintable():
        raise ValueError(f"must be 1-{TAG_MAX_LENGTH} printable characters")
    return normalized


no_nul = refusing_nul("must not contain NUL characters")


def _distinct_tags(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Slug = Annotated[
    str,
    Field(pattern=SLUG_FIELD_PATTERN, max_length=SLUG_MAX_LENGTH),
    AfterValidator(_slug),
]
Category = Annotated[
    str,
    Field(pattern=CATEGORY_FIELD_PATTERN, max_length=CATEGORY_MAX_LENGTH),
    AfterValidator(_category),
]
TagName = Annotated[
    str,
    Field(pattern=TAG_FIELD_PATTERN, max_length=TAG_MAX_LENGTH),
    AfterValidator(normalize_tag),
]
TagList = Annotated[list[TagName], Field(max_length=MAX_TAGS), AfterValidator(_distinct_tags)]


class FilterQuery(PageQuery):
    """A list's query parameters, where an empty value (``?tag=``) means the parameter is absent."""

    model_config = ConfigDict(extra="ignore", regex_engine="python-re")
    # Read by the OpenAPI document: an empty (or blank) value is valid for every parameter.
    EMPTY_MEANS_ABSENT: ClassVar[bool] = True

    @model_validator(mode="before")
    @classmethod
    def _empty_means_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not is_blank(str(value))}
        return data


SearchText = Annotated[
    str, Field(max_length=QUERY_MAX_LENGTH, pattern=NO_NUL_PATTERN), AfterValidator(no_nul)
]


class ContentListQuery(FilterQuery):
    """``?category=&tag=&kind=&q=&limit=&cursor=``."""

    category: Category | None = Field(default=None, description="Only this category.")
    tag: TagName | None = Field(default=None, description="Only items with this tag.")
    kind: ContentKind | None = Field(
        default=None, description="Only this kind: lesson, exercise or drill."
    )
    q: SearchText | None = Field(
        default=None,
        description="Full-text search of title and summary (web-search syntax: words, "
        '"a phrase", -excluded, or); results are ordered by relevance, then newest.',
    )

    def cache_key(self) -> str:
        """Every parameter that shapes the page, in a fixed order."""
        return self.model_dump_json(include={"category", "tag", "kind", "q", "limit", "cursor"})


_ITEM_EXAMPLE: dict[str, Any] = {
    "id": "6f1c2b1e-6a0e-4c2a-9f51-0e7f8f7c9d10",
    "slug": "sql-joins-warm-up",
    "title": "SQL joins warm-up",
    "summary": "Five short join exercises to start the day.",
    "kind": "drill",
    "category": "databases",
    "difficulty": "beginner",
    "duration_minutes": 10,
    "tags": ["sql", "warm-up"],
    "published_at": "2026-11-25T21:00:00Z",
}


class ContentFields(BaseModel):
    """What every view of a content item shows, public or administrative."""

    id: uuid.UUID
    slug: str
    title: str
    summary: str
    kind: ContentKind
    category: str
    difficulty: Difficulty
    duration_minutes: int
    tags: list[str]


class ContentItemOut(ContentFields):
    model_config = ConfigDict(json_schema_extra={"example": _ITEM_EXAMPLE})

    published_at: datetime


class ContentDetailOut(ContentItemOut):
    model_config = ConfigDict(
        json_schema_extra={"example": _ITEM_EXAMPLE | {"body": "# Warm-up\n\nJoin `users`..."}}
    )

    body: str


class ContentPage(Page[ContentItemOut]):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_ITEM_EXAMPLE], "next_cursor": "WyIyMDI2..."}}
    )


class TagCountOut(BaseModel):
    name: str
    content_count: int


class TagsOut(BaseModel):
    """Tags with at least one published item, by name."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "items": [
                    {"name": "sql", "content_count": 12},
                    {"name": "warm-up", "content_count": 3},
                ]
            }
        }
    )

    items: list[TagCountOut]
