"""ENV=production refuses settings that would be unsafe there, each with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from service.config import Settings

GOOD: dict[str, Any] = {
    "env": "production",
    "database_url": "postgres://praxis@db:5432/praxis",
    "redis_url": "redis://cache:6379/0",
    "jwt_secret": "Vq3xN8rT2mKp7LwZ5yHc9BfJ4dGs6AeU",
}


def problems(**changes: Any) -> list[str]:
    return Settings(**{**GOOD, **changes}).production_problems()


def test_good_settings_pass() -> None:
    assert problems() == []


@pytest.mark.parametrize(
    ("changes", "mentions"),
    [
        ({"jwt_secret": "short"}, "at least 32"),
        ({"jwt_secret": "a" * 32}, "variety"),
        ({"jwt_secret": "ab" * 24}, "variety"),
        ({"jwt_secret": "abcdefghijklmnop" * 3}, "variety"),
        ({"jwt_secret": "change-me-to-a-long-random-secret-of-at-least-32-chars"}, "example"),
        ({"cors_origins": "https://app.example.com,null"}, "CORS_ORIGINS='null'"),
        ({"cors_origins": "*"}, "CORS_ORIGINS='*'"),
        ({"redis_url": "none", "workers": 4}, "WORKERS > 1"),
        ({"redis_url": "auto"}, "REDIS_URL"),
        ({"database_url": "auto"}, "DATABASE_URL"),
    ],
)
def test_each_unsafe_setting_is_refused_with_its_reason(
    changes: dict[str, Any], mentions: str
) -> None:
    found = problems(**changes)
    assert len(found) == 1
    assert mentions in found[0]


def test_in_process_fallbacks_are_allowed_with_one_worker() -> None:
    assert problems(redis_url="none", workers=1) == []


def test_other_environments_are_not_checked() -> None:
    assert Settings(**{**GOOD, "env": "development", "jwt_secret": "x"}).production_problems() == []
