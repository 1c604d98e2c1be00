"""Request and response models of practice sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from service.kit.fields import refusing_nul
from service.models import ContentKind, Difficulty, SessionStatus
from service.sessions.queries import SessionRow

ACTIVE_SESSION_LIMIT = 5
MAX_NOTES_CHARS = 10_000
MAX_EVENT_DATA_BYTES = 16 * 1024
# Deeper documents than this are refused (422) so that serializing them can never fail.
MAX_EVENT_DATA_DEPTH = 32
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_CHARS = 255
REPLAYED_HEADER = "Idempotent-Replayed"


_without_nul = refusing_nul("must not contain the NUL character")


def _json_object_storable(value: dict[str, Any]) -> dict[str, Any]:
    """Walk the document iteratively (no recursion limit to hit): no NUL, bounded nesting."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_EVENT_DATA_DEPTH:
            raise ValueError(f"must not nest deeper than {MAX_EVENT_DATA_DEPTH} levels")
        if isinstance(node, str):
            _without_nul(node)
        elif isinstance(node, dict):
            pending.extend((key, depth) for key in node)
            pending.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            pending.extend((child, depth + 1) for child in node)
    return value


Text = Annotated[str, Field(pattern=r"^[^\x00]*$"), AfterValidator(_without_nul)]
Notes = Annotated[Text, Field(max_length=MAX_NOTES_CHARS)]
Progress = Annotated[int, Field(ge=0, le=100, strict=True)]
Score = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False, strict=True)]


def _closed(schema: dict[str, Any]) -> None:
    # Pydantic states the key rule as patternProperties; other keys must not be allowed either.
    schema["additionalProperties"] = False


# JSON that PostgreSQL's jsonb can store: no NUL in any string, keys included. Validated (and
# documented, recursively) by Pydantic; _json_object_storable adds the nesting limit.
if TYPE_CHECKING:  # mypy cannot resolve a recursive TypeAliasType before Python 3.12's `type`
    StorableJson = Any
else:
    StorableJson = TypeAliasType(
        "StorableJson",
        Union[  # noqa: UP007 - a recursive alias needs the Union spelled out
            Text,
            int,
            float,
            bool,
            None,
            list["StorableJson"],
            Annotated[dict[Text, "StorableJson"], Field(json_schema_extra=_closed)],
        ],
    )
EventData = Annotated[
    dict[Text, StorableJson],
    Field(json_schema_extra=_closed),
    AfterValidator(_json_object_storable),
]


class StartSessionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"content_slug": "python-list-basics"}}
    )

    content_slug: Annotated[Text, Field(min_length=1, max_length=160)] = Field(
        description="Slug of a published content item."
    )


class UpdateSessionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"progress": 40, "notes": "Stuck on slicing."}},
    )

    progress: Progress | None = Field(
        default=None, description="0–100; absent or null leaves it unchanged."
    )
    notes: Notes | None = Field(
        default=None,
        description=f"Up to {MAX_NOTES_CHARS} characters; absent or null leaves it unchanged.",
    )


class EventRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"kind": "hint_shown", "data": {"hint": 2}}},
    )

    kind: Annotated[Text, Field(min_length=1, max_length=64)]
    data: EventData = Field(
        default_factory=dict,
        description=f"A JSON object of at most {MAX_EVENT_DATA_BYTES} bytes serialized "
        f"(larger: 413) and {MAX_EVENT_DATA_DEPTH} levels of nesting.",
    )


class CompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"score": 87.5}})

    score: Score | None = Field(default=None, description="A number 0–100.")


class SessionContentOut(BaseModel):
    slug: str
    title: str
    kind: ContentKind
    category: str
    difficulty: Difficulty
    duration_minutes: int


SESSION_EXAMPLE: dict[str, Any] = {
    "id": "8a1d2c4e-5b6f-4a7b-9c8d-0e1f2a3b4c5d",
    "content": {
        "slug": "python-list-basics",
        "title": "Python list basics",
        "kind": "lesson",
        "category": "python",
        "difficulty": "beginner",
        "duration_minutes": 15,
    },
    "status": "completed",
    "progress": 100,
    "notes": "",
    "score": 87.5,
    "started_at": "2026-11-25T21:00:00+00:00",
    "ended_at": "2026-11-25T21:14:05+00:00",
    "duration_seconds": 845,
    "updated_at": "2026-11-25T21:14:05+00:00",
}


class SessionOut(BaseModel):
    """A practice session; ``ended_at`` and ``duration_seconds`` are set once it is closed."""

    model_config = ConfigDict(json_schema_extra={"example": SESSION_EXAMPLE})

    id: uuid.UUID
    content: SessionContentOut
    status: SessionStatus
    progress: int
    notes: str
    score: float | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None = Field(description="ended_at − started_at in whole seconds.")
    updated_at: datetime

    @classmethod
    def from_row(cls, row: SessionRow) -> SessionOut:
        """From a row of ``queries.SESSION_COLUMNS``."""
        return cls(content=content_of(row), **session_fields(row))


def content_of(row: SessionRow) -> SessionContentOut:
    return SessionContentOut(
        slug=row.content_slug,
        title=row.content_title,
        kind=ContentKind(row.content_kind),
        category=row.content_category,
        difficulty=Difficulty(row.content_difficulty),
        duration_minutes=row.content_duration_minutes,
    )


SESSION_FIELD_NAMES = tuple(name for name in SessionOut.model_fields if name != "content")


def session_fields(row: SessionRow) -> dict[str, Any]:
    """The session's own columns of a row, without its content."""
    return {name: getattr(row, name) for name in SESSION_FIELD_NAMES}


class EventOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "42",
                "session_id": "8a1d2c4e-5b6f-4a7b-9c8d-0e1f2a3b4c5d",
                "kind": "hint_shown",
                "data": {"hint": 2},
                "created_at": "2026-11-25T21:03:10+00:00",
            }
        }
    )

    id: str
    session_id: uuid.UUID
    kind: str
    data: dict[str, Any]
    created_at: datetime
