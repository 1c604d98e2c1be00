"""Index benchmark: the hot queries timed with the index migration applied and rolled back,
in the same run, on bulk data seeded with `praxis seed`.

    make bench-indexes            # 100 k users, 5 k content, 1 M sessions (a few minutes)
    uv run python -m bench.index_bench --users 2000 --content 500 --sessions 50000   # quick

Prints a table of median milliseconds and speed-up ratios. Each query runs against the same
server, data and planner statistics in both phases; only the indexes differ. Two timings per
query: "server" is PostgreSQL's own execution time (EXPLAIN ANALYZE of the very statements the
query function sent, with its parameters), which is what an index changes; "client" is the
round trip through the ORM as the service sees it, which adds a constant ~0.2-0.5 ms of driver
and network overhead to both phases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from service.content import queries as content_queries
from service.history import queries as history_queries
from service.infra import db
from service.sessions import queries as session_queries

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = "praxis_bench_indexes"
INDEX_MIGRATION = 2
EVENTS_PER_SESSION_SHARE = 0.3

Query = Callable[[random.Random], Awaitable[Any]]


@dataclass(frozen=True)
class Timing:
    server_ms: float
    client_ms: float


@dataclass
class Fixtures:
    user_ids: list[uuid.UUID]
    categories: list[str]
    tags: list[str]


def database_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DATABASE


def praxis(*args: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": "none"}
    subprocess.run([sys.executable, "-m", "service", *args], env=env, check=True)


def run_db_function(name: str, *args: int) -> None:
    """Aerich opens and closes Tortoise's global connections: run it in a process of its own."""
    code = (
        "import asyncio, sys; from service.infra import db; "
        f"asyncio.run(db.{name}(sys.argv[1], *map(int, sys.argv[2:])))"
    )
    subprocess.run([sys.executable, "-c", code, database_url(), *map(str, args)], check=True)


async def recreate_database() -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


async def add_events_and_analyze() -> None:
    conn = await asyncpg.connect(database_url())
    try:
        await conn.execute(
            "INSERT INTO session_events (session_id, kind, data, created_at) "
            "SELECT id, 'answer', '{}'::jsonb, started_at FROM practice_sessions "
            "WHERE random() < $1",
            EVENTS_PER_SESSION_SHARE,
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def analyze() -> None:
    conn = await asyncpg.connect(database_url())
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def load_fixtures() -> Fixtures:
    conn = await asyncpg.connect(database_url())
    try:
        users = [
            r["user_id"]
            for r in await conn.fetch(
                "SELECT user_id FROM practice_sessions TABLESAMPLE SYSTEM (1) LIMIT 200"
            )
        ]
        categories = [
            r["category"] for r in await conn.fetch("SELECT DISTINCT category FROM content")
        ]
        tags = [r["name"] for r in await conn.fetch("SELECT name FROM tags")]
    finally:
        await conn.close()
    return Fixtures(users, categories, tags)


def hot_queries(f: Fixtures) -> dict[str, Query]:
    no_filter = content_queries.ContentFilters()

    def history(status: str | None) -> Query:
        return lambda rng: history_queries.history_page(
            db.connection(),
            history_queries.HistoryFilter(rng.choice(f.user_ids), status, None, None, None),
            20,
        )

    return {
        "history page": history(None),
        "history page, status=completed": history("completed"),
        "history stats": lambda rng: history_queries.stats(db.connection(), rng.choice(f.user_ids)),
        "active sessions count": lambda rng: session_queries.count_active(
            db.connection(), rng.choice(f.user_ids)
        ),
        "content list": lambda _: content_queries.published_page(
            db.connection(), no_filter, None, 20
        ),
        "content list, category": lambda rng: content_queries.published_page(
            db.connection(),
            content_queries.ContentFilters(category=rng.choice(f.categories)),
            None,
            20,
        ),
        "content list, tag": lambda rng: content_queries.published_page(
            db.connection(), content_queries.ContentFilters(tag=rng.choice(f.tags)), None, 20
        ),
        "content search": lambda rng: content_queries.search_page(
            db.connection(), no_filter, rng.choice(f.categories), None, 20
        ),
    }


async def server_execution_ms(conn: asyncpg.Connection, statements: list[db.Statement]) -> float:
    total = 0.0
    for sql, params in statements:
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *params)
        total += float(json.loads(plan)[0]["Execution Time"])
    return total


