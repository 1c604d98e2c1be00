"""The suite's data: a database of its own seeded with ``praxis seed`` (the demo data plus bulk
members with about 30 finished sessions each), the members' bearer tokens from logging in through
the API, the published items to read, and the files the wrk scripts read them from."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from bench.driver import ADMIN_URL, say
from service.ops.seed import BULK_PASSWORD

DATABASE = "praxis_bench"
SESSIONS_PER_MEMBER = 30
HISTORY_PAGE = 20
CONTENT_ITEMS = 200
# Sessions go to members at random: a few get fewer than a page's worth. Seeding this many more
# members than needed leaves enough with full history pages to choose from.
SPARE_MEMBERS = 1.15
LOGINS_AT_ONCE = 4
DETAIL_ITEMS = 20
LIST_CATEGORIES = 5
# Generous: the machine may be shared with other jobs, and logins are Argon2 verifications.
HTTP_TIMEOUT_SECONDS = 120

HISTORY_PATH = f"/api/v1/history?limit={HISTORY_PAGE}"
ME_PATH = "/api/v1/users/me"
LIST_PATH = "/api/v1/content"


@dataclass(frozen=True)
class Member:
    id: uuid.UUID
    email: str
    token: str = ""


@dataclass(frozen=True)
class Files:
    """The wrk scripts' inputs (bench/wrk/*.lua say what each holds)."""

    details: Path  # content item paths
    reads: Path  # content list pages and items, in turn
    history: Path  # the history page, with each member's token
    me: Path  # /users/me, with each member's token
    tokens: Path
    slugs: Path


@contextmanager
def exclusive_use() -> Iterator[None]:
    """Hold a PostgreSQL advisory lock on the bench database's name for the block: a second run
    against the same server (from another checkout, say) would recreate the database under the
    first one and, on one machine, measure it too. It refuses to start instead."""
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(ADMIN_URL))
    try:
        # The session-level lock lasts as long as this connection, idle between the loop's runs.
        locked = loop.run_until_complete(
            conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", DATABASE)
        )
        if not locked:
            raise SystemExit(
                f"another benchmark run is using {DATABASE} on this PostgreSQL server; "
                "wait for it to end (two runs on one machine measure each other)"
            )
        yield
    finally:
        loop.run_until_complete(conn.close())
        loop.close()


def database_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DATABASE


def seed(members: int) -> None:
    """Migrate and seed the demo data and ``members`` bulk members (with spares) in one run."""
    users = math.ceil(members * SPARE_MEMBERS)
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": "none"}
    command = [sys.executable, "-m", "service", "seed", "--demo", "--users", str(users)]
    command += ["--content", str(CONTENT_ITEMS), "--sessions", str(users * SESSIONS_PER_MEMBER)]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


async def members_with_full_history(count: int) -> list[Member]:
    """Bulk members with at least a history page of finished sessions."""
    conn = await asyncpg.connect(database_url())
    try:
        rows = await conn.fetch(
            "SELECT u.id, u.email FROM users u JOIN practice_sessions s ON s.user_id = u.id "
            "WHERE u.email LIKE '%@bulk.praxis.local' AND s.status <> 'active' "
            "GROUP BY u.id, u.email HAVING count(*) >= $1 ORDER BY u.email LIMIT $2",
            HISTORY_PAGE,
            count,
        )
    finally:
        await conn.close()
    if len(rows) < count:
        say(f"note: only {len(rows)} members have {HISTORY_PAGE} finished sessions; using those")
    return [Member(row["id"], row["email"]) for row in rows]


async def log_in(base_url: str, members: list[Member]) -> list[Member]:
    """Each member with an access token from ``POST /api/v1/auth/login``."""
    limit = asyncio.Semaphore(LOGINS_AT_ONCE)
    async with httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT_SECONDS) as client:

        async def one(member: Member) -> Member:
            async with limit:
                response = await client.post(
                    "/api/v1/auth/login", json={"email": member.email, "password": BULK_PASSWORD}
                )
            if response.status_code != httpx.codes.OK:
                raise SystemExit(f"login of {member.email}: {response.status_code} {response.text}")
            return Member(member.id, member.email, response.json()["access_token"])

        return list(await asyncio.gather(*(one(member) for member in members)))


def published_items(base_url: str) -> list[dict[str, str]]:
    response = httpx.get(
        f"{base_url}{LIST_PATH}?limit={DETAIL_ITEMS}", timeout=HTTP_TIMEOUT_SECONDS
    )
    response.raise_for_status()
    items: list[dict[str, str]] = response.json()["items"]
    if not items:
        raise SystemExit("the bench database has no published content")
    return items


def write_files(directory: Path, members: list[Member], items: list[dict[str, str]]) -> Files:
    slugs = [item["slug"] for item in items]
    details = [f"{LIST_PATH}/{slug}" for slug in slugs]
    categories = sorted({item["category"] for item in items})[:LIST_CATEGORIES]
    pages = [LIST_PATH] + [f"{LIST_PATH}?category={category}" for category in categories]
    # List pages and items alternate: half the reads are lists, half are items.
    reads = [path for i, detail in enumerate(details) for path in (pages[i % len(pages)], detail)]
    files = Files(*(directory / f"{name}.txt" for name in Files.__dataclass_fields__))
    contents = {
        files.details: details,
        files.reads: reads,
        files.history: [f"{HISTORY_PATH}\t{member.token}" for member in members],
        files.me: [f"{ME_PATH}\t{member.token}" for member in members],
        files.tokens: [member.token for member in members],
        files.slugs: slugs,
    }
    for path, lines in contents.items():
        path.write_text("\n".join(lines) + "\n")
    return files


async def abandon_active_sessions(base_url: str, members: list[Member]) -> int:
    """Abandon, through the API, the sessions that flows cut off by the end of a wrk run left
    active, so that no member drifts towards the limit of 5 active sessions over a run."""
    tokens = {member.id: member.token for member in members}
    conn = await asyncpg.connect(database_url())
    try:
        rows = await conn.fetch(
            "SELECT id, user_id FROM practice_sessions WHERE status = 'active' "
            "AND user_id = ANY($1::uuid[])",
            list(tokens),
        )
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT_SECONDS) as client:
        for row in rows:
            response = await client.post(
                f"/api/v1/sessions/{row['id']}/abandon",
                headers={"Authorization": f"Bearer {tokens[row['user_id']]}"},
            )
            # 409: a request of the cut-off flow closed it meanwhile.
            if response.status_code not in {httpx.codes.OK, httpx.codes.CONFLICT}:
                raise SystemExit(f"abandoning {row['id']}: {response.status_code}")
    return len(rows)
