"""Demo data for trying the service, and bulk data (COPY in batches) for benchmarks."""

from __future__ import annotations

import argparse
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from tqdm import tqdm

from service.config import Settings
from service.infra import db
from service.kit import rbac, security

EXIT_OK = 0
BATCH_ROWS = 50_000
CATEGORIES = ["algorithms", "databases", "networking", "python", "security", "writing"]
TAGS = ["async", "basics", "deep-dive", "interview", "sql", "testing", "tips", "warm-up"]
KINDS = ["lesson", "exercise", "drill"]
DIFFICULTIES = ["beginner", "intermediate", "advanced"]
BULK_PASSWORD = "praxis-bulk-password"

DEMO_ACCOUNTS = [
    ("admin@praxis.local", "admin-demo-password", "Demo Admin", rbac.ADMIN_ROLE),
    ("editor@praxis.local", "editor-demo-password", "Demo Editor", rbac.EDITOR_ROLE),
    ("member@praxis.local", "member-demo-password", "Demo Member", rbac.MEMBER_ROLE),
]


async def run(settings: Settings, args: argparse.Namespace) -> int:
    database = await db.resolve_database(settings)
    await db.apply_migrations(database.url)
    conn = await asyncpg.connect(database.url)
    try:
        if args.demo:
            await seed_demo(conn, only_if_empty=args.if_empty)
        if args.users or args.content or args.sessions:
            await seed_bulk(conn, args.users, args.content, args.sessions)
    finally:
        await conn.close()
    return EXIT_OK


async def seed_demo(conn: asyncpg.Connection, only_if_empty: bool) -> None:
    if only_if_empty and await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)"):
        print("Database already has users; demo data not added.")  # noqa: T201
        return
    async with conn.transaction():
        users = [await _demo_user(conn, *account) for account in DEMO_ACCOUNTS]
        content_ids = await _insert_content(conn, 12, published_share=0.85, rng=random.Random(7))
        await _insert_sessions(conn, [users[2]], content_ids, 15, random.Random(7))
    print("Demo accounts (email / password):")  # noqa: T201
    for email, password, _, role in DEMO_ACCOUNTS:
        print(f"  {role:<7} {email} / {password}")  # noqa: T201


async def _demo_user(
    conn: asyncpg.Connection, email: str, password: str, name: str, role: str
) -> uuid.UUID:
    user_id: uuid.UUID | None = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    if user_id is None:
        user_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, password_hash, display_name, is_active, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, TRUE, now(), now())",
            user_id,
            email,
            security.hash_password(password),
            name,
        )
    for granted in {role, rbac.MEMBER_ROLE}:
        await conn.execute(
            "INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE name = $2"
            " ON CONFLICT DO NOTHING",
            user_id,
            granted,
        )
    return user_id


async def seed_bulk(conn: asyncpg.Connection, users: int, content: int, sessions: int) -> None:
    rng = random.Random(42)
    if users:
        await _insert_users(conn, users, rng)
    if content:
        await _insert_content(conn, content, published_share=0.9, rng=rng)
    if sessions:
        user_ids = [r["id"] for r in await conn.fetch("SELECT id FROM users")]
        content_ids = [r["id"] for r in await conn.fetch("SELECT id FROM content")]
        if not user_ids or not content_ids:
            raise SystemExit("praxis: sessions need users and content; seed those first")
        await _insert_sessions(conn, user_ids, content_ids, sessions, rng)
    await conn.execute("ANALYZE")


async def _copy_in_batches(
    conn: asyncpg.Connection,
    table: str,
    columns: list[str],
    rows: Iterator[tuple[Any, ...]],
    total: int,
) -> None:
    with tqdm(total=total, desc=table, unit="rows", unit_scale=True) as progress:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH_ROWS:
                await conn.copy_records_to_table(table, records=batch, columns=columns)
                progress.update(len(batch))
                batch = []
        if batch:
            await conn.copy_records_to_table(table, records=batch, columns=columns)
            progress.update(len(batch))


