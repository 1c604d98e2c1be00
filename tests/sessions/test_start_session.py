"""POST /api/v1/sessions: starting a practice session on published content, at most 5 active."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.api import SESSIONS, start_session
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.rows import session_count
from tests.support.servers import Api, Server


def test_start_answers_201_with_an_active_session_and_its_content(
    api: Api, make: Factories
) -> None:
    user = make.user()
    item = make.content(title="List basics", kind="exercise", category="python")

    response = start_session(api, user, item)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "active"
    assert body["progress"] == 0
    assert body["notes"] == ""
    assert body["score"] is None
    assert body["ended_at"] is None
    assert body["duration_seconds"] is None
    assert body["content"] == {
        "slug": item.slug,
        "title": "List basics",
        "kind": "exercise",
        "category": "python",
        "difficulty": "beginner",
        "duration_minutes": 10,
    }
    started_at = datetime.fromisoformat(body["started_at"])
    assert started_at.utcoffset() is not None
    assert abs((datetime.now(UTC) - started_at).total_seconds()) < 60


def test_a_started_session_can_be_read_back_by_its_id(api: Api, make: Factories) -> None:
    user = make.user()
    created = start_session(api, user, make.content()).json()

    response = api.get(f"{SESSIONS}/{created['id']}", token=user.token)

    assert response.status_code == 200
    assert response.json() == created


def test_starting_on_an_unknown_slug_is_404(api: Api, make: Factories, server: Server) -> None:
    user = make.user()

    response = api.post(SESSIONS, token=user.token, json={"content_slug": "no-such-thing"})

    assert_problem(response, 404, "NOT_FOUND")
    assert session_count(server, user) == 0


def test_starting_on_unpublished_content_is_404(api: Api, make: Factories, server: Server) -> None:
    user = make.user()
    draft = make.content(published=False)

    assert_problem(start_session(api, user, draft), 404, "NOT_FOUND")
    assert session_count(server, user) == 0


def test_a_sixth_active_session_is_refused_with_session_limit(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    for _ in range(5):
        assert start_session(api, user, item).status_code == 201

    response = start_session(api, user, item)

    assert_problem(response, 409, "SESSION_LIMIT")
    assert session_count(server, user) == 5


def test_closed_sessions_do_not_count_toward_the_limit(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    make.practice_session(user, item, status="completed")
    make.practice_session(user, item, status="abandoned")
    for _ in range(4):
        make.practice_session(user, item)

    assert start_session(api, user, item).status_code == 201
    assert_problem(start_session(api, user, item), 409, "SESSION_LIMIT")


def test_the_limit_counts_only_the_callers_own_sessions(api: Api, make: Factories) -> None:
    busy, other = make.user(), make.user()
    item = make.content()
    for _ in range(5):
        make.practice_session(busy, item)

    assert start_session(api, other, item).status_code == 201


def test_two_concurrent_starts_at_four_active_sessions_admit_exactly_one(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    for _ in range(4):
        make.practice_session(user, item)
    body = {"content_slug": item.slug}

    responses = api.gather(
        *(lambda http: http.post(SESSIONS, json=body, headers=user.auth) for _ in range(4))
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert session_count(server, user) == 5


def test_starting_without_a_token_is_auth_required(api: Api, make: Factories) -> None:
    response = api.post(SESSIONS, json={"content_slug": make.content().slug})

    assert_problem(response, 401, "AUTH_REQUIRED")


def test_starting_with_a_garbage_token_is_token_invalid(api: Api, make: Factories) -> None:
    response = api.post(SESSIONS, token="not-a-jwt", json={"content_slug": make.content().slug})

    assert_problem(response, 401, "TOKEN_INVALID")


def test_a_body_without_content_slug_is_422_naming_the_field(api: Api, make: Factories) -> None:
    response = api.post(SESSIONS, token=make.user().token, json={})

    assert_problem(response, 422, "VALIDATION_FAILED")
    assert response.json()["errors"][0]["field"] == "content_slug"


def test_unknown_body_fields_are_422(api: Api, make: Factories) -> None:
    user = make.user()
    response = start_session(api, user, make.content(), progress=50)

    assert_problem(response, 422, "VALIDATION_FAILED")


def test_a_slug_with_a_nul_character_is_422_not_a_server_error(api: Api, make: Factories) -> None:
    response = api.post(SESSIONS, token=make.user().token, json={"content_slug": "a\u0000b"})

    assert_problem(response, 422, "VALIDATION_FAILED")
