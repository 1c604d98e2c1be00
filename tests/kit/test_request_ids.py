"""Every response carries X-Request-ID: the client's when sane, else a fresh one."""

import pytest

from tests.support.servers import Api


def test_a_sane_client_request_id_is_echoed(api: Api) -> None:
    response = api.get("/health", headers={"X-Request-ID": "abc-123_def.4"})
    assert response.headers["x-request-id"] == "abc-123_def.4"


@pytest.mark.parametrize(
    "candidate", ["", "has space", "semi;colon", "x" * 129, "ünïcode", "<script>"]
)
def test_an_insane_request_id_is_replaced(api: Api, candidate: str) -> None:
    response = api.get("/health", headers={"X-Request-ID": candidate.encode("utf-8")})
    assert response.headers["x-request-id"] != candidate
    assert 1 <= len(response.headers["x-request-id"]) <= 128


def test_a_request_id_of_128_characters_is_kept(api: Api) -> None:
    candidate = "a" * 128
    assert (
        api.get("/health", headers={"X-Request-ID": candidate}).headers["x-request-id"] == candidate
    )


def test_each_request_gets_its_own_id(api: Api) -> None:
    first = api.get("/health").headers["x-request-id"]
    second = api.get("/health").headers["x-request-id"]
    assert first != second


def test_error_responses_carry_the_request_id_too(api: Api) -> None:
    response = api.get("/no/such/route", headers={"X-Request-ID": "trace-me"})
    assert response.headers["x-request-id"] == "trace-me"
    assert response.json()["request_id"] == "trace-me"
