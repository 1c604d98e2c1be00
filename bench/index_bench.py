"""Index benchmark: the hot queries and the writes timed with the index migrations applied and
rolled back, in the same run, on bulk data seeded with `praxis seed`.

    make bench-indexes            # 100 k users, 5 k content, 1 M sessions (a few minutes)
    uv run python -m bench.index_bench --users 2000 --content 500 --sessions 50000   # quick

Prints two tables of medians. Each query and write runs against the same server, data and
planner statistics in both phases; only the indexes differ. Two timings of each: "server" is
PostgreSQL's own execution time, EXPLAIN ANALYZE of the very statements the function sent, with
its parameters, which is what an index changes; "client" is the round trip through the ORM as
the service sees it, which adds driver, network and Python time to both phases.

Reads: their real query functions, 25 runs per phase. Writes: the service functions the
endpoints call (a session's start, 3 events and completion; content create and update), and a
session's bare inserts and update. Their "client" time includes the commits. Their "server"
time replays each write: in a transaction that is rolled back, the write is undone, then each
statement it sent is EXPLAIN ANALYZEd in order (index upkeep and foreign-key checks included,
the commit's WAL flush not). Writes are timed in alternating rounds, with and then without the
indexes, each starting from a checkpoint, and pooled per phase; what a round writes is deleted
after it.

The unindexed phase runs the downgrades of the index migrations themselves (the hot-query
indexes; the stored full-text document and its GIN index), latest first, and their upgrades
afterwards. Aerich could only roll them back with every later migration, and migration 3 renames
the audit column the content writes fill. Without the document column, search runs the query
the service sent before the column existed (`SearchDocument.EXPRESSION`: the document computed
for every row), so its baseline is the original query on the schema before either migration.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import asyncpg
from tortoise.transactions import in_transaction

from bench.driver import ADMIN_URL, recreate_database
from service.admin.content import service as admin_content_service
from service.admin.content.schemas import ContentCreate, ContentUpdate
from service.app_context import AppContext
from service.config import Settings
from service.content import queries as content_queries
from service.content.queries import SearchDocument
from service.history import queries as history_queries
from service.infra import db
from service.kit.cache import ReadCache
from service.kit.security import VerifiedTokens
from service.sessions import queries as session_queries
from service.sessions import service as sessions_service
from service.sessions.schemas import (
    ACTIVE_SESSION_LIMIT,
    CompleteRequest,
    EventRequest,
    StartSessionRequest,
)

DATABASE = "praxis_bench_indexes"
# The hot-query indexes, and the stored full-text document with its GIN index.
INDEX_MIGRATIONS = (2, 4)
EVENTS_PER_SESSION_SHARE = 0.3
EVENTS_PER_FLOW = 3

Query = Callable[[random.Random], Awaitable[Any]]
# A write returns the statements that undo it, so that its own statements can be replayed.
Write = Callable[[random.Random], Awaitable[list[db.Statement]]]


@dataclass(frozen=True)
class Timing:
    server_ms: float
    client_ms: float


@dataclass
class Fixtures:
    user_ids: list[uuid.UUID]
    categories: list[str]
    tags: list[str]
    # Users who may start one more session (below the active limit), and published items.
    writers: list[uuid.UUID]
    published: list[tuple[uuid.UUID, str]]


@dataclass
class Written:
    """What the timed writes of one phase created, deleted again so both phases read and write
    the same data."""

    sessions: list[uuid.UUID] = field(default_factory=list)
    idempotency_keys: list[str] = field(default_factory=list)
    # Each item written, with its title and summary as they are now.
    content: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteTiming:
    """Medians over every run of every round, and each round's."""

    server_ms: float
    client_ms: float
    round_server_ms: list[float]
    round_client_ms: list[float]


@dataclass(frozen=True)
class Phase:
    reads: dict[str, Timing]
    writes: dict[str, WriteTiming]


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


