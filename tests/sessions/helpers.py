"""Small helpers shared by the session tests."""

from __future__ import annotations

from typing import Any

import httpx

from service.models import Content, PracticeSession, SessionEvent
from tests.conftest import Api, Server
from tests.factories import TestUser

SESSIONS = "/api/v1/sessions"


def start(
    api: Api, user: TestUser, item: Content, key: str | None = None, **body: Any
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post(
        SESSIONS, token=user.token, json={"content_slug": item.slug, **body}, headers=headers
    )


def session_count(server: Server, user: TestUser) -> int:
    return server.run(PracticeSession.filter(user_id=user.id).count())


def event_count(server: Server, session_id: str) -> int:
    return server.run(SessionEvent.filter(session_id=session_id).count())


def stored_session(server: Server, session_id: str) -> PracticeSession:
    return server.run(PracticeSession.get(id=session_id))


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