async def _insert_users(conn: asyncpg.Connection, count: int, rng: random.Random) -> None:
    password_hash = security.hash_password(BULK_PASSWORD)
    member_id = await conn.fetchval("SELECT id FROM roles WHERE name = $1", rbac.MEMBER_ROLE)
    run_tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    users = (
        (
            uid,
            f"user{i}-{run_tag}@bulk.praxis.local",
            password_hash,
            f"User {i}",
            True,
            now - timedelta(days=rng.randint(0, 720)),
            now,
        )
        for i, uid in enumerate(ids)
    )
    columns = [
        "id",
        "email",
        "password_hash",
        "display_name",
        "is_active",
        "created_at",
        "updated_at",
    ]
    await _copy_in_batches(conn, "users", columns, users, count)
    grants = ((uid, member_id) for uid in ids)
    await _copy_in_batches(conn, "user_roles", ["user_id", "role_id"], grants, count)


async def _insert_content(
    conn: asyncpg.Connection, count: int, published_share: float, rng: random.Random
) -> list[uuid.UUID]:
    tag_ids = await _ensure_tags(conn)
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    run_tag = uuid.uuid4().hex[:6]

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, cid in enumerate(ids):
            category = rng.choice(CATEGORIES)
            published = rng.random() < published_share
            created = now - timedelta(minutes=rng.randint(60, 500_000))
            yield (
                cid,
                f"{category}-practice-{i}-{run_tag}",
                f"{category.title()} practice {i}",
                f"Practise {category} step by step ({i}).",
                f"# {category.title()} practice {i}\n\nWork through the steps.",
                rng.choice(KINDS),
                category,
                rng.choice(DIFFICULTIES),
                rng.choice([5, 10, 15, 30]),
                "published" if published else "draft",
                created + timedelta(minutes=30) if published else None,
                created,
                created,
            )

    columns = [
        "id",
        "slug",
        "title",
        "summary",
        "body",
        "kind",
        "category",
        "difficulty",
        "duration_minutes",
        "status",
        "published_at",
        "created_at",
        "updated_at",
    ]
    await _copy_in_batches(conn, "content", columns, rows(), count)
    links = ((cid, tag) for cid in ids for tag in rng.sample(list(tag_ids), k=rng.randint(1, 3)))
    await conn.copy_records_to_table(
        "content_tags", records=list(links), columns=["content_id", "tag_id"]
    )
    return ids


async def _ensure_tags(conn: asyncpg.Connection) -> list[int]:
    await conn.executemany(
        "INSERT INTO tags (name, created_at) VALUES ($1, now()) ON CONFLICT (name) DO NOTHING",
        [(t,) for t in TAGS],
    )
    rows = await conn.fetch("SELECT id FROM tags WHERE name = ANY($1::text[])", TAGS)
    return [r["id"] for r in rows]


async def _insert_sessions(
    conn: asyncpg.Connection,
    user_ids: list[uuid.UUID],
    content_ids: list[uuid.UUID],
    count: int,
    rng: random.Random,
) -> None:
    now = datetime.now(UTC)

    def rows() -> Iterator[tuple[Any, ...]]:
        for _ in range(count):
            started = now - timedelta(seconds=rng.randint(3600, 365 * 86400))
            duration = rng.randint(120, 3600)
            status = rng.choices(["completed", "abandoned"], weights=[4, 1])[0]
            ended = started + timedelta(seconds=duration)
            yield (
                uuid.uuid4(),
                rng.choice(user_ids),
                rng.choice(content_ids),
                status,
                100 if status == "completed" else rng.randint(0, 90),
                "",
                round(rng.uniform(40, 100), 1) if status == "completed" else None,
                started,
                ended,
                duration,
                ended,
            )

    columns = [
        "id",
        "user_id",
        "content_id",
        "status",
        "progress",
        "notes",
        "score",
        "started_at",
        "ended_at",
        "duration_seconds",
        "updated_at",
    ]
    await _copy_in_batches(conn, "practice_sessions", columns, rows(), count)