async def checkpoint() -> None:
    """Write out every dirty buffer now: building indexes leaves hundreds of megabytes of them,
    whose flushing would otherwise slow the commits of the writes timed next."""
    conn = await asyncpg.connect(database_url())
    try:
        await conn.execute("CHECKPOINT")
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
        writers = [
            r["user_id"]
            for r in await conn.fetch(
                "SELECT u.user_id FROM unnest($1::uuid[]) AS u (user_id) "
                "WHERE (SELECT count(*) FROM practice_sessions s "
                "       WHERE s.user_id = u.user_id AND s.status = 'active') < $2",
                users,
                ACTIVE_SESSION_LIMIT,
            )
        ]
        published = [
            (r["id"], r["slug"])
            for r in await conn.fetch(
                "SELECT id, slug FROM content WHERE status = 'published' ORDER BY slug LIMIT 200"
            )
        ]
    finally:
        await conn.close()
    return Fixtures(users, categories, tags, writers, published)


def hot_queries(f: Fixtures, document: SearchDocument) -> dict[str, Query]:
    """The hot queries; search matches and ranks ``document`` (the column exists only with the
    index migrations applied)."""
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
            db.connection(), no_filter, rng.choice(f.categories), None, 20, document
        ),
    }


def write_flows(f: Fixtures, written: Written) -> dict[str, Write]:
    """The writes, through the service functions the endpoints call (the session flow, content
    create and update) or, for the session's bare writes, the statements they send."""
    # The content cache of a worker without Redis: its invalidation after a write stays local.
    settings = Settings(database_url=database_url(), redis_url="none")
    cache = ReadCache(AppContext(settings, VerifiedTokens(settings.jwt_secret)), "content")
    editor = admin_content_service.WriteContext(f.user_ids[0], None, cache)

    async def session_flow(rng: random.Random) -> list[db.Statement]:
        """POST /sessions (with an Idempotency-Key), 3 x POST .../events, POST .../complete."""
        user, (_, slug) = rng.choice(f.writers), rng.choice(f.published)
        key = uuid.uuid4().hex
        start = StartSessionRequest(content_slug=slug)
        answer = await sessions_service.start_session(user, start, key)
        session_id = uuid.UUID(answer.body["id"])
        written.sessions.append(session_id)
        written.idempotency_keys.append(key)
        for step in range(EVENTS_PER_FLOW):
            event = EventRequest(kind="answer", data={"step": step})
            await sessions_service.record_event(user, session_id, event)
        await sessions_service.complete_session(user, session_id, CompleteRequest(score=80.0))
        # The replayed claim must get the key's id again: the stored answer names it.
        same_key_id = (
            "SELECT setval(pg_get_serial_sequence('idempotency_keys', 'id'), id, false) "
            "FROM idempotency_keys WHERE user_id = $1 AND key = $2"
        )
        return [
            (same_key_id, [user, key]),
            ("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2", [user, key]),
            ("DELETE FROM practice_sessions WHERE id = $1", [session_id]),
        ]

    async def session_writes(rng: random.Random) -> list[db.Statement]:
        """The flow's inserts and update alone, each committed as the service commits them."""
        user, (content_id, _) = rng.choice(f.writers), rng.choice(f.published)
        async with in_transaction() as conn:
            session = await session_queries.insert_session(conn, user, content_id)
        written.sessions.append(session.id)
        for step in range(EVENTS_PER_FLOW):
            await session_queries.insert_event_if_active(
                db.connection(), user, session.id, "answer", {"step": step}
            )
        await session_queries.complete_active(db.connection(), user, session.id, 80.0)
        return [("DELETE FROM practice_sessions WHERE id = $1", [session.id])]

    async def content_create(rng: random.Random) -> list[db.Statement]:
        """POST /admin/content: a draft with two tags, its audit record."""
        n = len(written.content)
        item = ContentCreate.model_validate(
            {
                "slug": f"bench-write-{uuid.uuid4().hex}",
                "title": f"Written practice {n}",
                "summary": f"Practise writing step by step ({n}).",
                "body": "# Written practice\n\nWork through the steps.",
                "kind": "lesson",
                "category": rng.choice(f.categories),
                "difficulty": "beginner",
                "duration_minutes": 10,
                "tags": rng.sample(f.tags, k=2),
            }
        )
        created = await admin_content_service.create_content(item, editor)
        written.content[created.id] = (created.title, created.summary)
        return [("DELETE FROM content WHERE id = $1", [created.id])]

    async def content_update(rng: random.Random) -> list[db.Statement]:
        """PATCH /admin/content/{id} of title and summary (an item the create row wrote)."""
        item_id = rng.choice(list(written.content))
        title, summary = written.content[item_id]
        n = rng.randrange(1_000_000)
        change = ContentUpdate(title=f"Rewritten practice {n}", summary=f"Practise again ({n}).")
        await admin_content_service.update_content(item_id, change, editor)
        written.content[item_id] = (change.title or title, change.summary or summary)
        return [
            ("UPDATE content SET title = $2, summary = $3 WHERE id = $1", [item_id, title, summary])
        ]

    return {
        "session flow (start, 3 events, complete)": session_flow,
        "session writes only": session_writes,
        "content create": content_create,
        "content update (title, summary)": content_update,
    }


