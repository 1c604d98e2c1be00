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


def test_the_tables_set_the_scenarios_side_by_side_then_give_each_ones_top_frames() -> None:
    worker = profile.busiest_process(COLLAPSED)
    idle = profile.busiest_process([f"{WORKER};{LOOP} 4\n"])

    lines = profile.markdown(
        [profile.Sampled("users/me", worker, 1234.4), profile.Sampled("health", idle, 99.6)]
    ).splitlines()

    assert "| part of a request | users/me | health |" in lines
    assert "| the limiter's Redis script call | 60 % | 0 % |" in lines
    assert "| the response's headers and write | 30 % | 0 % |" in lines
    assert "| samples | 10 | 4 |" in lines
    assert "| req/s while sampled | 1234 | 100 |" in lines
    me = lines.index("## users/me: top frames within requests")
    assert lines[me + 4] == "| `RateLimiter._run (service/kit/ratelimit.py)` | 60.0 % |"
    health = lines.index("## health: top frames within requests")
    assert lines[health + 4 :] == []  # no sample caught it handling a request


def test_only_the_read_scenarios_of_the_suite_can_be_asked_for() -> None:
    assert profile.parse_args(["history", "users/me"]).scenarios == ["history", "users/me"]
    assert profile.parse_args([]).scenarios == []
    with pytest.raises(SystemExit):
        profile.parse_args(["session writes"])
