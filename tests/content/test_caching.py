"""Public reads are cached (Redis, else in-process), revalidated with strong ETags, and an admin
write is visible to the very next read: invalidation, not expiry."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from service.config import Settings
from service.models import Content
from tests.support.api import ADMIN_CONTENT, CONTENT, TAGS, new_content
from tests.support.caches import redis_down, redis_replaced
from tests.support.factories import Account, Factories
from tests.support.metrics import CacheCounts, queries_issued
from tests.support.servers import Api, Server

PUBLIC_READS = [CONTENT, f"{CONTENT}/joins", TAGS]


@pytest.fixture
def joins(make: Factories) -> Content:
    return make.content(slug="joins", title="Joins", tags=["sql"])


# ETags and conditional requests


@pytest.mark.parametrize("path", PUBLIC_READS)
def test_reads_carry_a_strong_etag_and_must_be_revalidated(
    api: Api, joins: Content, path: str
) -> None:
    response = api.get(path)

    assert response.status_code == 200
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert not etag.startswith("W/")
    assert response.headers["cache-control"] == "public, max-age=0, must-revalidate"


def test_the_etag_is_the_same_for_the_same_body(api: Api, joins: Content) -> None:
    first, second = api.get(CONTENT), api.get(CONTENT)
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]


@pytest.mark.parametrize("path", PUBLIC_READS)
def test_a_matching_if_none_match_gets_304_without_a_body(
    api: Api, joins: Content, path: str
) -> None:
    etag = api.get(path).headers["etag"]

    response = api.get(path, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=0, must-revalidate"


@pytest.mark.parametrize(
    "header",
    ['"other", {etag}', '{etag},"other"', "*", "W/{etag}"],
    ids=["list-last", "list-first", "star", "weak-form"],
)
def test_if_none_match_accepts_lists_star_and_the_weak_form(
    api: Api, joins: Content, header: str
) -> None:
    etag = api.get(CONTENT).headers["etag"]
    response = api.get(CONTENT, headers={"If-None-Match": header.format(etag=etag)})
    assert response.status_code == 304


def test_a_stale_etag_gets_the_new_body(api: Api, joins: Content, editor: Account) -> None:
    etag = api.get(CONTENT).headers["etag"]
    api.patch(f"{ADMIN_CONTENT}/{joins.id}", token=editor.token, json={"title": "Outer joins"})

    response = api.get(CONTENT, headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.json()["items"][0]["title"] == "Outer joins"
    assert response.headers["etag"] != etag


def test_errors_are_not_cached_and_carry_no_etag(api: Api) -> None:
    counts = CacheCounts()
    first = api.get(f"{CONTENT}/missing")
    second = api.get(f"{CONTENT}/missing", headers={"If-None-Match": "*"})

    assert (first.status_code, second.status_code) == (404, 404)
    assert "etag" not in first.headers
    assert counts.deltas() == {"redis/miss": 2}


# The cache serves


def test_a_repeated_read_is_served_from_the_workers_memory_and_queries_nothing(
    api: Api, joins: Content
) -> None:
    counts = CacheCounts()
    first_count, first = queries_issued(CONTENT, lambda: api.get(CONTENT))
    second_count, second = queries_issued(CONTENT, lambda: api.get(CONTENT))

    assert (first_count, second_count) == (1, 0)
    assert second.content == first.content
    # The generation came with the limiter's call: the second read asks Redis nothing more.
    assert counts.deltas() == {"redis/miss": 1, "local/hit": 1}


def test_each_distinct_query_is_its_own_entry(api: Api, joins: Content) -> None:
    counts = CacheCounts()
    api.get(CONTENT, params={"limit": 5})
    api.get(CONTENT, params={"limit": 6})
    api.get(CONTENT, params={"limit": 5, "kind": "drill"})
    api.get(CONTENT, params={"limit": 5})

    assert counts.deltas() == {"redis/miss": 3, "local/hit": 1}


def test_entries_live_in_redis_under_the_key_prefix_and_expire_within_the_ttl(
    api: Api, joins: Content, server: Server, settings: Settings
) -> None:
    api.get(f"{CONTENT}/joins")
    redis = server.app.ctx.redis
    prefix = settings.redis_key_prefix + "cache:content:"

    keys = server.run(_keys(redis, prefix + "*"))
    generation = server.run(redis.get(prefix + "gen")).decode()
    entry = prefix + generation + ":detail:joins"

    assert set(keys) == {prefix + "gen", entry}
    assert 0 < server.run(redis.ttl(entry)) <= settings.cache_ttl_seconds
    assert server.run(redis.get(entry)) == api.get(f"{CONTENT}/joins").content


async def _keys(redis: Redis, pattern: str) -> list[str]:
    return [key.decode() async for key in redis.scan_iter(match=pattern)]


# Invalidation: an admin write is visible to the very next read


def test_publishing_shows_the_item_at_the_next_read(
    api: Api, make: Factories, editor: Account
) -> None:
    draft = make.content(slug="draft", published=False, tags=["new-tag"])
    assert api.get(CONTENT).json()["items"] == []
    assert api.get(f"{CONTENT}/draft").status_code == 404
    assert api.get(TAGS).json()["items"] == []

    api.post(f"{ADMIN_CONTENT}/{draft.id}/publish", token=editor.token)

    assert [i["slug"] for i in api.get(CONTENT).json()["items"]] == ["draft"]
    assert api.get(f"{CONTENT}/draft").status_code == 200
    assert api.get(TAGS).json()["items"] == [{"name": "new-tag", "content_count": 1}]


def test_unpublishing_hides_the_item_at_the_next_read(
    api: Api, joins: Content, editor: Account
) -> None:
    for path in PUBLIC_READS:
        assert api.get(path).status_code == 200

    api.post(f"{ADMIN_CONTENT}/{joins.id}/unpublish", token=editor.token)

    assert api.get(CONTENT).json()["items"] == []
    assert api.get(f"{CONTENT}/joins").status_code == 404
    assert api.get(TAGS).json()["items"] == []


def test_an_update_shows_at_the_next_read(api: Api, joins: Content, editor: Account) -> None:
    for path in PUBLIC_READS:
        api.get(path)

    api.patch(
        f"{ADMIN_CONTENT}/{joins.id}",
        token=editor.token,
        json={"title": "Outer joins", "tags": ["sql", "outer"]},
    )

    assert api.get(CONTENT).json()["items"][0]["title"] == "Outer joins"
    assert api.get(f"{CONTENT}/joins").json()["tags"] == ["outer", "sql"]
    assert [t["name"] for t in api.get(TAGS).json()["items"]] == ["outer", "sql"]


def test_a_deletion_shows_at_the_next_read(api: Api, joins: Content, editor: Account) -> None:
    for path in PUBLIC_READS:
        api.get(path)

    api.delete(f"{ADMIN_CONTENT}/{joins.id}", token=editor.token)

    assert api.get(CONTENT).json()["items"] == []
    assert api.get(f"{CONTENT}/joins").status_code == 404
    assert api.get(TAGS).json()["items"] == []


def test_a_write_makes_the_next_read_a_miss_then_reads_hit_again(
    api: Api, joins: Content, editor: Account
) -> None:
    api.get(CONTENT)
    api.post(ADMIN_CONTENT, token=editor.token, json=new_content())

    counts = CacheCounts()
    api.get(CONTENT)
    api.get(CONTENT)
    assert counts.deltas() == {"redis/miss": 1, "local/hit": 1}


# Without Redis


def test_when_redis_fails_reads_still_answer_from_the_in_process_cache(
    api: Api, joins: Content, server: Server
) -> None:
    with redis_down(server):
        counts = CacheCounts()
        responses = [api.get(CONTENT) for _ in range(3)]

        assert [r.status_code for r in responses] == [200, 200, 200]
        assert responses[0].json()["items"][0]["slug"] == "joins"
        # The first failure opens the breaker; the next reads skip Redis, counted as errors too.
        assert counts.deltas() == {"redis/error": 3, "local/miss": 1, "local/hit": 2}


def test_when_redis_fails_etags_and_304_still_work(
    api: Api, joins: Content, server: Server
) -> None:
    etag = api.get(f"{CONTENT}/joins").headers["etag"]
    with redis_down(server):
        response = api.get(f"{CONTENT}/joins", headers={"If-None-Match": etag})
    assert response.status_code == 304


def test_when_redis_fails_admin_writes_succeed_and_show_at_the_next_read(
    api: Api, joins: Content, editor: Account, server: Server
) -> None:
    with redis_down(server):
        api.get(CONTENT)
        response = api.patch(
            f"{ADMIN_CONTENT}/{joins.id}", token=editor.token, json={"title": "Outer joins"}
        )
        assert response.status_code == 200
        assert api.get(CONTENT).json()["items"][0]["title"] == "Outer joins"


def test_a_write_made_while_redis_was_down_invalidates_redis_once_it_is_back(
    api: Api, joins: Content, editor: Account, server: Server
) -> None:
    assert api.get(CONTENT).json()["items"][0]["title"] == "Joins"  # cached in Redis
    cache = server.app.ctx.read_caches["content"]
    with redis_down(server):
        # The same cache object lives on: as the worker's would through an outage.
        server.app.ctx.read_caches = {"content": cache}
        api.patch(f"{ADMIN_CONTENT}/{joins.id}", token=editor.token, json={"title": "Outer"})
    server.app.ctx.read_caches = {"content": cache}

    assert api.get(CONTENT).json()["items"][0]["title"] == "Outer"


def test_without_redis_configured_the_in_process_cache_serves_and_is_invalidated(
    api: Api, joins: Content, editor: Account, server: Server
) -> None:
    with redis_replaced(server, None):
        counts = CacheCounts()
        api.get(CONTENT)
        api.get(CONTENT)
        api.post(f"{ADMIN_CONTENT}/{joins.id}/unpublish", token=editor.token)
        after_write = api.get(CONTENT)

        assert after_write.json()["items"] == []
        assert counts.deltas() == {"local/miss": 2, "local/hit": 1}
