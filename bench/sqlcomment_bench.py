"""What a sqlcommenter comment costs asyncpg's prepared-statement cache.

    uv run python -m bench.sqlcomment_bench                      # 2000 executions x 3 rounds
    uv run python -m bench.sqlcomment_bench --executions 5000 --rounds 5

asyncpg prepares a statement once per connection and reuses it while the text is the same (an
LRU of 100 texts). A comment that differs per request (a ``traceparent``) makes every text new:
each execution then pays a Parse/Describe round trip and the server parses and plans again.
This times one history-like SELECT (a join, a correlated subquery, a keyset ORDER BY ... LIMIT,
on temporary tables of one connection) sent ``--executions`` times with:

- no comment;
- a route-only comment (the same text every time: cached once);
- route and a traceparent on every statement (a new text every time);
- route and a traceparent on one statement in ten (a sampled fraction of the traces).

Reports the median time per execution over ``--rounds`` rounds (modes alternate within a round)
and the cache misses, counted as the texts the connection had not sent before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Callable

import asyncpg

from observability.sqlcomment import sqlcomment

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"
ROUTE = "/api/v1/history"
USERS = 10
SESSIONS_PER_USER = 200

SCHEMA = """
CREATE TEMP TABLE bench_content (id int PRIMARY KEY, title text, category text);
CREATE TEMP TABLE bench_sessions (
    id uuid PRIMARY KEY, user_id int, content_id int, status text, started_at timestamptz
);
CREATE TEMP TABLE bench_events (id serial PRIMARY KEY, session_id uuid);
CREATE INDEX ON bench_sessions (user_id, started_at DESC, id DESC);
CREATE INDEX ON bench_events (session_id);
INSERT INTO bench_content
    SELECT i, 'title ' || i, 'category ' || (i % 7) FROM generate_series(1, 50) i;
INSERT INTO bench_sessions
    SELECT gen_random_uuid(), i % {users}, 1 + i % 50, 'completed', now() - i * interval '1 minute'
    FROM generate_series(1, {sessions}) i;
INSERT INTO bench_events (session_id) SELECT id FROM bench_sessions, generate_series(1, 3);
ANALYZE bench_content; ANALYZE bench_sessions; ANALYZE bench_events;
"""

HISTORY_LIKE = """
    SELECT s.id, s.status, s.started_at, c.title, c.category,
           (SELECT count(*) FROM bench_events e WHERE e.session_id = s.id) AS event_count
    FROM bench_sessions s JOIN bench_content c ON c.id = s.content_id
    WHERE s.user_id = $1
    ORDER BY s.started_at DESC, s.id DESC
    LIMIT $2
"""


def traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def mode_texts() -> dict[str, Callable[[int], str]]:
    route_only = HISTORY_LIKE + sqlcomment(ROUTE, None)

    def every(_: int) -> str:
        return HISTORY_LIKE + sqlcomment(ROUTE, traceparent())

    def one_in_ten(index: int) -> str:
        return HISTORY_LIKE + sqlcomment(ROUTE, traceparent() if index % 10 == 0 else None)

    return {
        "no comment": lambda _: HISTORY_LIKE,
        "route only": lambda _: route_only,
        "route + traceparent, every statement": every,
        "route + traceparent, 1 in 10": one_in_ten,
    }


async def run_mode(
    conn: asyncpg.Connection, text_of: Callable[[int], str], executions: int
) -> tuple[float, int]:
    """Seconds per execution and cache misses (texts this connection had not prepared)."""
    conn._stmt_cache.clear()  # every mode starts cold
    seen: set[str] = set()
    misses = 0
    started = time.perf_counter()
    for index in range(executions):
        text = text_of(index)
        if text not in seen:
            misses += 1
            seen.add(text)
        await conn.fetch(text, index % USERS, 20)
    return (time.perf_counter() - started) / executions, misses


async def main_async(url: str, executions: int, rounds: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SCHEMA.format(users=USERS, sessions=USERS * SESSIONS_PER_USER))
        modes = mode_texts()
        timings: dict[str, list[float]] = {name: [] for name in modes}
        misses: dict[str, int] = {}
        for round_number in range(rounds):
            names = list(modes)
            order = names if round_number % 2 == 0 else names[::-1]
            for name in order:
                seconds, misses[name] = await run_mode(conn, modes[name], executions)
                timings[name].append(seconds)
        baseline = statistics.median(timings["no comment"])
        print(f"{executions} executions x {rounds} rounds, one connection")  # noqa: T201
        print("| mode | median µs/execution | vs no comment | cache misses |")  # noqa: T201
        print("| --- | --- | --- | --- |")  # noqa: T201
        for name, values in timings.items():
            median = statistics.median(values)
            print(  # noqa: T201
                f"| {name} | {median * 1e6:.0f} | {median / baseline:.2f}x "
                f"| {misses[name]} of {executions} |"
            )
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    asyncio.run(main_async(url, args.executions, args.rounds))


if __name__ == "__main__":
    main()
