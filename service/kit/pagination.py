"""Cursor (keyset) pagination: ``?limit=&cursor=`` in, ``{"items", "next_cursor"}`` out.

A cursor is the sort key of the last item served, so pages stay stable while rows are inserted:
no duplicates and no gaps when walking them, unlike OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

from service.kit.errors import ApiError, validation_error

T = TypeVar("T")
ItemT = TypeVar("ItemT")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# A search rank (ts_rank) is a small non-negative real; a cursor claiming anything else was not
# issued here.
MAX_RANK = 1e6


class PageQuery(BaseModel):
    """Query parameters every list endpoint accepts; subclass to add filters."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    cursor: str | None = Field(
        default=None,
        max_length=512,
        # An opaque format: only a next_cursor this API answered is a cursor.
        json_schema_extra={"format": "cursor"},
        description="The `next_cursor` of the previous page; opaque.",
    )


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The sort key a cursor carries; 422 on anything this API did not issue."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise bad_cursor() from exc
    if not isinstance(key, list) or len(key) != arity:
        raise bad_cursor()
    return key


@dataclass(frozen=True)
class Keyset:
    """Where a newest-first page resumes: after the item with this (time, id), led by its search
    rank on pages ordered by relevance. A cursor is the encoded ``sort_key()``. Ids are UUIDs,
    or whole numbers for tables numbered by a sequence (``numbered``: the audit log)."""

    moment: datetime
    id: uuid.UUID | int
    rank: float | None = None

    def sort_key(self) -> list[Any]:
        item_id = self.id if isinstance(self.id, int) else str(self.id)
        key: list[Any] = [self.moment.isoformat(), item_id]
        return key if self.rank is None else [self.rank, *key]

    @classmethod
    def from_cursor(
        cls, cursor: str | None, ranked: bool = False, numbered: bool = False
    ) -> Keyset | None:
        """The keyset a cursor carries (None without a cursor); 422 on anything this API could
        not have issued. The one way every list decodes its cursor. An empty ``?cursor=`` is no
        cursor, as an absent one is."""
        if not cursor:
            return None
        key = decode_cursor(cursor, 3 if ranked else 2)
        rank = _cursor_rank(key.pop(0)) if ranked else None
        moment, item_id = key
        parsed_id = _cursor_number(item_id) if numbered else _cursor_id(item_id)
        return cls(_cursor_time(moment), parsed_id, rank)


def _cursor_time(value: Any) -> datetime:
    """A timestamp part of a cursor: ISO 8601 with an offset, as this API writes them."""
    if not isinstance(value, str):
        raise bad_cursor()
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a cursor's time has an offset")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise bad_cursor() from exc


def _cursor_id(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise bad_cursor()
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise bad_cursor() from exc


# A bigint column: a larger number cannot have been issued, and would fail in the database.
MAX_NUMBERED_ID = 2**63 - 1


def _cursor_number(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_NUMBERED_ID:
        raise bad_cursor()
    return value


def _cursor_rank(value: Any) -> float:
    valid = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= MAX_RANK
    )
    if not valid:
        raise bad_cursor()
    return float(value)


def bad_cursor() -> ApiError:
    return validation_error("cursor", "not a cursor this API issued")


def paginate(
    rows: Sequence[T], limit: int, key_of: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """Given up to ``limit + 1`` rows in order, the page and the cursor of the next one."""
    page = list(rows[:limit])
    if len(rows) > limit and page:
        return page, encode_cursor(key_of(page[-1]))
    return page, None