async def replayed_server_ms(
    conn: asyncpg.Connection, undo: list[db.Statement], statements: list[db.Statement]
) -> float:
    """PostgreSQL's execution time of a write's statements (index upkeep and foreign-key checks
    included, the commit not): the write undone, then each of its statements EXPLAIN ANALYZEd in
    order, in a transaction rolled back."""
    replay = conn.transaction()
    await replay.start()
    try:
        for sql, params in undo:
            await conn.execute(sql, *params)
        return await server_execution_ms(conn, statements)
    finally:
        await replay.rollback()


async def time_write(
    write: Write, name: str, repeat: int, conn: asyncpg.Connection
) -> list[Timing]:
    """``repeat`` timed runs of ``write``, after two unmeasured runs."""
    rng = random.Random(name)
    for _ in range(2):
        await write(rng)
    timings = []
    for _ in range(repeat):
        with db.recorded_statements() as statements:
            started = time.perf_counter()
            undo = await write(rng)
            client_ms = (time.perf_counter() - started) * 1000
        timings.append(Timing(await replayed_server_ms(conn, undo, statements), client_ms))
    return timings


async def time_writes(fixtures: Fixtures, repeat: int) -> dict[str, list[Timing]]:
    written = Written()
    conn = await asyncpg.connect(database_url())
    try:
        flows = write_flows(fixtures, written)
        return {name: await time_write(w, name, repeat, conn) for name, w in flows.items()}
    finally:
        await conn.close()
        await delete_written(written)


def write_timings(rounds: list[dict[str, list[Timing]]]) -> dict[str, WriteTiming]:
    def median(name: str, of: Callable[[Timing], float]) -> tuple[float, list[float]]:
        per_round = [[of(timing) for timing in round_[name]] for round_ in rounds]
        pooled = statistics.median(ms for runs in per_round for ms in runs)
        return pooled, [statistics.median(runs) for runs in per_round]

    timings = {}
    for name in rounds[0]:
        server, server_rounds = median(name, lambda t: t.server_ms)
        client, client_rounds = median(name, lambda t: t.client_ms)
        timings[name] = WriteTiming(server, client, server_rounds, client_rounds)
    return timings


async def delete_written(written: Written) -> None:
    conn = await asyncpg.connect(database_url())
    try:
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM practice_sessions WHERE id = ANY($1::uuid[])", written.sessions
            )
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE key = ANY($1::text[])",
                written.idempotency_keys,
            )
            await conn.execute(
                "DELETE FROM audit_records WHERE target_type = 'content' "
                "AND target_id = ANY($1::text[])",
                [str(item) for item in written.content],
            )
            await conn.execute(
                "DELETE FROM content WHERE id = ANY($1::uuid[])", list(written.content)
            )
    finally:
        await conn.close()


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
        await explain_queries(hot_queries(fixtures, SearchDocument.COLUMN))
    finally:
        await db.close_orm()


