"""Failed logins are throttled per account too, whether or not the account exists: the answers
for an unknown email are the same as for a known one, and take as long."""

from __future__ import annotations

import statistics
import time

from service.auth.service import ACCOUNT_LOGIN_FAILURES
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api

LOGIN = "/api/v1/auth/login"
QUOTA = ACCOUNT_LOGIN_FAILURES.quota


def attempts(api: Api, email: str, password: str, count: int) -> list[int]:
    return [
        api.post(LOGIN, json={"email": email, "password": password}).status_code
        for _ in range(count)
    ]


def test_failures_for_a_known_and_an_unknown_account_are_throttled_alike(
    api: Api, make: Factories
) -> None:
    known = make.user()
    known_answers = attempts(api, known.email, "wrong password", QUOTA + 1)
    unknown_answers = attempts(api, "nobody@example.com", "wrong password", QUOTA + 1)

    assert known_answers == unknown_answers == [401] * QUOTA + [429]
    throttled = api.post(LOGIN, json={"email": known.email, "password": known.password})
    body = assert_problem(throttled, 429, "RATE_LIMITED")
    assert body["violated-policies"] == ["account"]
    assert int(throttled.headers["retry-after"]) > 0


def test_successes_do_not_count_and_other_accounts_are_not_affected(
    api: Api, make: Factories
) -> None:
    user, other = make.user(), make.user()
    assert attempts(api, user.email, user.password, QUOTA + 2) == [200] * (QUOTA + 2)
    attempts(api, user.email, "wrong password", QUOTA)
    assert attempts(api, other.email, other.password, 1) == [200]
    assert attempts(api, user.email.upper(), user.password, 1) == [429]  # one account, any case


def test_an_unknown_email_costs_a_password_verification_too(api: Api, make: Factories) -> None:
    known = make.user()

    def median_seconds(email: str) -> float:
        times: list[float] = []
        for _ in range(5):
            started = time.perf_counter()
            api.post(LOGIN, json={"email": email, "password": "wrong password"})
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    known_time = median_seconds(known.email)
    unknown_time = median_seconds("nobody@example.com")
    assert unknown_time > known_time / 2
