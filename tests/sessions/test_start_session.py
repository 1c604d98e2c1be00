"""POST /api/v1/sessions: starting a practice session on published content, at most 5 active."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.sessions.helpers import SESSIONS, assert_problem, session_count, start


def test_start_answers_201_with_an_active_session_and_its_content(api, make):
    user = make.user()
    item = make.content(title="List basics", kind="exercise", category="python")

    response = start(api, user, item)

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


def test_a_started_session_can_be_read_back_by_its_id(api, make):
    user = make.user()
    created = start(api, user, make.content()).json()

    response = api.get(f"{SESSIONS}/{created['id']}", token=user.token)

    assert response.status_code == 200
    assert response.json() == created


def test_starting_on_an_unknown_slug_is_404(api, make, server):
    user = make.user()

    response = api.post(SESSIONS, token=user.token, json={"content_slug": "no-such-thing"})

    assert_problem(response, 404, "NOT_FOUND")
    assert session_count(server, user) == 0


def test_starting_on_unpublished_content_is_404(api, make, server):
    user = make.user()
    draft = make.content(published=False)

    assert_problem(start(api, user, draft), 404, "NOT_FOUND")
    assert session_count(server, user) == 0


def test_a_sixth_active_session_is_refused_with_session_limit(api, make, server):
    user = make.user()
    item = make.content()
    for _ in range(5):
        assert start(api, user, item).status_code == 201

    response = start(api, user, item)

    assert_problem(response, 409, "SESSION_LIMIT")
    assert session_count(server, user) == 5


def test_closed_sessions_do_not_count_toward_the_limit(api, make):
    user = make.user()
    item = make.content()
    make.practice_session(user, item, status="completed")
    make.practice_session(user, item, status="abandoned")
    for _ in range(4):
        make.practice_session(user, item)

    assert start(api, user, item).status_code == 201
    assert_problem(start(api, user, item), 409, "SESSION_LIMIT")


def test_the_limit_counts_only_the_callers_own_sessions(api, make):
    busy, other = make.user(), make.user()
    item = make.content()
    for _ in range(5):
        make.practice_session(busy, item)

    assert start(api, other, item).status_code == 201


def test_two_concurrent_starts_at_four_active_sessions_admit_exactly_one(api, make, server):
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


def test_starting_without_a_token_is_auth_required(api, make):
    response = api.post(SESSIONS, json={"content_slug": make.content().slug})

    assert_problem(response, 401, "AUTH_REQUIRED")


def test_starting_with_a_garbage_token_is_token_invalid(api, make):
    response = api.post(SESSIONS, token="not-a-jwt", json={"content_slug": make.content().slug})

    assert_problem(response, 401, "TOKEN_INVALID")


def test_a_body_without_content_slug_is_422_naming_the_field(api, make):
    response = api.post(SESSIONS, token=make.user().token, json={})

    assert_problem(response, 422, "VALIDATION_FAILED")
    assert response.json()["errors"][0]["field"] == "content_slug"


def test_unknown_body_fields_are_422(api, make):
    user = make.user()
    response = start(api, user, make.content(), progress=50)

    assert_problem(response, 422, "VALIDATION_FAILED")


def test_a_slug_with_a_nul_character_is_422_not_a_server_error(api, make):
    response = api.post(SESSIONS, token=make.user().token, json={"content_slug": "a\u0000b"})

    assert_problem(response, 422, "VALIDATION_FAILED")


def test_a_json_body_sent_as_text_plain_is_415(api, make):
    response = api.post(
        SESSIONS,
        token=make.user().token,
        content=b'{"content_slug": "x"}',
        headers={"Content-Type": "text/plain"},
    )

    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_malformed_json_body_is_400(api, make):
    response = api.post(
        SESSIONS,
        token=make.user().token,
        content=b'{"content_slug": ',
        headers={"Content-Type": "application/json"},
    )

    assert_problem(response, 400, "MALFORMED_JSON")
