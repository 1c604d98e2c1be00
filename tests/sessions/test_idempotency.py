"""Idempotency-Key on POST /api/v1/sessions: retries replay the first answer, never repeat it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from service.models import Content, IdempotencyKey, PracticeSession
from tests.support.api import SESSIONS, start_session
from tests.support.factories import Account, Factories
from tests.support.problems import assert_problem
from tests.support.rows import session_count
from tests.support.servers import Api, Server

REPLAYED = "Idempotent-Replayed"


def test_a_retry_with_the_same_key_and_body_replays_the_first_answer_and_creates_nothing(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    first = start_session(api, user, item, key="retry-1")

    retry = start_session(api, user, item, key="retry-1")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers
    assert session_count(server, user) == 1


def test_a_replay_is_the_first_answer_even_after_the_session_changed(
    api: Api, make: Factories
) -> None:
    user = make.user()
    item = make.content()
    first = start_session(api, user, item, key="k").json()
    api.post(f"{SESSIONS}/{first['id']}/complete", token=user.token)

    replay = start_session(api, user, item, key="k").json()

    assert replay["status"] == "active"
    assert replay == first


def test_the_same_key_with_a_different_body_is_409_idempotency_key_reused(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    start_session(api, user, make.content(), key="k")

    response = start_session(api, user, make.content(), key="k")

    assert_problem(response, 409, "IDEMPOTENCY_KEY_REUSED")
    assert session_count(server, user) == 1


def test_the_body_is_compared_as_json_not_as_bytes(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    start_session(api, user, item, key="k")

    retry = api.post(
        SESSIONS,
        token=user.token,
        content=f'{{ "content_slug" :   "{item.slug}" }}'.encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "k"},
    )

    assert retry.status_code == 201
    assert retry.headers[REPLAYED] == "true"
    assert session_count(server, user) == 1


def test_keys_are_per_user(api: Api, make: Factories, server: Server) -> None:
    alice, bob = make.user(), make.user()
    item = make.content()

    first = start_session(api, alice, item, key="shared-key")
    second = start_session(api, bob, item, key="shared-key")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert REPLAYED not in second.headers
    assert session_count(server, bob) == 1


def test_different_keys_start_different_sessions(api: Api, make: Factories, server: Server) -> None:
    user = make.user()
    item = make.content()

    first = start_session(api, user, item, key="a").json()
    second = start_session(api, user, item, key="b").json()

    assert first["id"] != second["id"]
    assert session_count(server, user) == 2


def test_concurrent_requests_with_the_same_key_start_one_session_and_answer_alike(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    headers = {**user.auth, "Idempotency-Key": "race"}
    body = {"content_slug": item.slug}

    responses = api.gather(
        *(lambda http: http.post(SESSIONS, json=body, headers=headers) for _ in range(5))
    )

    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(REPLAYED in r.headers for r in responses) == 4
    assert session_count(server, user) == 1


def test_concurrent_requests_with_the_same_key_and_different_bodies_do_one_of_them(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    one, two = make.content(), make.content()
    headers = {**user.auth, "Idempotency-Key": "race"}

    responses = api.gather(
        lambda http: http.post(SESSIONS, json={"content_slug": one.slug}, headers=headers),
        lambda http: http.post(SESSIONS, json={"content_slug": two.slug}, headers=headers),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert_problem(refused, 409, "IDEMPOTENCY_KEY_REUSED")
    assert session_count(server, user) == 1


def test_a_not_found_answer_is_stored_and_replayed_even_once_the_content_is_published(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    draft = make.content(published=False)
    assert_problem(start_session(api, user, draft, key="k"), 404, "NOT_FOUND")
    server.run(
        Content.filter(id=draft.id).update(status="published", published_at=datetime.now(UTC))
    )

    retry = start_session(api, user, draft, key="k")

    assert_problem(retry, 404, "NOT_FOUND")
    assert retry.headers[REPLAYED] == "true"
    assert session_count(server, user) == 0
    assert start_session(api, user, draft, key="new-key").status_code == 201


def test_a_session_limit_answer_is_stored_and_replayed_even_once_a_slot_is_free(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    for _ in range(5):
        make.practice_session(user, item)
    assert_problem(start_session(api, user, item, key="k"), 409, "SESSION_LIMIT")
    api.post(f"{SESSIONS}/{_any_active_id(server, user)}/abandon", token=user.token)

    retry = start_session(api, user, item, key="k")

    assert_problem(retry, 409, "SESSION_LIMIT")
    assert retry.headers[REPLAYED] == "true"


def test_a_request_refused_by_validation_stores_nothing_under_its_key(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    invalid = api.post(
        SESSIONS, token=user.token, json={"slug": item.slug}, headers={"Idempotency-Key": "k"}
    )
    assert invalid.status_code == 422

    response = start_session(api, user, item, key="k")

    assert response.status_code == 201
    assert REPLAYED not in response.headers
    assert session_count(server, user) == 1


def test_a_key_older_than_24_hours_is_treated_as_new(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    first = start_session(api, user, item, key="old").json()
    day_and_a_bit_ago = datetime.now(UTC) - timedelta(hours=24, minutes=1)
    server.run(IdempotencyKey.filter(user_id=user.id).update(created_at=day_and_a_bit_ago))

    again = start_session(api, user, make.content(), key="old")

    assert again.status_code == 201
    assert REPLAYED not in again.headers
    assert again.json()["id"] != first["id"]
    assert session_count(server, user) == 2
    assert (
        start_session(api, user, item, key="old").status_code == 409
    )  # the key now means the new one


def test_a_key_younger_than_24_hours_is_still_honoured(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content()
    first = start_session(api, user, item, key="recent").json()
    almost_a_day_ago = datetime.now(UTC) - timedelta(hours=23, minutes=59)
    server.run(IdempotencyKey.filter(user_id=user.id).update(created_at=almost_a_day_ago))

    replay = start_session(api, user, item, key="recent")

    assert replay.json() == first
    assert session_count(server, user) == 1


def test_a_255_character_key_is_accepted(api: Api, make: Factories) -> None:
    response = start_session(api, make.user(), make.content(), key="k" * 255)

    assert response.status_code == 201


def test_a_256_character_key_is_422(api: Api, make: Factories, server: Server) -> None:
    user = make.user()
    response = start_session(api, user, make.content(), key="k" * 256)

    assert_problem(response, 422, "VALIDATION_FAILED")
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert session_count(server, user) == 0


def test_an_empty_key_is_422(api: Api, make: Factories) -> None:
    response = start_session(api, make.user(), make.content(), key="")

    assert_problem(response, 422, "VALIDATION_FAILED")


def test_a_key_with_non_ascii_characters_is_422(api: Api, make: Factories) -> None:
    user = make.user()
    response = api.post(
        SESSIONS,
        token=user.token,
        json={"content_slug": make.content().slug},
        headers={"Idempotency-Key": "clé".encode("latin-1")},
    )

    assert_problem(response, 422, "VALIDATION_FAILED")


def _any_active_id(server: Server, user: Account) -> uuid.UUID:
    session = server.run(PracticeSession.filter(user_id=user.id, status="active").first())
    assert session is not None, "the user has no active session"
    return session.id
