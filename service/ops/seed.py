"""Demo data for trying the service, and bulk data (COPY in batches) for benchmarks."""

from __future__ import annotations

import argparse
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction
from tqdm import tqdm

from service.admin.content import queries as content_queries
from service.auth import queries as auth_queries
from service.auth import service as auth_service
from service.config import Settings
from service.infra import db, sql
from service.infra.sql import Connection, CopyTarget
from service.kit import rbac, security
from service.ops.exit_codes import EXIT_OK
from service.sessions import queries as session_queries

BATCH_ROWS = 50_000
CATEGORIES = ["algorithms", "databases", "networking", "python", "security", "writing"]
TAGS = ["async", "basics", "deep-dive", "interview", "sql", "testing", "tips", "warm-up"]
KINDS = ["lesson", "exercise", "drill"]
DIFFICULTIES = ["beginner", "intermediate", "advanced"]
BULK_PASSWORD = "praxis-bulk-password"  # noqa: S105 - the documented password of bulk test users

DEMO_ACCOUNTS = [
    ("admin@praxis.local", "admin-demo-password", "Demo Admin", rbac.ADMIN_ROLE),
    ("editor@praxis.local", "editor-demo-password", "Demo Editor", rbac.EDITOR_ROLE),
    ("member@praxis.local", "member-demo-password", "Demo Member", rbac.MEMBER_ROLE),
]


async def run(settings: Settings, args: argparse.Namespace) -> int:
    database = await db.resolve_database(settings)
    await db.apply_migrations(database.url, pgbouncer=settings.db_pgbouncer)
    await db.init_orm(database.url, pgbouncer=settings.db_pgbouncer)
    try:
        if args.demo:
            await seed_demo(only_if_empty=args.if_empty)
        if args.users or args.content or args.sessions:
            await seed_bulk(db.connection(), args.users, args.content, args.sessions)
    finally:
        await db.close_orm()
    return EXIT_OK


async def seed_demo(only_if_empty: bool) -> None:
    if only_if_empty and await auth_queries.any_user_exists(db.connection()):
        print("Database already has users; demo data not added.")  # noqa: T201
        return
    async with in_transaction() as conn:
        users = [await _demo_user(conn, *account) for account in DEMO_ACCOUNTS]
        content_ids = await _insert_content(conn, 12, published_share=0.85, rng=random.Random(7))
        await _insert_sessions(conn, [users[2]], content_ids, 15, random.Random(7))
    print("Demo accounts (email / password):")  # noqa: T201
    for email, password, _, role in DEMO_ACCOUNTS:
        print(f"  {role:<7} {email} / {password}")  # noqa: T201


async def _demo_user(
    conn: Connection, email: str, password: str, name: str, role: str
) -> uuid.UUID:
    """The demo account, created once; a rerun gives an existing account its role again."""
    user = await auth_queries.user_by_email(conn, email)
    if user is None:
        password_hash = security.hash_password(password)
        user = await auth_service.create_user(conn, email, password_hash, name, [role])
    else:
        await auth_queries.grant_roles(conn, user.id, [role, rbac.MEMBER_ROLE])
    return user.id


async def seed_bulk(conn: Connection, users: int, content: int, sessions: int) -> None:
    rng = random.Random(42)
    if users:
        await _insert_users(conn, users, rng)
    if content:
        await _insert_content(conn, content, published_share=0.9, rng=rng)
    if sessions:
        user_ids = await auth_queries.user_ids(conn)
        content_ids = await content_queries.content_ids(conn)
        if not user_ids or not content_ids:
            raise SystemExit("praxis: sessions need users and content; seed those first")
        await _insert_sessions(conn, user_ids, content_ids, sessions, rng)
    await sql.analyze(conn)


async def _copy_in_batches(
    conn: Connection, target: CopyTarget, rows: Iterator[tuple[Any, ...]], total: int
) -> None:
    with tqdm(total=total, desc=target.table, unit="rows", unit_scale=True) as progress:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH_ROWS:
                await sql.copy_records(conn, target, batch)
                progress.update(len(batch))
                batch = []
        if batch:
            await sql.copy_records(conn, target, batch)
            progress.update(len(batch))


async def _insert_users(conn: Connection, count: int, rng: random.Random) -> None:
    """Bulk users (members), by COPY: the one path that bypasses ``create_user``, because
    hundreds of thousands of rows one INSERT at a time would take minutes."""
    password_hash = security.hash_password(BULK_PASSWORD)
    member_id = await auth_queries.role_id(conn, rbac.MEMBER_ROLE)
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
    await _copy_in_batches(conn, auth_queries.USERS_COPY, users, count)
    grants = ((uid, member_id) for uid in ids)
    await _copy_in_batches(conn, auth_queries.USER_ROLES_COPY, grants, count)


async def _insert_content(
    conn: Connection, count: int, published_share: float, rng: random.Random
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

    await _copy_in_batches(conn, content_queries.CONTENT_COPY, rows(), count)
    links = ((cid, tag) for cid in ids for tag in rng.sample(list(tag_ids), k=rng.randint(1, 3)))
    await sql.copy_records(conn, content_queries.CONTENT_TAGS_COPY, links)
    return ids


async def _ensure_tags(conn: Connection) -> list[int]:
    await content_queries.ensure_tags(conn, TAGS)
    return await content_queries.tag_ids(conn, TAGS)


async def _insert_sessions(
    conn: Connection,
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

    await _copy_in_batches(conn, session_queries.SESSIONS_COPY, rows(), count)