async def explain_queries(queries: dict[str, Query]) -> None:
    """Print the plan of each query's statements as executed with the indexes (docs/indexes.md)."""
    conn = await asyncpg.connect(database_url())
    try:
        for name, query in queries.items():
            with db.recorded_statements() as statements:
                await query(random.Random(name))
            for sql, params in statements:
                plan = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", *params)
                print(f"\n### {name}\n\n```\n" + "\n".join(r[0] for r in plan) + "\n```")  # noqa: T201
    finally:
        await conn.close()


async def time_query(query: Query, name: str, repeat: int, conn: asyncpg.Connection) -> Timing:
    rng = random.Random(name)
    for _ in range(2):  # warm caches and connections
        await query(rng)
    rng = random.Random(name)
    client, server = [], []
    for _ in range(repeat):
        with db.recorded_statements() as statements:
            started = time.perf_counter()
            await query(rng)
            client.append((time.perf_counter() - started) * 1000)
        server.append(await server_execution_ms(conn, statements))
    return Timing(statistics.median(server), statistics.median(client))


async def time_queries(queries: dict[str, Query], repeat: int) -> dict[str, Timing]:
    conn = await asyncpg.connect(database_url())
    try:
        return {name: await time_query(q, name, repeat, conn) for name, q in queries.items()}
    finally:
        await conn.close()


async def explain_with_indexes(fixtures: Fixtures) -> None:
    await db.init_orm(database_url())
    try:
        await explain_queries(hot_queries(fixtures))
    finally:
        await db.close_orm()


async def measure_both_phases(
    fixtures: Fixtures, repeat: int
) -> tuple[dict[str, Timing], dict[str, Timing]]:
    """Time every query with the indexes, roll the migration back, time again, re-apply it."""
    queries = hot_queries(fixtures)
    await db.init_orm(database_url())
    try:
        with_indexes = await time_queries(queries, repeat)
        run_db_function("roll_back_migration", INDEX_MIGRATION)
        await analyze()
        without = await time_queries(queries, repeat)
    finally:
        await db.close_orm()
        run_db_function("apply_migrations")
        await analyze()
    return with_indexes, without


def print_table(with_indexes: dict[str, Timing], without: dict[str, Timing]) -> None:
    header = (
        f"{'query (median ms)':<32} {'server: none':>12} {'indexed':>8} {'speed-up':>9}"
        f" {'client: none':>13} {'indexed':>8} {'speed-up':>9}"
    )
    print("\n" + header)  # noqa: T201
    for name, fast in with_indexes.items():
        slow = without[name]
        print(  # noqa: T201
            f"{name:<32} {slow.server_ms:>12.2f} {fast.server_ms:>8.2f}"
            f" {slow.server_ms / fast.server_ms:>8.1f}x {slow.client_ms:>13.2f}"
            f" {fast.client_ms:>8.2f} {slow.client_ms / fast.client_ms:>8.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--content", type=int, default=5_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=25, help="timed runs per query and phase")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument(
        "--explain", action="store_true", help="print each query's plan with the indexes, then stop"
    )
    args = parser.parse_args()

    if not args.reuse:
        asyncio.run(recreate_database())
        praxis("migrate")
        started = time.perf_counter()
        praxis(
            "seed",
            "--users",
            str(args.users),
            "--content",
            str(args.content),
            "--sessions",
            str(args.sessions),
        )
        print(f"seeded in {time.perf_counter() - started:.1f}s")  # noqa: T201
        asyncio.run(add_events_and_analyze())
    else:
        run_db_function("apply_migrations")
    fixtures = asyncio.run(load_fixtures())
    if args.explain:
        asyncio.run(explain_with_indexes(fixtures))
        return

    with_indexes, without = asyncio.run(measure_both_phases(fixtures, args.repeat))

    print_table(with_indexes, without)
    results = {
        "with_indexes": {k: vars(v) for k, v in with_indexes.items()},
        "without_indexes": {k: vars(v) for k, v in without.items()},
    }
    print(json.dumps(results))  # noqa: T201


if __name__ == "__main__":
    main()
