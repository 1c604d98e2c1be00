"""On a realistic amount of data, the planner serves the hot queries from indexes: the SQL an
endpoint really sends is captured and EXPLAINed (no sequential scan of the big tables)."""

import asyncio
import json
import random
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from service.config import Settings
from service.infra import db
from service.kit import security
from service.ops.seed import _insert_content, _insert_sessions, _insert_users
from tests.support.api import CONTENT, HISTORY
from tests.support.servers import Api, Server

USERS, ITEMS, SESSIONS = 400, 5000, 40_000
PlanNode = dict[str, Any]


@pytest.fixture
def seeded(server: Server) -> uuid.UUID:
    """The database filled with many users, items and sessions; the id of a user who has some."""

    async def seed() -> uuid.UUID:
        conn = db.connection()  # the seed's functions run on the ORM's pool, the server's loop
        rng = random.Random(1)
        await _insert_users(conn, USERS, rng)
        await _insert_content(conn, ITEMS, published_share=0.9, rng=rng)
        users = [r["id"] for r in await conn.execute_query_dict("SELECT id FROM users")]
        items = [r["id"] for r in await conn.execute_query_dict("SELECT id FROM content")]
        await _insert_sessions(conn, users, items, SESSIONS, rng)
        await conn.execute_script(
            "INSERT INTO session_events (session_id, kind, data, created_at) "
            "SELECT id, 'answer', '{}'::jsonb, started_at FROM practice_sessions"
        )
        # As autovacuum soon would: statistics, and the rows just copied in moved from the GIN
        # index's pending list into the index proper (the planner prices a long list high).
        await conn.execute_script("VACUUM ANALYZE")
        first: uuid.UUID = users[0]
        return first

    return server.run(seed())


def statements_of(api: Api, path: str, **kwargs: Any) -> list[db.Statement]:
    with db.recorded_statements() as statements:
        assert api.get(path, **kwargs).status_code == 200
    return statements


def plan_nodes(database_url: str, sql: str, params: Sequence[Any]) -> list[PlanNode]:
    async def explain() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            plan: str = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *params)
            return plan
        finally:
            await conn.close()

    plan = json.loads(asyncio.run(explain()))[0]["Plan"]
    nodes: list[PlanNode] = []
    stack: list[PlanNode] = [plan]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def scans(nodes: list[PlanNode], table: str) -> list[str]:
    return [n["Node Type"] for n in nodes if n.get("Relation Name") == table]


def test_history_reads_the_callers_sessions_through_an_index(
    api: Api, seeded: uuid.UUID, settings: Settings, database_url: str
) -> None:
    token, _ = security.issue_access_token(seeded, uuid.uuid4(), settings.jwt_secret, 60)
    statements = statements_of(api, f"{HISTORY}?limit=20", token=token)
    history = [s for s in statements if "practice_sessions" in s[0]]
    assert history, "the history endpoint sent no query on practice_sessions"
    for sql, params in history:
        nodes = plan_nodes(database_url, sql, params)
        session_scans = scans(nodes, "practice_sessions")
        assert session_scans, "the statement reads no practice_sessions"
        assert "Seq Scan" not in session_scans, session_scans
        assert "Seq Scan" not in scans(nodes, "session_events")


def test_the_public_content_list_is_served_by_an_index(
    api: Api, seeded: uuid.UUID, database_url: str
) -> None:
    statements = statements_of(api, f"{CONTENT}?limit=20")
    listing = [s for s in statements if "FROM content c" in s[0]]
    assert listing
    for sql, params in listing:
        nodes = plan_nodes(database_url, sql, params)
        assert "Seq Scan" not in scans(nodes, "content"), scans(nodes, "content")


def test_the_category_filter_is_served_by_an_index(
    api: Api, seeded: uuid.UUID, database_url: str
) -> None:
    statements = statements_of(api, f"{CONTENT}?category=python&limit=20")
    for sql, params in [s for s in statements if "FROM content c" in s[0]]:
        nodes = plan_nodes(database_url, sql, params)
        assert "Seq Scan" not in scans(nodes, "content"), scans(nodes, "content")


def test_full_text_search_reads_the_stored_document_through_its_gin_index(
    api: Api, seeded: uuid.UUID, database_url: str
) -> None:
    statements = statements_of(api, f"{CONTENT}?q=python&limit=20")
    searches = [s for s in statements if "@@" in s[0]]
    assert searches, "the search sent no full-text match"
    for sql, params in searches:
        assert "to_tsvector" not in sql  # matched and ranked on the stored column, not computed
        nodes = plan_nodes(database_url, sql, params)
        index_scans = {(n["Node Type"], n.get("Index Name")) for n in nodes}
        assert ("Bitmap Index Scan", "idx_content_search_document") in index_scans, index_scans
        assert "Seq Scan" not in scans(nodes, "content"), scans(nodes, "content")
