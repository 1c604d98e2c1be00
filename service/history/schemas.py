"""Request and response models of the caller's practice history and statistics."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)

from service.history.queries import HistoryRow
from service.kit.fields import END_OF_TEXT
from service.kit.pagination import Page, PageQuery
from service.models import SessionStatus
from service.sessions.schemas import (
    SESSION_EXAMPLE,
    SESSION_FIELD_NAMES,
    SessionContentOut,
    SessionOut,
)

# RFC 3339 with an offset, in years 1000-9998 (an offset can push the ends out of range in UTC)
# and without leap seconds (Python's datetime has none); also the OpenAPI document's pattern.
RFC3339_PATTERN = (
    r"^(?:[1-8]\d{3}|9(?:[0-8]\d{2}|9[0-8]\d|99[0-8]))-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"[Tt](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
    + END_OF_TEXT
)
_RFC3339 = re.compile(RFC3339_PATTERN)


def _rfc3339(value: Any) -> Any:
    """Only RFC 3339 date-times with an offset: a bare date, a number or a local time is
    ambiguous. A '+' offset must be sent percent-encoded (%2B) in a query string."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-01-31T00:00:00Z")
    return value


def _representable_in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("is out of range") from exc


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_representable_in_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339_PATTERN}),
]


class HistoryQuery(PageQuery):
    status: SessionStatus | None = Field(default=None, description="Only sessions in this status.")
    since: Timestamp | None = Field(default=None, description="Inclusive, on started_at.")
    until: Timestamp | None = Field(default=None, description="Exclusive, on started_at.")


class HistoryContentOut(SessionContentOut):
    tags: list[str]


class HistoryItemOut(SessionOut):
    model_config = ConfigDict(
        json_schema_extra={
            "example": SESSION_EXAMPLE
            | {
                "content": SESSION_EXAMPLE["content"] | {"tags": ["lists", "python"]},
                "event_count": 3,
            }
        }
    )

    content: HistoryContentOut
    event_count: int


def history_item(row: HistoryRow) -> dict[str, Any]:
    """A ``HistoryItemOut`` as plain data, built without the model: a page of them costs a
    fifteenth as much (tests/history hold it to the model's schema and rendering)."""
    return {
        **{name: getattr(row, name) for name in SESSION_FIELD_NAMES},
        "content": {
            "slug": row.content_slug,
            "title": row.content_title,
            "kind": row.content_kind,
            "category": row.content_category,
            "difficulty": row.content_difficulty,
            "duration_minutes": row.content_duration_minutes,
            "tags": row.content_tags,
        },
        "event_count": row.event_count,
    }


_HISTORY_ITEM_EXAMPLE = SESSION_EXAMPLE | {
    "content": SESSION_EXAMPLE["content"] | {"tags": ["lists", "python"]},
    "event_count": 3,
}


class HistoryPage(Page[HistoryItemOut]):
    model_config = ConfigDict(
        json_schema_extra={"example": {"items": [_HISTORY_ITEM_EXAMPLE], "next_cursor": None}}
    )


class CategoryStatsOut(BaseModel):
    category: str
    sessions: int = Field(description="Sessions of any status on content of this category.")
    minutes: int = Field(description="Minutes of completed sessions in this category.")


class StatsOut(BaseModel):
    """The caller's practice totals, computed over all of their sessions.

    - ``total_sessions``: sessions in any status (active, completed, abandoned).
    - ``total_minutes``: the summed ``duration_seconds`` of **completed** sessions, divided by 60
      and rounded down (once, over the total; each category's minutes the same way over its
      own total, so categories can sum to a little less). Active sessions have no duration yet;
      abandoned ones are left out so that a session forgotten for days does not count as days
      of practice.
    - A **practice day** is a UTC calendar day on which the caller started a session that they
      went on to complete.
    - ``current_streak_days``: consecutive practice days ending today or yesterday (UTC), so a
      streak stays alive until a whole day passes without practice; else 0.
    - ``longest_streak_days``: the most consecutive practice days ever.
    - ``by_category``: per content category, most sessions first, then by name.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "total_sessions": 12,
                "completed_sessions": 9,
                "total_minutes": 131,
                "current_streak_days": 3,
                "longest_streak_days": 5,
                "by_category": [
                    {"category": "python", "sessions": 8, "minutes": 97},
                    {"category": "sql", "sessions": 4, "minutes": 34},
                ],
            }
        }
    )

    total_sessions: int
    completed_sessions: int
    total_minutes: int
    current_streak_days: int
    longest_streak_days: int
    by_category: list[CategoryStatsOut]
