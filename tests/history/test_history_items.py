"""History items are written straight from rows, without a model per item: each must be exactly
what the documented ``HistoryItemOut`` model would have written."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import orjson
import pytest
from asyncpg.pgproto.pgproto import UUID

from service.history.queries import HistoryRow
from service.history.schemas import HistoryContentOut, HistoryItemOut, history_item
from service.kit.web import json_bytes

COMPLETED = HistoryRow(
    id=UUID(str(uuid.uuid4())),  # asyncpg's own UUID type, as rows carry it
    status="completed",
    progress=100,
    notes="Ünïcode notes, \u200d and \U0001f600",
    score=87.5,
    started_at=datetime(2026, 11, 25, 21, 0, 0, tzinfo=UTC),
    ended_at=datetime(2026, 11, 25, 21, 14, 5, 123456, tzinfo=UTC),
    duration_seconds=845,
    updated_at=datetime(2026, 11, 25, 21, 14, 5, 123456, tzinfo=UTC),
    content_slug="python-list-basics",
    content_title="Python list basics",
    content_kind="lesson",
    content_category="python",
    content_difficulty="beginner",
    content_duration_minutes=15,
    content_tags=["lists", "python"],
    event_count=3,
)
ACTIVE = replace(
    COMPLETED,
    status="active",
    progress=40,
    score=None,
    ended_at=None,
    duration_seconds=None,
    content_tags=[],
    event_count=0,
)


@pytest.mark.parametrize("row", [COMPLETED, ACTIVE], ids=["completed", "active"])
def test_an_item_is_written_as_the_model_writes_it(row: HistoryRow) -> None:
    item = history_item(row)

    modelled = HistoryItemOut.model_validate(item).model_dump(mode="json")

    assert orjson.loads(json_bytes(item)) == modelled


def test_an_item_has_exactly_the_models_fields() -> None:
    item = history_item(COMPLETED)

    assert set(item) == set(HistoryItemOut.model_fields)
    assert set(item["content"]) == set(HistoryContentOut.model_fields)
