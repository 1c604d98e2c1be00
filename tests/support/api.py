"""The API as tests call it: its paths, a valid body for the writes many tests make, and the
call that starts a practice session."""

from __future__ import annotations

from typing import Any

import httpx

from service.models import Content
from tests.support.factories import Account
from tests.support.servers import Api

API = "/api/v1"
REGISTER = f"{API}/auth/register"
LOGIN = f"{API}/auth/login"
REFRESH = f"{API}/auth/refresh"
LOGOUT = f"{API}/auth/logout"
ME = f"{API}/users/me"
CONTENT = f"{API}/content"
TAGS = f"{API}/tags"
SESSIONS = f"{API}/sessions"
HISTORY = f"{API}/history"
STATS = f"{API}/history/stats"
ADMIN_CONTENT = f"{API}/admin/content"


def new_content(**overrides: Any) -> dict[str, Any]:
    """A valid admin create body; ``overrides`` replace fields (a value of ``...`` drops one)."""
    body: dict[str, Any] = {
        "title": "Window functions",
        "summary": "Rank and number rows",
        "body": "# Window functions\n\nOVER (PARTITION BY ...)",
        "kind": "lesson",
        "category": "databases",
        "difficulty": "intermediate",
        "duration_minutes": 20,
        "tags": ["sql"],
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def start_session(
    api: Api, user: Account, item: Content, key: str | None = None, **body: Any
) -> httpx.Response:
    """``POST /sessions`` by ``user`` on ``item``, with an ``Idempotency-Key`` when given."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post(
        SESSIONS, token=user.token, json={"content_slug": item.slug, **body}, headers=headers
    )


def slugs(response: httpx.Response) -> list[str]:
    """The slugs of a content page, in order; the page must have been answered."""
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["items"]]
