"""The profile's figures: py-spy's collapsed stacks summed per frame for the busiest process, and
the tables of a scenario."""

from __future__ import annotations

import pytest

from bench import profile

MANAGER = 'process 100:"python -m service serve"'
WORKER = 'process 101:"python -c from multiprocessing.spawn import spawn_main"'
LIMITER = "RateLimiter._run (service/kit/ratelimit.py:212)"
HANDLE = "handle_request (handle_request)"
SEND = "BaseHTTPResponse.send (sanic/response/types.py:120)"

COLLAPSED = [
    f"{MANAGER};serve (service/ops/server.py:40);sleep (time.py:1) 5\n",
    f"{WORKER};{HANDLE};{LIMITER};send_packed_command (redis/asyncio/connection.py:500) 6\n",
    f"{WORKER};{HANDLE};{SEND} 3\n",
    # a recursion holds its frame twice in one stack: still one sample of that frame
    f"{WORKER};{HANDLE};{LIMITER};{LIMITER} 1\n",
    "\n",
]


def test_the_worker_is_the_process_with_the_most_samples() -> None:
    worker = profile.busiest_process(COLLAPSED)

    assert worker.samples == 10
    assert worker.share(HANDLE) == 1.0


def test_a_frame_counts_each_sample_whose_stack_holds_it_once_whatever_its_line() -> None:
    worker = profile.busiest_process(COLLAPSED)

    assert worker.share("RateLimiter._run (service/kit/ratelimit.py)") == pytest.approx(0.7)
    assert worker.share("BaseHTTPResponse.send (sanic/response/types.py)") == pytest.approx(0.3)
    assert worker.top(2) == [
        (HANDLE, 1.0),
        ("RateLimiter._run (service/kit/ratelimit.py)", pytest.approx(0.7)),
    ]


def test_no_sample_at_all_is_an_error_not_an_empty_profile() -> None:
    with pytest.raises(ValueError, match="no sample"):
        profile.busiest_process(["\n"])


def test_a_scenarios_table_names_each_part_with_its_share() -> None:
    lines = profile.markdown("users/me", profile.busiest_process(COLLAPSED), rate=1234.4)

    assert lines[:3] == ["## users/me", "", "10 samples of the worker; 1234 req/s."]
    assert "| the limiter's Redis script call | 70 % |" in lines
    assert "| the response's headers and write | 30 % |" in lines
    assert "| SQL statements and their rows | 0 % |" in lines
    assert f"| `{HANDLE}` | 100.0 % |" in lines


def test_only_the_read_scenarios_of_the_suite_can_be_asked_for() -> None:
    assert profile.parse_args(["history", "users/me"]).scenarios == ["history", "users/me"]
    assert profile.parse_args([]).scenarios == []
    with pytest.raises(SystemExit):
        profile.parse_args(["session writes"])
