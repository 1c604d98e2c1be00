"""Loaded by Schemathesis (its own venv: only the standard library, schemathesis and hypothesis).

A cursor is opaque: the only valid ones are the ``next_cursor`` values the API answered, which a
JSON schema cannot describe, so the document gives cursors the format ``cursor`` and this says
how to make one: the base64url JSON of a sort key, as the service encodes it (``numbered-cursor``
for the audit log, whose ids are a sequence). Which roles exist is state too: valid role
assignments name roles that do. The checks are Schemathesis's own; this only teaches its
generator what valid data is."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from datetime import UTC, datetime
from typing import Any

import schemathesis
from hypothesis import strategies as st

SEARCH_PATH = "/api/v1/content"
# A search page is ordered by rank first: its cursors carry the rank before the time and id.
SEARCH_RANK = 0.5
# The audit log is numbered by a sequence: its cursors (``numbered-cursor``) carry a positive
# bigint, not a UUID.
MAX_NUMBERED_ID = 2**63 - 1
# Which roles exist is state, not schema: a valid PUT .../roles names roles that do (these are
# built in), as a valid cursor is one the API issued. Unknown names stay a documented 422.
ROLES_PATH = "/api/v1/admin/users/{user_id}/roles"
BUILTIN_ROLES = ("admin", "editor", "member")


def encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        return None


_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
schemathesis.openapi.format(
    "cursor",
    st.tuples(_moments, st.uuids()).map(lambda key: encode([key[0].isoformat(), str(key[1])])),
)
schemathesis.openapi.format(
    "numbered-cursor",
    st.tuples(_moments, st.integers(1, MAX_NUMBERED_ID)).map(
        lambda key: encode([key[0].isoformat(), key[1]])
    ),
)


def search_cursor(query: dict[str, Any]) -> None:
    """On a search (``q`` given), a generated (time, id) cursor becomes a (rank, time, id) one."""
    cursor, search = query.get("cursor"), str(query.get("q") or "").strip()
    key = decode(cursor) if isinstance(cursor, str) and search else None
    if isinstance(key, list) and len(key) == 2:
        query["cursor"] = encode([SEARCH_RANK, *key])


def _digest(value: Any) -> int:
    """Stable across runs (unlike ``hash``), so a seeded run repeats itself."""
    return zlib.crc32(str(value).encode())


@schemathesis.hook  # type: ignore[untyped-decorator]
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> Any:
    """Valid data is what the API could have issued: a search's cursor carries a rank, and on a
    schema-valid PUT .../roles each generated role name becomes a role that exists. A case hook,
    since the coverage phase applies case hooks only (no ``map_query``)."""
    if case.operation.path == SEARCH_PATH and isinstance(case.query, dict):
        search_cursor(case.query)
    meta = case.meta
    positive = meta is not None and meta.generation.mode.is_positive
    if case.operation.path == ROLES_PATH and positive and isinstance(case.body, dict):
        roles = case.body.get("roles")
        if isinstance(roles, list):
            case.body["roles"] = [BUILTIN_ROLES[_digest(r) % len(BUILTIN_ROLES)] for r in roles]
    return case
