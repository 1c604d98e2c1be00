"""The Lua scripts of bench/wrk/, run by the real wrk for a second against the app served in this
process: what they send, that they count every answer, and that the session flow chains its
steps through the answers it gets."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path

from prometheus_client import REGISTRY
from tortoise.functions import Count

from bench import suite
from bench.wrk_report import SCRIPTS, WrkReport, run_wrk
from service.models import PracticeSession
from tests.support.factories import Account, Factories
from tests.support.servers import Server

CONNECTIONS = 4
IDLE_TIMEOUT_SECONDS = 10
# mix.lua's cycle of ten requests, in its order: the shares are 7 reads, 2 history, 1 write.
MIX_CYCLE = ["read", "read", "history", "read", "read", "write", "read", "read", "history", "read"]


def load(server: Server, script: str, *inputs: Path, path: str = "/") -> WrkReport:
    wrk = shutil.which("wrk")
    assert wrk, "wrk is needed (.ci/install-debian-tools installs it)"
    arguments = [str(p) for p in inputs]
    run = asyncio.to_thread(
        run_wrk,
        wrk,
        server.base_url + path,
        script,
        arguments,
        seconds=1,
        connections=CONNECTIONS,
    )
    report = server.run(run).report
    # wrk leaves without waiting for its last answers: let the app finish those requests, so
    # that what the test reads back (and the next test's clean-up) comes after them.
    server.run(requests_finished())
    return report


async def requests_finished() -> None:
    deadline = time.monotonic() + IDLE_TIMEOUT_SECONDS
    while REGISTRY.get_sample_value("praxis_http_requests_in_flight"):
        assert time.monotonic() < deadline, "the app still serves wrk's last requests"
        await asyncio.sleep(0.01)  # polls the gauge while the app's loop serves, bounded


def lines(path: Path, *items: str) -> Path:
    path.write_text("".join(f"{item}\n" for item in items))
    return path


def flow_inputs(make: Factories, tmp_path: Path) -> tuple[list[Account], Path, Path]:
    members = [make.user(), make.user()]
    make.content(slug="bench-script-item")
    tokens = lines(tmp_path / "tokens.txt", *(member.token for member in members))
    return members, tokens, lines(tmp_path / "slugs.txt", "bench-script-item")


def test_the_fixed_script_counts_every_answer_by_status(server: Server) -> None:
    report = load(server, "fixed.lua", path="/health")

    assert report.requests > 0
    assert report.statuses == {200: report.requests}
    assert report.transport_error_count == 0


def test_the_rotating_script_sends_each_line_s_path_with_its_token_in_turn(
    server: Server, make: Factories, tmp_path: Path
) -> None:
    member = make.user()
    requests = lines(
        tmp_path / "me.txt",
        f"/api/v1/users/me\t{member.token}",
        "/api/v1/users/me\tnot-a-token",
        "/api/v1/content/no-such-item",
    )

    report = load(server, "rotate.lua", requests)

    assert set(report.statuses) == {200, 401, 404}
    assert sum(report.statuses.values()) == report.requests
    # Sent strictly in turn: answers differ only by the requests still in flight at the end.
    assert max(report.statuses.values()) - min(report.statuses.values()) <= CONNECTIONS
    assert report.non_2xx == report.statuses[401] + report.statuses[404]


def test_the_session_flow_starts_records_three_events_and_completes_each_session(
    server: Server, make: Factories, tmp_path: Path
) -> None:
    members, tokens, slugs = flow_inputs(make, tmp_path)

    report = load(server, "sessions.lua", tokens, slugs)

    assert report.non_2xx == 0
    completed = report.counters["flows_completed"]
    assert completed > 0
    assert report.counters.get("flows_failed", 0) == 0
    sessions = server.run(
        PracticeSession.filter(user_id__in=[m.id for m in members])
        .annotate(events=Count("events"))
        .values("status", "events")
    )
    # A step in flight when wrk stopped was served, but its answer never counted.
    assert completed <= len(sessions) <= report.counters["flows_started"]
    done = [s["events"] for s in sessions if s["status"] == "completed"]
    assert completed <= len(done) <= completed + CONNECTIONS
    assert set(done) == {3}
    # Cut off by the end of the run: at most one open flow per connection, none past 3 events.
    unfinished = [s["events"] for s in sessions if s["status"] == "active"]
    assert len(unfinished) <= CONNECTIONS
    assert all(events <= 3 for events in unfinished)


def test_the_mix_sends_seven_reads_two_history_pages_and_one_write_in_ten(
    server: Server, make: Factories, tmp_path: Path
) -> None:
    members, tokens, slugs = flow_inputs(make, tmp_path)
    reads = lines(tmp_path / "reads.txt", "/api/v1/content", "/api/v1/content/bench-script-item")
    history = lines(tmp_path / "history.txt", f"/api/v1/history?limit=20\t{members[0].token}")

    report = load(server, "mix.lua", reads, history, tokens, slugs)

    sent = {kind: report.counters[f"sent_{kind}"] for kind in ("read", "history", "write")}
    cycles, rest = divmod(sum(sent.values()), len(MIX_CYCLE))
    assert sent == {
        kind: cycles * MIX_CYCLE.count(kind) + MIX_CYCLE[:rest].count(kind) for kind in sent
    }
    assert report.non_2xx == 0
    assert report.counters["flows_completed"] > 0


def test_the_scripts_send_the_origin_the_suite_allows() -> None:
    common = (SCRIPTS / "common.lua").read_text()

    assert re.search(r'common\.ORIGIN = "([^"]+)"', common)[1] == suite.ORIGIN  # type: ignore[index]