def migration_module(version: int) -> ModuleType:
    (path,) = (db.MIGRATIONS_DIR / "models").glob(f"{version}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{version}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load migration {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def roll_back_index_migrations() -> None:
    """Each index migration's downgrade, latest first, in a transaction as Aerich runs it."""
    for version in reversed(INDEX_MIGRATIONS):
        async with in_transaction() as conn:
            await conn.execute_script(await migration_module(version).downgrade(conn))


async def reapply_index_migrations() -> None:
    """Each index migration's upgrade, as Aerich runs it (their CONCURRENTLY builds outside a
    transaction); both are idempotent, so this also repairs a run interrupted half-way."""
    for version in INDEX_MIGRATIONS:
        module = migration_module(version)
        if getattr(module, "RUN_IN_TRANSACTION", True):
            async with in_transaction() as conn:
                await conn.execute_script(await module.upgrade(conn))
        else:
            await db.connection().execute_script(await module.upgrade(db.connection()))


async def measure_both_phases(
    fixtures: Fixtures, repeat: int, write_rounds: int
) -> tuple[Phase, Phase]:
    """Time the reads with the indexes, roll the index migrations back, time them again (search
    on the document computed per row, as before the column), re-apply the migrations.

    A write takes milliseconds, mostly the commit's WAL flush, which other work on the machine
    slows: the writes are timed in ``write_rounds`` rounds, each with the indexes and then
    without (seconds apart, on either side of a roll-back), and pooled per phase, so a change in
    the machine's load falls on both phases alike. Each round starts from a checkpoint."""
    await db.init_orm(database_url())
    indexed_writes: list[dict[str, list[Timing]]] = []
    unindexed_writes: list[dict[str, list[Timing]]] = []
    try:
        indexed_reads = await time_queries(hot_queries(fixtures, SearchDocument.COLUMN), repeat)
        for round_ in range(write_rounds):
            if round_ > 0:
                await reapply_index_migrations()
                await analyze()
            await checkpoint()
            indexed_writes.append(await time_writes(fixtures, repeat))
            await roll_back_index_migrations()
            await analyze()
            await checkpoint()
            unindexed_writes.append(await time_writes(fixtures, repeat))
            if round_ == 0:
                unindexed_reads = await time_queries(
                    hot_queries(fixtures, SearchDocument.EXPRESSION), repeat
                )
    finally:
        await reapply_index_migrations()
        await analyze()
        await db.close_orm()
    return (
        Phase(indexed_reads, write_timings(indexed_writes)),
        Phase(unindexed_reads, write_timings(unindexed_writes)),
    )


def print_reads(with_indexes: dict[str, Timing], without: dict[str, Timing]) -> None:
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


def print_writes(with_indexes: dict[str, WriteTiming], without: dict[str, WriteTiming]) -> None:
    header = (
        f"{'write (median ms)':<42} {'server: none':>12} {'indexed':>8} {'ratio':>6}"
        f" {'client: none':>13} {'indexed':>8} {'ratio':>6}"
    )
    print(f"\n{header}   (ratio: indexed / none; server ratio per round)")  # noqa: T201
    for name, fast in with_indexes.items():
        slow = without[name]
        rounds = zip(fast.round_server_ms, slow.round_server_ms, strict=True)
        per_round = ", ".join(f"{indexed / none:.2f}" for indexed, none in rounds)
        print(  # noqa: T201
            f"{name:<42} {slow.server_ms:>12.2f} {fast.server_ms:>8.2f}"
            f" {fast.server_ms / slow.server_ms:>6.2f} {slow.client_ms:>13.2f}"
            f" {fast.client_ms:>8.2f} {fast.client_ms / slow.client_ms:>6.2f}   {per_round}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--content", type=int, default=5_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument(
        "--repeat", type=int, default=25, help="timed runs per query, write and phase"
    )
    parser.add_argument(
        "--write-rounds",
        type=int,
        default=3,
        help="rounds of writes, each timed with the indexes then without",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument(
        "--explain", action="store_true", help="print each query's plan with the indexes, then stop"
    )
    args = parser.parse_args()
    if args.repeat < 1 or args.write_rounds < 1:
        parser.error("--repeat and --write-rounds must be at least 1")

    if not args.reuse:
        asyncio.run(recreate_database(DATABASE))
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

    indexed, unindexed = asyncio.run(measure_both_phases(fixtures, args.repeat, args.write_rounds))

    print_reads(indexed.reads, unindexed.reads)
    print_writes(indexed.writes, unindexed.writes)
    results = {
        "with_indexes": {k: vars(v) for k, v in indexed.reads.items()},
        "without_indexes": {k: vars(v) for k, v in unindexed.reads.items()},
        "writes_with_indexes": {k: vars(v) for k, v in indexed.writes.items()},
        "writes_without_indexes": {k: vars(v) for k, v in unindexed.writes.items()},
    }
    print(json.dumps(results))  # noqa: T201


if __name__ == "__main__":
    main()
