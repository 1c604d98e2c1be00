"""Two suite runs against one PostgreSQL server: the second refuses to start rather than recreate
the database under the first."""

from __future__ import annotations

import uuid

import pytest

from bench import dataset


@pytest.fixture(autouse=True)
def own_database_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name of this test's own, so a real run of the suite neither blocks nor is blocked."""
    monkeypatch.setattr(dataset, "DATABASE", f"praxis_bench_lock_test_{uuid.uuid4().hex[:8]}")


def run() -> None:
    with dataset.exclusive_use():
        pass


def test_a_second_run_is_refused_while_the_first_holds_the_database() -> None:
    with dataset.exclusive_use(), pytest.raises(SystemExit, match="another benchmark run"):
        run()


def test_the_database_is_free_again_once_the_first_run_ends() -> None:
    run()

    run()
