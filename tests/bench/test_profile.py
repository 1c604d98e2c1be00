"""The profile's figures: py-spy's collapsed stacks summed per frame for the busiest process, and
the tables of a scenario."""

from __future__ import annotations

import pytest

from bench import profile

MANAGER = 'process 100:"python -m service serve"'
# a command may hold semicolons: the process is still one frame
WORKER = 'process 101:"python -c from multiprocessing.spawn import spawn_main; spawn_main(fd=6)"'
LOOP = "_run_server_forever (sanic/server/runners.py:283)"
LIMITER = "RateLimiter._run (service/kit/ratelimit.py:212)"
HANDLE = "handle_request (handle_request)"
SEND = "BaseHTTPResponse.send (sanic/response/types.py:120)"

COLLAPSED = [
    f"{MANAGER};serve (service/ops/server.py:40);sleep (time.py:1) 5\n",
    f"{WORKER};{LOOP};{HANDLE};{LIMITER};send_packed_command (redis/asyncio/connection.py:500) 5\n",
    f"{WORKER};{LOOP};{HANDLE};{SEND} 3\n",
    # a recursion holds its frame twice in one stack: still one sample of that frame
    f"{WORKER};{LOOP};{HANDLE};{LIMITER};{LIMITER} 1\n",
    f"{WORKER};{LOOP} 1\n",  # between requests
    "\n",
]


def test_the_worker_is_the_process_with_the_most_samples() -> None:
    worker = profile.busiest_process(COLLAPSED)

    assert worker.samples == 10
    assert worker.share(HANDLE) == pytest.approx(0.9)
    assert worker.share("_run_server_forever (sanic/server/runners.py)") == 1.0


def test_a_frame_counts_each_sample_whose_stack_holds_it_once_whatever_its_line() -> None:
    worker = profile.busiest_process(COLLAPSED)

    assert worker.share("RateLimiter._run (service/kit/ratelimit.py)") == pytest.approx(0.6)
    assert worker.share("BaseHTTPResponse.send (sanic/response/types.py)") == pytest.approx(0.3)


def test_the_top_frames_are_those_below_the_request_handler() -> None:
    worker = profile.busiest_process(COLLAPSED)

    (limiter, limiter_share), (command, command_share) = worker.top(2)

    assert (limiter, command) == (
        "RateLimiter._run (service/kit/ratelimit.py)",
        "send_packed_command (redis/asyncio/connection.py)",
    )
    assert [limiter_share, command_share] == pytest.approx([0.6, 0.5])


def test_no_sample_at_all_is_an_error_not_an_empty_profile() -> None:
    with pytest.raises(ValueError, match="no sample"):
        profile.busiest_process(["\n"])


def test_a_scenarios_table_names_each_part_with_its_share() -> None:
    lines = profile.markdown("users/me", profile.busiest_process(COLLAPSED), rate=1234.4)

    assert lines[:3] == ["## users/me", "", "10 samples of the worker; 1234 req/s."]
    assert "| the limiter's Redis script call | 60 % |" in lines
    assert "| the response's headers and write | 30 % |" in lines
    assert "| SQL statements and their rows | 0 % |" in lines
    assert "| `BaseHTTPResponse.send (sanic/response/types.py)` | 30.0 % |" in lines


def test_only_the_read_scenarios_of_the_suite_can_be_asked_for() -> None:
    assert profile.parse_args(["history", "users/me"]).scenarios == ["history", "users/me"]
    assert profile.parse_args([]).scenarios == []
    with pytest.raises(SystemExit):
        profile.parse_args(["session writes"])
