"""The service behind PgBouncer in transaction pooling mode (Debian's ``pgbouncer``, a private one
on a free port), and what breaks there, as executable facts.

A two-worker ``praxis serve`` with ``DB_PGBOUNCER=true`` reaches a database of its own only
through PgBouncer: it migrates it through PgBouncer, serves sign-ups and sign-ins, content,
practice sessions and admin writes, more concurrent requests than PgBouncer has server
connections, purges (periodically, one worker at a time, and ``praxis purge``), and answers
statement timeouts with 503 without the cancel requests that crash PgBouncer 1.18.

The facts use plain asyncpg through a second pool of the same PgBouncer. Each client statement
or transaction gets whichever server connection is free, the one released last first: a client
that opens a transaction right after another client's statement is handed that statement's server
connection, which each fact checks (``pg_backend_pid``) before relying on it. Session state then
stays on the server connection instead of following the client: cached prepared statements,
``SET``, session advisory locks and ``LISTEN``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service.infra import db, pg_pool
from service.ops.purge import PURGE_LOCK_KEY
from tests.support import database
from tests.support.api import (
    ADMIN_CONTENT,
    CONTENT,
    HISTORY,
    LOGIN,
    ME,
    REGISTER,
    SESSIONS,
    new_content,
)
from tests.support.caches import REDIS_URL
from tests.support.pgbouncer import Pool, PrivatePgBouncer, running_pgbouncer
from tests.support.processes import (
    descendants_of,
    free_port,
    praxis_serve,
    tcp_connections_to,
    wait_until,
)
from tests.support.traffic import eventually

WORKERS = 2
SERVICE_POOL_SIZE = 3  # PgBouncer's server connections for the service
DB_POOL_MAX_SIZE = 8  # each worker's connections to PgBouncer: 16 clients on 3 servers
CONCURRENT_READS = 12
# Behind PgBouncer a statement's time includes its wait for a server connection: on a loaded
# machine, more than the few milliseconds the statements take.
COMMAND_TIMEOUT = 2.5
# The server's own bound, set on the service's database (as docs/operations.md asks): it ends a
# statement the service gave up on, since the service sends no cancel request.
SERVER_STATEMENT_TIMEOUT = 4.5
CLI_TIMEOUT = 120
PURGE_INTERVAL = 0.5
PASSWORD = "practise through the pooler"  # noqa: S105 - the test accounts' password
MIGRATIONS = len(list((db.MIGRATIONS_DIR / "models").glob("[0-9]*.py")))


@dataclass(frozen=True)
class Bounced:
    server_pid: int  # praxis serve's main process
    bouncer: PrivatePgBouncer
    env: dict[str, str]  # the service's environment: DATABASE_URL through PgBouncer
    base_url: str
    direct_url: str  # the service's database, not through PgBouncer (for checks from outside)
    facts_url: str  # another pool of the same PgBouncer, for plain asyncpg
    facts_direct_url: str  # that pool's database, not through PgBouncer
    member: dict[str, str]  # a member's Authorization header
    admin: dict[str, str]
    slug: str  # published content

    def server_pids(self) -> list[int]:
        return [self.server_pid, *descendants_of(self.server_pid)]


@pytest.fixture(scope="module")
def bounced(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bounced]:
    server_url = database.database_url_on(database_url, "postgres")
    name = f"{database.TEST_DATABASE}_bounced"
    direct_url = database.create_database(server_url, name)
    timeout_ms = int(SERVER_STATEMENT_TIMEOUT * 1000)
    try:
        asyncio.run(
            _execute(direct_url, f'ALTER DATABASE "{name}" SET statement_timeout = {timeout_ms}')
        )
        pools = [Pool("praxis", direct_url, SERVICE_POOL_SIZE), Pool("facts", database_url, 2)]
        with running_pgbouncer(tmp_path_factory.mktemp("pgbouncer"), pools) as bouncer:
            data_dir = tmp_path_factory.mktemp("bounced-data")
            env = _service_env(bouncer, data_dir)
            # `praxis serve` migrates the empty database through PgBouncer first.
            with praxis_serve(env, data_dir / "server.log") as server:
                wait_until(lambda: _workers_started(data_dir) == WORKERS, server, "workers")
                base_url = f"http://127.0.0.1:{env['PORT']}"
                with httpx.Client(base_url=base_url, timeout=15) as http:
                    member = _sign_up(http, direct_url)
                    admin = _sign_up(http, direct_url, role="admin")
                    slug = _published(http, admin, "Through the pooler")["slug"]
                yield Bounced(
                    server.pid,
                    bouncer,
                    env,
                    base_url,
                    direct_url,
                    bouncer.url("facts"),
                    database_url,
                    member,
                    admin,
                    slug,
                )
    finally:
        database.drop_database(server_url, name)


def _workers_started(data_dir: Path) -> int:
    """Workers that have started: each writes its process gauges to a file named by its pid."""
    return len(list((data_dir / "metrics").glob("gauge_liveall_*.db")))


def _sign_up(http: httpx.Client, direct_url: str, role: str | None = None) -> dict[str, str]:
    """A new account (given ``role`` from outside, before it signs in), signed in."""
    email = f"{role or 'member'}-{uuid.uuid4().hex[:8]}@example.com"
    account = {"email": email, "password": PASSWORD, "display_name": "Bounced"}
    registered = http.post(REGISTER, json=account)
    assert registered.status_code == 201, registered.text
    if role is not None:
        asyncio.run(
            _execute(
                direct_url,
                "INSERT INTO user_roles (user_id, role_id) "
                "SELECT u.id, r.id FROM users u, roles r WHERE u.email = $1 AND r.name = $2",
                email,
                role,
            )
        )
    login = http.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _published(http: httpx.Client, admin: dict[str, str], title: str) -> dict[str, Any]:
    created = http.post(ADMIN_CONTENT, headers=admin, json=new_content(title=title))
    assert created.status_code == 201, created.text
    item: dict[str, Any] = created.json()
    published = http.post(f"{ADMIN_CONTENT}/{item['id']}/publish", headers=admin)
    assert published.status_code == 200, published.text
    return item


def _service_env(bouncer: PrivatePgBouncer, data_dir: Path) -> dict[str, str]:
    return {
        "ENV": "test",
        "DATABASE_URL": bouncer.url("praxis"),
        "DB_PGBOUNCER": "true",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": f"praxis-bounced-{uuid.uuid4().hex[:8]}:",
        "PORT": str(free_port()),
        "WORKERS": str(WORKERS),
        "JWT_SECRET": "bounced-secret-" + "x" * 40,
        "RATE_LIMIT_AUTH": "100000/minute",
        "RATE_LIMIT_USER": "100000/minute",
        "RATE_LIMIT_ANON": "100000/minute",
        "DB_POOL_MAX_SIZE": str(DB_POOL_MAX_SIZE),
        "DB_COMMAND_TIMEOUT_SECONDS": str(COMMAND_TIMEOUT),
        # Each worker tries, one at a time wins (the purge test watches it happen).
        "PURGE_INTERVAL_SECONDS": str(PURGE_INTERVAL),
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
    }


def _praxis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={**os.environ, **env},
        capture_output=True,
        check=False,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


async def _execute(url: str, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def _fetchval(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


@pytest.fixture
def http(bounced: Bounced) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bounced.base_url, timeout=15) as client:
        yield client


# The service through PgBouncer


def test_serve_migrates_an_empty_database_through_pgbouncer_and_is_ready(
    bounced: Bounced, http: httpx.Client
) -> None:
    versions = asyncio.run(_fetchval(bounced.direct_url, "SELECT count(*) FROM aerich"))
    assert versions == MIGRATIONS
    ready = http.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"][0]["status"] == "pass"


def test_praxis_check_reaches_the_database_pgbouncer_serves_not_its_maintenance_one(
    bounced: Bounced,
) -> None:
    url = bounced.env["DATABASE_URL"]
    assert asyncio.run(db.server_answers(url, pgbouncer=True))
    # A server's "postgres" database, where a server is probed otherwise, is not configured.
    assert not asyncio.run(db.server_answers(url))


def test_a_member_reads_content_and_practises_through_pgbouncer(
    bounced: Bounced, http: httpx.Client
) -> None:
    member, slug = bounced.member, bounced.slug
    assert http.get(ME, headers=member).status_code == 200
    page = http.get(CONTENT, params={"limit": 5})
    assert page.status_code == 200, page.text
    assert slug in [item["slug"] for item in page.json()["items"]], page.text
    assert http.get(f"{CONTENT}/{slug}").json()["slug"] == slug

    key = {"Idempotency-Key": str(uuid.uuid4()), **member}
    started = http.post(SESSIONS, headers=key, json={"content_slug": slug})
    assert started.status_code == 201, started.text
    replayed = http.post(SESSIONS, headers=key, json={"content_slug": slug})
    assert replayed.json()["id"] == started.json()["id"]
    path = f"{SESSIONS}/{started.json()['id']}"
    event = http.post(f"{path}/events", headers=member, json={"kind": "answer", "data": {"q": 1}})
    assert event.status_code == 201, event.text
    assert http.patch(path, headers=member, json={"progress": 60}).json()["progress"] == 60
    completed = http.post(f"{path}/complete", headers=member, json={"score": 90})
    assert completed.json()["status"] == "completed", completed.text

    history = http.get(HISTORY, headers=member, params={"limit": 100})
    assert history.status_code == 200, history.text
    mine = [item for item in history.json()["items"] if item["id"] == started.json()["id"]]
    assert [(item["status"], item["event_count"]) for item in mine] == [("completed", 1)]


def test_admin_writes_through_pgbouncer_are_committed_audited_and_visible_at_once(
    bounced: Bounced, http: httpx.Client
) -> None:
    title = f"Admin write {uuid.uuid4().hex[:8]}"
    before = http.get(CONTENT, params={"limit": 100})  # cached until an admin write
    item = _published(http, bounced.admin, title)
    after = http.get(CONTENT, params={"limit": 100})
    assert item["slug"] not in [entry["slug"] for entry in before.json()["items"]]
    assert item["slug"] in [entry["slug"] for entry in after.json()["items"]]
    assert http.get(f"{CONTENT}/{item['slug']}").json()["title"] == title

    audit = http.get("/api/v1/admin/audit", headers=bounced.admin, params={"limit": 100})
    targets = {(entry["action"], entry["target_id"]) for entry in audit.json()["items"]}
    assert {("content.create", item["id"]), ("content.publish", item["id"])} <= targets


def test_more_concurrent_requests_than_pgbouncer_has_server_connections_all_succeed(
    bounced: Bounced, http: httpx.Client
) -> None:
    # Each practises once: several session starts of one member would queue on its row lock,
    # each waiting transaction holding one of PgBouncer's few server connections meanwhile.
    practising = [bounced.member, bounced.admin]

    async def crowd() -> list[int]:
        limits = httpx.Limits(max_connections=CONCURRENT_READS + len(practising))
        async with httpx.AsyncClient(base_url=bounced.base_url, timeout=15, limits=limits) as c:

            async def read() -> int:
                return (await c.get(f"{HISTORY}/stats", headers=bounced.member)).status_code

            async def practise(account: dict[str, str]) -> int:
                body = {"content_slug": bounced.slug}
                started = await c.post(SESSIONS, headers=account, json=body)
                if started.status_code != 201:
                    return started.status_code
                path = f"{SESSIONS}/{started.json()['id']}/complete"
                return (await c.post(path, headers=account, json={"score": 70})).status_code

            reads = [read() for _ in range(CONCURRENT_READS)]
            practices = [practise(account) for account in practising]
            return list(await asyncio.gather(*reads, *practices))

    assert asyncio.run(crowd()) == [200] * (CONCURRENT_READS + len(practising))
    # A worker's pool opens a connection only when all it has are busy: the service held more
    # statements in flight than PgBouncer had server connections, which never grew past its pool.
    clients = tcp_connections_to(bounced.bouncer.port, bounced.server_pids())
    assert clients > SERVICE_POOL_SIZE
    assert asyncio.run(_server_connections(bounced.direct_url)) <= SERVICE_POOL_SIZE


async def _server_connections(direct_url: str) -> int:
    count = await _fetchval(
        direct_url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    return int(count)


def test_the_purge_runs_through_pgbouncer_and_skips_while_another_holds_its_lock(
    bounced: Bounced,
) -> None:
    key = asyncio.run(_expired_idempotency_key(bounced.direct_url))

    async def purged_by_a_worker() -> bool:
        remaining = await _fetchval(
            bounced.direct_url, "SELECT count(*) FROM idempotency_keys WHERE key = $1", key
        )
        return bool(remaining == 0)

    asyncio.run(eventually(purged_by_a_worker, 10 * PURGE_INTERVAL + 5, "the periodic purge"))

    async def purge_while_locked() -> subprocess.CompletedProcess[str]:
        other = await _connect(bounced.bouncer.url("praxis"))
        try:
            async with other.transaction():
                assert await other.fetchval("SELECT pg_try_advisory_xact_lock($1)", PURGE_LOCK_KEY)
                return await asyncio.to_thread(_praxis, bounced.env, "purge")
        finally:
            await other.close()

    skipped = asyncio.run(purge_while_locked())
    assert skipped.returncode == 1, skipped.stderr
    assert "another purge is running" in skipped.stderr


async def _expired_idempotency_key(direct_url: str) -> str:
    key = uuid.uuid4().hex
    await _execute(
        direct_url,
        "INSERT INTO idempotency_keys (user_id, key, request_hash, response_status, "
        "response_body, created_at) SELECT id, $1, 'h', 201, '{}', $2 FROM users LIMIT 1",
        key,
        datetime.now(UTC) - timedelta(hours=25),
    )
    return key


def test_a_statement_past_its_timeout_answers_503_without_a_cancel_request_through_pgbouncer(
    bounced: Bounced, http: httpx.Client
) -> None:
    member = bounced.member
    started = http.post(SESSIONS, headers=member, json={"content_slug": bounced.slug})
    path = f"{SESSIONS}/{started.json()['id']}"
    log_before = len(bounced.bouncer.log())

    async def while_locked() -> tuple[list[httpx.Response], int]:
        locker = await asyncpg.connect(bounced.direct_url, timeout=5)
        try:
            async with locker.transaction():
                await locker.execute("LOCK TABLE practice_sessions IN ACCESS EXCLUSIVE MODE")
                async with httpx.AsyncClient(base_url=bounced.base_url, timeout=15) as c:
                    answers = await asyncio.gather(
                        c.get(path, headers=member),  # a statement on its own
                        c.post(f"{path}/complete", headers=member, json={"score": 50}),
                        # a transaction: asyncpg would wait for its cancel before the rollback
                        c.post(SESSIONS, headers=member, json={"content_slug": bounced.slug}),
                    )
                # The statements the service gave up on still wait on the lock, until the
                # server's statement_timeout ends them.
                abandoned = await _lock_waits(bounced.direct_url)
                await eventually(
                    lambda: _no_lock_waits(bounced.direct_url),
                    SERVER_STATEMENT_TIMEOUT + 2,
                    "the server ending the abandoned statements",
                )
                return list(answers), abandoned
        finally:
            await locker.close()

    answers, abandoned = asyncio.run(while_locked())
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "SERVICE_UNAVAILABLE"
    assert abandoned == len(answers)
    assert "cancel request" not in bounced.bouncer.log()[log_before:]
    assert bounced.bouncer.is_running()
    assert http.get(path, headers=member).status_code == 200


async def _lock_waits(direct_url: str) -> int:
    waiting = await _fetchval(
        direct_url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'",
    )
    return int(waiting)


async def _no_lock_waits(direct_url: str) -> bool:
    return await _lock_waits(direct_url) == 0


# What breaks under transaction pooling: plain asyncpg through PgBouncer


async def _connect(url: str, **options: Any) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=5, **{"statement_cache_size": 0, **options})


@asynccontextmanager
async def _holding_server(url: str, backend_pid: int) -> AsyncIterator[asyncpg.Connection]:
    """Another client in a transaction on the server connection ``backend_pid``: the one
    PgBouncer hands out next, as the last released."""
    other = await _connect(url)
    try:
        async with other.transaction():
            assert await other.fetchval("SELECT pg_backend_pid()") == backend_pid
            yield other
    finally:
        await other.close()


def test_a_cached_prepared_statement_is_missing_on_the_next_server_connection(
    bounced: Bounced,
) -> None:
    async def reuse(statement_cache_size: int) -> object:
        conn = await _connect(bounced.facts_url, statement_cache_size=statement_cache_size)
        try:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            async with _holding_server(bounced.facts_url, pid):
                try:  # the same text again, now on another server connection
                    return await conn.fetchval("SELECT pg_backend_pid()")
                except asyncpg.PostgresError as exc:
                    return exc
        finally:
            await conn.close()

    failed = asyncio.run(reuse(statement_cache_size=100))
    assert isinstance(failed, asyncpg.InvalidSQLStatementNameError)
    assert 'prepared statement "__asyncpg_stmt_' in str(failed)
    assert "does not exist" in str(failed)
    # Without the cache asyncpg sends an unnamed statement, parsed again with each execution.
    assert isinstance(asyncio.run(reuse(statement_cache_size=0)), int)


def test_prepared_statement_names_of_two_clients_collide_on_a_shared_server_connection(
    bounced: Bounced,
) -> None:
    # Each process names its statements __asyncpg_stmt_1__, _2__, ...: two workers sharing a
    # server connection choose the same names. An explicit name stands for that here.
    name = f"praxis_fact_{uuid.uuid4().hex[:8]}"

    async def collide() -> object:
        first = await _connect(bounced.facts_url)
        try:
            # Kept referenced: asyncpg closes a prepared statement it collects.
            prepared = await first.prepare("SELECT pg_backend_pid()", name=name)
            pid = await prepared.fetchval()
            async with _holding_server(bounced.facts_url, pid) as other:
                try:
                    await other.prepare("SELECT 2", name=name)
                except asyncpg.PostgresError as exc:
                    return exc
            return None
        finally:
            await first.close()

    collided = asyncio.run(collide())
    assert isinstance(collided, asyncpg.DuplicatePreparedStatementError)
    assert f'prepared statement "{name}" already exists' in str(collided)


def test_a_session_setting_stays_on_the_server_connection_and_reaches_another_client(
    bounced: Bounced,
) -> None:
    setting = _unique_setting()
    current = f"SELECT current_setting('{setting}', true)"

    async def set_then_read() -> tuple[str | None, str | None]:
        conn = await _connect(bounced.facts_url)
        try:
            await conn.execute(f"SET {setting} = 'set by the first client'")
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            async with _holding_server(bounced.facts_url, pid) as other:
                seen_by_other = await other.fetchval(current)
                seen_by_setter = await conn.fetchval(current)
            return seen_by_other, seen_by_setter
        finally:
            await conn.close()

    assert asyncio.run(set_then_read()) == ("set by the first client", None)


def _unique_setting() -> str:
    """A custom setting no server connection has seen (one that was reset reads as '')."""
    return f"praxis.fact_{uuid.uuid4().hex[:8]}"


def test_a_session_advisory_lock_belongs_to_the_server_connection_not_to_the_client(
    bounced: Bounced,
) -> None:
    key = uuid.uuid4().int & 0x7FFF_FFFF_FFFF_FFFF

    async def lock_then_unlock() -> tuple[bool, bool, bool]:
        conn = await _connect(bounced.facts_url)
        try:
            row = await conn.fetchrow("SELECT pg_try_advisory_lock($1), pg_backend_pid()", key)
            taken, pid = row[0], row[1]
            async with _holding_server(bounced.facts_url, pid) as other:
                # Another client on that server connection "takes" it too (the lock is
                # re-entrant for its holder: the server connection)...
                also_taken = await other.fetchval("SELECT pg_try_advisory_lock($1)", key)
                # ...and the client that took it cannot release it from another one.
                released = await conn.fetchval("SELECT pg_advisory_unlock($1)", key)
                await other.execute("SELECT pg_advisory_unlock_all()")
            return taken, also_taken, released
        finally:
            await conn.close()

    assert asyncio.run(lock_then_unlock()) == (True, True, False)


def test_a_transaction_advisory_lock_excludes_every_other_client_until_its_transaction_ends(
    bounced: Bounced,
) -> None:
    # What the purge and the last-admin check rely on, and what holds through PgBouncer.
    key = uuid.uuid4().int & 0x7FFF_FFFF_FFFF_FFFF
    try_lock = "SELECT pg_try_advisory_xact_lock($1)"

    async def contend() -> tuple[bool, bool, bool]:
        holder, other = await _connect(bounced.facts_url), await _connect(bounced.facts_url)
        try:
            async with holder.transaction():
                held = await holder.fetchval(try_lock, key)
                while_held = await other.fetchval(try_lock, key)
            after = await other.fetchval(try_lock, key)
            return held, while_held, after
        finally:
            await holder.close()
            await other.close()

    assert asyncio.run(contend()) == (True, False, True)


def test_listen_through_pgbouncer_receives_no_notification(bounced: Bounced) -> None:
    channel = f"praxis_fact_{uuid.uuid4().hex[:8]}"
    dropped = "got packet 'A' from server when not linked"

    async def listen_and_notify() -> list[str]:
        received: list[str] = []
        listener = await _connect(bounced.facts_url)
        direct = await _connect(bounced.facts_direct_url)
        try:
            await listener.add_listener(channel, lambda *args: received.append(args[-1]))
            log_before = len(bounced.bouncer.log())
            await direct.execute(f"NOTIFY {channel}, 'hello'")
            # The notification reached the server connection that ran LISTEN, idle in the
            # pool, and PgBouncer dropped it.
            await eventually(
                lambda: _logged(bounced.bouncer, dropped, log_before), 5, "the dropped packet"
            )
            await listener.fetchval("SELECT 1")  # a round trip: nothing is pending for it
            return received
        finally:
            await listener.close()
            await direct.close()

    assert asyncio.run(listen_and_notify()) == []


async def _logged(bouncer: PrivatePgBouncer, line: str, since: int) -> bool:
    return line in bouncer.log()[since:]


def test_startup_settings_pgbouncer_does_not_track_are_refused(bounced: Bounced) -> None:
    async def refused(settings: dict[str, str]) -> str:
        try:
            conn = await _connect(bounced.facts_url, server_settings=settings)
        except asyncpg.ProtocolViolationError as exc:
            return str(exc)
        await conn.close()
        return "accepted"

    for setting, value in [
        ("statement_timeout", "5000"),
        ("options", "-c statement_timeout=5000"),
        ("search_path", "public"),
    ]:
        answer = asyncio.run(refused({setting: value}))
        assert answer == f"unsupported startup parameter: {setting}"
    assert asyncio.run(refused({"application_name": "praxis"})) == "accepted"


def test_a_timed_out_statement_sends_a_cancel_request_but_not_from_the_service_connection(
    bounced: Bounced,
) -> None:
    async def time_out(**options: Any) -> asyncpg.Connection:
        conn = await _connect(bounced.facts_url, **options)
        with pytest.raises(TimeoutError):
            await conn.fetchval("SELECT pg_sleep(2)", timeout=0.2)
        return conn

    async def asyncpg_cancels() -> bool:
        conn = await time_out()
        try:
            # Waits for the cancel request to be answered: closing first, as the pool does
            # with a connection whose statement timed out, is what crashes PgBouncer 1.18.
            return await conn.fetchval("SELECT true") is True
        finally:
            await conn.close()

    async def the_service_connection_closes() -> bool:
        conn = await time_out(**pg_pool.driver_options(pgbouncer=True))
        await eventually(lambda: _closed(conn), 5, "the connection closing")
        return True

    log_before = len(bounced.bouncer.log())
    assert asyncio.run(asyncpg_cancels())
    assert "started sending cancel request" in bounced.bouncer.log()[log_before:]
    log_before = len(bounced.bouncer.log())
    assert asyncio.run(the_service_connection_closes())
    assert "cancel request" not in bounced.bouncer.log()[log_before:]


async def _closed(conn: asyncpg.Connection) -> bool:
    return bool(conn.is_closed())


def test_the_service_pool_sends_no_reset_statement_behind_pgbouncer(bounced: Bounced) -> None:
    # asyncpg's reset (RESET ALL among others) runs on whichever server connection is free,
    # the one the released connection last used here, undoing that connection's session state.
    async def mark_survives(options: dict[str, Any]) -> bool:
        setting = _unique_setting()
        pool = await asyncpg.create_pool(bounced.facts_url, min_size=1, max_size=1, **options)
        try:
            async with pool.acquire() as conn:
                await conn.execute(f"SET {setting} = 'left on release'")
                pid = await conn.fetchval("SELECT pg_backend_pid()")
            async with _holding_server(bounced.facts_url, pid) as other:
                mark = await other.fetchval(f"SELECT current_setting('{setting}', true)")
            return bool(mark)  # RESET ALL leaves '' behind
        finally:
            await pool.close()

    assert asyncio.run(mark_survives(pg_pool.pool_options(pgbouncer=True)))
    assert not asyncio.run(mark_survives({}))  # asyncpg's default pool
