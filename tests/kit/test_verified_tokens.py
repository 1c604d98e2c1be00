"""Verified access tokens are kept per worker until they expire, so a bearer's next request skips
the signature check; an expired, forged or evicted token is always checked again."""

from __future__ import annotations

import uuid

import pytest

from service.kit.errors import ApiError, ErrorCode
from service.kit.security import VerifiedTokens, issue_access_token

SECRET = "verified-tokens-" + "k" * 40
TTL_SECONDS = 900


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def token(secret: str = SECRET) -> str:
    issued, _ = issue_access_token(uuid.uuid4(), uuid.uuid4(), secret, TTL_SECONDS)
    return issued


def test_a_verified_token_is_answered_from_what_was_kept() -> None:
    tokens = VerifiedTokens(SECRET)
    bearer = token()

    first = tokens.claims(bearer)

    assert tokens.claims(bearer) is first
    assert len(tokens) == 1


def test_a_kept_token_past_its_expiry_is_verified_again() -> None:
    clock = Clock(0.0)
    tokens = VerifiedTokens(SECRET, clock=clock)
    bearer = token()
    first = tokens.claims(bearer)

    clock.now = first.expires_at.timestamp()

    assert tokens.claims(bearer) is not first  # decoded again (and, for real, refused)


def test_an_expired_token_is_refused_as_expired() -> None:
    expired, _ = issue_access_token(uuid.uuid4(), uuid.uuid4(), SECRET, -1)

    with pytest.raises(ApiError) as refused:
        VerifiedTokens(SECRET).claims(expired)

    assert refused.value.code == ErrorCode.TOKEN_EXPIRED


def test_a_token_that_fails_verification_is_not_kept() -> None:
    tokens = VerifiedTokens(SECRET)

    for _ in range(2):
        with pytest.raises(ApiError) as refused:
            tokens.claims(token(secret="another-" + "s" * 40))
        assert refused.value.code == ErrorCode.TOKEN_INVALID

    assert len(tokens) == 0


def test_at_most_max_entries_are_kept_the_oldest_dropped_first() -> None:
    tokens = VerifiedTokens(SECRET, max_entries=2)
    oldest, middle, newest = token(), token(), token()
    kept_oldest = tokens.claims(oldest)
    kept_middle = tokens.claims(middle)

    tokens.claims(newest)

    assert len(tokens) == 2
    assert tokens.claims(middle) is kept_middle
    assert tokens.claims(oldest) is not kept_oldest
