"""Boundaries every session endpoint keeps: the caller's own sessions only, a bearer token
always, and one outcome when requests race to change the same session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from service.models import SessionEvent
from tests.support.api import SESSIONS, start_session
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.rows import event_count, stored_session
from tests.support.servers import Api, Server

# (method, path suffix, body) of every endpoint that names one session.
SESSION_ENDPOINTS = [
    ("GET", "", None),
    ("PATCH", "", {"progress": 10}),
    ("POST", "/events", {"kind": "x", "data": {}}),
    ("POST", "/complete", {"score": 50}),
    ("POST", "/abandon", None),
]
ENDPOINT_IDS = [f"{method} {suffix or '/'}" for method, suffix, _ in SESSION_ENDPOINTS]


@pytest.mark.parametrize(("method", "suffix", "body"), SESSION_ENDPOINTS, ids=ENDPOINT_IDS)
def test_another_users_session_is_404_on_every_endpoint_and_stays_untouched(
    api: Api, make: Factories, server: Server, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    owner, stranger = make.user(), make.user()
    theirs = make.practice_session(owner, make.content())

    response = api.request(
        method, f"{SESSIONS}/{theirs.id}{suffix}", token=stranger.token, json=body
    )

    assert_problem(response, 404, "NOT_FOUND")
    stored = stored_session(server, str(theirs.id))
    assert (stored.status, stored.progress) == ("active", 0)
    assert event_count(server, str(theirs.id)) == 0


@pytest.mark.parametrize(("method", "suffix", "body"), SESSION_ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_malformed_id_is_404_on_every_endpoint(
    api: Api, make: Factories, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    response = api.request(method, f"{SESSIONS}/42{suffix}", token=make.user().token, json=body)

    assert_problem(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(("method", "suffix", "body"), SESSION_ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_endpoint_needs_a_bearer_token(
    api: Api, make: Factories, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    session = make.practice_session(make.user(), make.content())

    response = api.request(method, f"{SESSIONS}/{session.id}{suffix}", json=body)

    assert_problem(response, 401, "AUTH_REQUIRED")


@pytest.mark.parametrize(("method", "suffix", "body"), SESSION_ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_endpoint_refuses_an_invalid_token(
    api: Api, make: Factories, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    session = make.practice_session(make.user(), make.content())

    response = api.request(method, f"{SESSIONS}/{session.id}{suffix}", token="x.y.z", json=body)

    assert_problem(response, 401, "TOKEN_INVALID")


def test_two_concurrent_completes_close_the_session_exactly_once(
    api: Api, make: Factories, server: Server
) -> None:
    owner = make.user()
    session = start_session(api, owner, make.content()).json()
    path = f"{SESSIONS}/{session['id']}/complete"

    responses = api.gather(
        lambda http: http.post(path, json={"score": 10}, headers=owner.auth),
        lambda http: http.post(path, json={"score": 90}, headers=owner.auth),
    )

    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status_code == 200).json()
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["code"] == "SESSION_CLOSED"
    assert stored_session(server, session["id"]).score == winner["score"]


def test_a_racing_complete_and_abandon_leave_the_state_of_the_one_that_won(
    api: Api, make: Factories, server: Server
) -> None:
    owner = make.user()
    session = start_session(api, owner, make.content()).json()
    base = f"{SESSIONS}/{session['id']}"

    responses = api.gather(
        lambda http: http.post(f"{base}/complete", headers=owner.auth),
        lambda http: http.post(f"{base}/abandon", headers=owner.auth),
    )

    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert stored_session(server, session["id"]).status == winner["status"]


def test_a_patch_racing_a_complete_lands_before_it_or_not_at_all(
    api: Api, make: Factories, server: Server
) -> None:
    owner = make.user()
    session = start_session(api, owner, make.content()).json()
    base = f"{SESSIONS}/{session['id']}"

    patched, completed = api.gather(
        lambda http: http.patch(base, json={"progress": 77}, headers=owner.auth),
        lambda http: http.post(f"{base}/complete", headers=owner.auth),
    )

    assert completed.status_code == 200
    stored = stored_session(server, session["id"])
    if patched.status_code == 200:
        assert completed.json()["progress"] == stored.progress == 77
    else:
        assert_problem(patched, 409, "SESSION_CLOSED")
        assert stored.progress == 0


def test_events_racing_a_complete_are_each_recorded_or_refused_never_lost(
    api: Api, make: Factories, server: Server
) -> None:
    owner = make.user()
    session = start_session(api, owner, make.content()).json()
    base = f"{SESSIONS}/{session['id']}"

    def event(n: int) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
        return lambda http: http.post(
            f"{base}/events", json={"kind": f"e{n}", "data": {}}, headers=owner.auth
        )

    *events, completed = api.gather(
        *(event(n) for n in range(6)),
        lambda http: http.post(f"{base}/complete", headers=owner.auth),
    )

    assert completed.status_code == 200
    assert {r.status_code for r in events} <= {201, 409}
    recorded = {r.json()["kind"] for r in events if r.status_code == 201}
    stored = server.run(
        SessionEvent.filter(session_id=session["id"]).values_list("kind", flat=True)
    )
    assert set(stored) == recorded
