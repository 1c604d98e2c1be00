"""Reading, patching, recording events on, completing and abandoning one's own sessions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.support.api import SESSIONS, start_session
from tests.support.factories import Account, Factories
from tests.support.problems import assert_problem
from tests.support.rows import event_count, stored_session
from tests.support.servers import Api, Server

MAX_DATA_BYTES = 16 * 1024


@pytest.fixture
def owner(make: Factories) -> Account:
    return make.user()


@pytest.fixture
def session(api: Api, make: Factories, owner: Account) -> dict[str, Any]:
    """An active session of ``owner``, as POST /sessions answered it."""
    started: dict[str, Any] = start_session(api, owner, make.content()).json()
    return started


def _data_of_size(size: int) -> dict[str, str]:
    """A JSON object whose serialized form is exactly ``size`` bytes."""
    overhead = len(orjson.dumps({"x": ""}))
    data = {"x": "a" * (size - overhead)}
    assert len(orjson.dumps(data)) == size
    return data


# --- GET ------------------------------------------------------------------------------------


def test_an_unknown_session_id_is_404(api: Api, owner: Account) -> None:
    response = api.get(f"{SESSIONS}/00000000-0000-4000-8000-000000000000", token=owner.token)

    assert_problem(response, 404, "NOT_FOUND")


def test_a_malformed_session_id_is_404_not_422(api: Api, owner: Account) -> None:
    response = api.get(f"{SESSIONS}/not-a-uuid", token=owner.token)

    assert_problem(response, 404, "NOT_FOUND")


# --- PATCH ----------------------------------------------------------------------------------


def test_patch_sets_progress_and_notes(
    api: Api, server: Server, owner: Account, session: dict[str, Any]
) -> None:
    response = api.patch(
        f"{SESSIONS}/{session['id']}",
        token=owner.token,
        json={"progress": 40, "notes": "Stuck on slicing."},
    )

    assert response.status_code == 200
    assert response.json()["progress"] == 40
    assert response.json()["notes"] == "Stuck on slicing."
    stored = stored_session(server, session["id"])
    assert (stored.progress, stored.notes) == (40, "Stuck on slicing.")


def test_patch_leaves_fields_it_does_not_name_unchanged(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    path = f"{SESSIONS}/{session['id']}"
    api.patch(path, token=owner.token, json={"progress": 70, "notes": "first"})

    response = api.patch(path, token=owner.token, json={"notes": "second"})

    assert response.json()["progress"] == 70
    assert response.json()["notes"] == "second"


def test_progress_accepts_the_bounds_0_and_100(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    path = f"{SESSIONS}/{session['id']}"

    assert api.patch(path, token=owner.token, json={"progress": 100}).json()["progress"] == 100
    assert api.patch(path, token=owner.token, json={"progress": 0}).json()["progress"] == 0


@pytest.mark.parametrize("progress", [-1, 101, 50.5, "50", True])
def test_progress_must_be_an_integer_from_0_to_100(
    api: Api, owner: Account, session: dict[str, Any], progress: object
) -> None:
    response = api.patch(
        f"{SESSIONS}/{session['id']}", token=owner.token, json={"progress": progress}
    )

    assert_problem(response, 422, "VALIDATION_FAILED")
    assert response.json()["errors"][0]["field"] == "progress"


def test_notes_longer_than_10000_characters_are_422(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    path = f"{SESSIONS}/{session['id']}"

    assert api.patch(path, token=owner.token, json={"notes": "n" * 10_000}).status_code == 200
    response = api.patch(path, token=owner.token, json={"notes": "n" * 10_001})

    assert_problem(response, 422, "VALIDATION_FAILED")


def test_patching_a_closed_session_is_409_session_closed(
    api: Api, make: Factories, owner: Account
) -> None:
    closed = make.practice_session(owner, make.content(), status="completed")

    response = api.patch(f"{SESSIONS}/{closed.id}", token=owner.token, json={"progress": 10})

    assert_problem(response, 409, "SESSION_CLOSED")


# --- events ---------------------------------------------------------------------------------


def test_recording_an_event_answers_201_with_the_event(
    api: Api, server: Server, owner: Account, session: dict[str, Any]
) -> None:
    response = api.post(
        f"{SESSIONS}/{session['id']}/events",
        token=owner.token,
        json={"kind": "hint_shown", "data": {"hint": 2, "nested": {"ok": [1, None]}}},
    )

    assert response.status_code == 201
    event = response.json()
    assert event["kind"] == "hint_shown"
    assert event["data"] == {"hint": 2, "nested": {"ok": [1, None]}}
    assert event["session_id"] == session["id"]
    assert isinstance(event["id"], str)
    assert datetime.fromisoformat(event["created_at"]).utcoffset() is not None
    assert event_count(server, session["id"]) == 1


def test_event_data_defaults_to_an_empty_object(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    response = api.post(
        f"{SESSIONS}/{session['id']}/events", token=owner.token, json={"kind": "opened"}
    )

    assert response.status_code == 201
    assert response.json()["data"] == {}


def test_event_data_of_exactly_16_kib_is_accepted(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    response = api.post(
        f"{SESSIONS}/{session['id']}/events",
        token=owner.token,
        json={"kind": "big", "data": _data_of_size(MAX_DATA_BYTES)},
    )

    assert response.status_code == 201


def test_event_data_over_16_kib_is_413_payload_too_large(
    api: Api, server: Server, owner: Account, session: dict[str, Any]
) -> None:
    response = api.post(
        f"{SESSIONS}/{session['id']}/events",
        token=owner.token,
        json={"kind": "big", "data": _data_of_size(MAX_DATA_BYTES + 1)},
    )

    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert event_count(server, session["id"]) == 0


@pytest.mark.parametrize("kind", ["", "k" * 65, 7, None])
def test_event_kind_must_be_a_string_of_1_to_64_characters(
    api: Api, owner: Account, session: dict[str, Any], kind: object
) -> None:
    response = api.post(
        f"{SESSIONS}/{session['id']}/events", token=owner.token, json={"kind": kind, "data": {}}
    )

    assert_problem(response, 422, "VALIDATION_FAILED")
    assert response.json()["errors"][0]["field"] == "kind"


def test_an_event_kind_of_64_characters_is_accepted(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    response = api.post(
        f"{SESSIONS}/{session['id']}/events", token=owner.token, json={"kind": "k" * 64}
    )

    assert response.status_code == 201


@pytest.mark.parametrize("data", [[1, 2], "text", 3, None])
def test_event_data_must_be_a_json_object(
    api: Api, owner: Account, session: dict[str, Any], data: object
) -> None:
    response = api.post(
        f"{SESSIONS}/{session['id']}/events", token=owner.token, json={"kind": "x", "data": data}
    )

    assert_problem(response, 422, "VALIDATION_FAILED")


def test_event_data_the_database_cannot_store_is_422_not_a_server_error(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    path = f"{SESSIONS}/{session['id']}/events"
    deep: dict[str, object] = {}
    for _ in range(40):
        deep = {"d": deep}

    with_nul = api.post(path, token=owner.token, json={"kind": "x", "data": {"k\u0000": 1}})
    too_deep = api.post(path, token=owner.token, json={"kind": "x", "data": deep})

    assert_problem(with_nul, 422, "VALIDATION_FAILED")
    assert_problem(too_deep, 422, "VALIDATION_FAILED")


def test_recording_an_event_on_a_closed_session_is_409_session_closed(
    api: Api, make: Factories, server: Server, owner: Account
) -> None:
    closed = make.practice_session(owner, make.content(), status="abandoned")

    response = api.post(
        f"{SESSIONS}/{closed.id}/events", token=owner.token, json={"kind": "x", "data": {}}
    )

    assert_problem(response, 409, "SESSION_CLOSED")
    assert event_count(server, str(closed.id)) == 0


# --- complete and abandon -------------------------------------------------------------------


def test_complete_closes_the_session_with_score_end_and_whole_second_duration(
    api: Api, make: Factories, owner: Account
) -> None:
    started_at = datetime.now(UTC) - timedelta(minutes=3, seconds=20, milliseconds=700)
    active = make.practice_session(owner, make.content(), started_at=started_at)

    response = api.post(f"{SESSIONS}/{active.id}/complete", token=owner.token, json={"score": 87.5})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "completed"
    assert body["score"] == 87.5
    ended_at = datetime.fromisoformat(body["ended_at"])
    elapsed = ended_at - datetime.fromisoformat(body["started_at"])
    assert body["duration_seconds"] == math.floor(elapsed.total_seconds())
    assert body["duration_seconds"] >= 200


def test_complete_without_a_body_leaves_the_score_empty(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    response = api.post(f"{SESSIONS}/{session['id']}/complete", token=owner.token)

    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["score"] is None


def test_a_score_may_be_an_integer_at_the_bounds(api: Api, make: Factories, owner: Account) -> None:
    item = make.content()
    low, high = make.practice_session(owner, item), make.practice_session(owner, item)

    zero = api.post(f"{SESSIONS}/{low.id}/complete", token=owner.token, json={"score": 0})
    hundred = api.post(f"{SESSIONS}/{high.id}/complete", token=owner.token, json={"score": 100})

    assert (zero.json()["score"], hundred.json()["score"]) == (0, 100)


@pytest.mark.parametrize("score", [-0.1, 100.5, "high", True])
def test_a_score_must_be_a_number_from_0_to_100(
    api: Api, server: Server, owner: Account, session: dict[str, Any], score: object
) -> None:
    response = api.post(
        f"{SESSIONS}/{session['id']}/complete", token=owner.token, json={"score": score}
    )

    assert_problem(response, 422, "VALIDATION_FAILED")
    assert stored_session(server, session["id"]).status == "active"


def test_abandon_closes_the_session_with_end_and_duration(
    api: Api, make: Factories, owner: Account
) -> None:
    started_at = datetime.now(UTC) - timedelta(seconds=75)
    active = make.practice_session(owner, make.content(), started_at=started_at)

    response = api.post(f"{SESSIONS}/{active.id}/abandon", token=owner.token)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "abandoned"
    assert body["ended_at"] is not None
    assert 75 <= body["duration_seconds"] < 135


@pytest.mark.parametrize("first", ["complete", "abandon"])
@pytest.mark.parametrize("then", ["complete", "abandon"])
def test_a_closed_session_cannot_be_closed_again(
    api: Api, owner: Account, session: dict[str, Any], first: str, then: str
) -> None:
    assert api.post(f"{SESSIONS}/{session['id']}/{first}", token=owner.token).status_code == 200

    response = api.post(f"{SESSIONS}/{session['id']}/{then}", token=owner.token)

    assert_problem(response, 409, "SESSION_CLOSED")


def test_a_closed_session_keeps_its_first_ending(
    api: Api, owner: Account, session: dict[str, Any]
) -> None:
    closed = api.post(f"{SESSIONS}/{session['id']}/complete", token=owner.token, json={"score": 9})
    api.post(f"{SESSIONS}/{session['id']}/abandon", token=owner.token)

    read = api.get(f"{SESSIONS}/{session['id']}", token=owner.token).json()

    assert read["status"] == "completed"
    assert read["score"] == 9
    assert read["ended_at"] == closed.json()["ended_at"]
