"""The document full-text search reads is a stored generated column of title and summary: it
follows every write, and matching and ranking on it answer exactly as the expression it stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.content import queries
from service.content.queries import ContentFilters, RankedContentRow, SearchDocument
from service.infra import db
from service.kit.pagination import Keyset
from tests.support.api import ADMIN_CONTENT, CONTENT, new_content, slugs
from tests.support.factories import Account, Factories
from tests.support.servers import Api, Server

T0 = datetime.now(UTC) - timedelta(days=30)


def stale_documents(server: Server) -> int:
    """Items whose stored document differs from the one their title and summary give now."""
    rows = server.run(
        db.connection().execute_query_dict(
            "SELECT count(*) AS n FROM content "
            "WHERE search_document IS DISTINCT FROM to_tsvector('english', title || ' ' || summary)"
        )
    )
    return int(rows[0]["n"])


def test_an_item_is_found_by_its_new_title_and_summary_after_an_update_not_its_old(
    api: Api, server: Server, editor: Account
) -> None:
    created = api.post(
        ADMIN_CONTENT,
        token=editor.token,
        json=new_content(slug="renamed", title="Window functions", summary="Rank rows"),
    )
    assert created.status_code == 201, created.text
    item = created.json()["id"]
    assert api.post(f"{ADMIN_CONTENT}/{item}/publish", token=editor.token).status_code == 200
    assert slugs(api.get(CONTENT, params={"q": "window"})) == ["renamed"]

    changed = api.patch(
        f"{ADMIN_CONTENT}/{item}",
        token=editor.token,
        json={"title": "Recursive queries", "summary": "Walk trees with CTEs"},
    )

    assert changed.status_code == 200, changed.text
    assert slugs(api.get(CONTENT, params={"q": "recursive"})) == ["renamed"]
    assert slugs(api.get(CONTENT, params={"q": "trees"})) == ["renamed"]
    assert slugs(api.get(CONTENT, params={"q": "window"})) == []
    assert slugs(api.get(CONTENT, params={"q": "rank"})) == []
    assert stale_documents(server) == 0


def test_items_written_through_the_orm_get_their_document_too(
    server: Server, make: Factories
) -> None:
    item = make.content(title="Joins", summary="Inner and outer")
    item.summary = "Lateral joins"
    server.run(item.save())

    assert stale_documents(server) == 0


def search(server: Server, text: str, document: SearchDocument) -> list[RankedContentRow]:
    """Every match of ``text``, walked two at a time the way cursors resume a search."""
    found: list[RankedContentRow] = []
    after: Keyset | None = None
    while True:
        page = server.run(
            queries.search_page(db.connection(), ContentFilters(), text, after, 2, document)
        )
        found += page
        if len(page) < 2:
            return found
        last = page[-1]
        after = Keyset(last.published_at, last.id, rank=last.rank)


@pytest.mark.parametrize("text", ["joins", "join tables", '"outer joins"', "joins -outer", "the"])
def test_the_stored_document_matches_and_ranks_as_the_expression_it_stores(
    server: Server, make: Factories, text: str
) -> None:
    titles = ["Joins", "Joins joins", "Outer joins", "Inner joins", "Tables", "Sorting"]
    for n, title in enumerate(titles):
        make.content(title=title, summary=f"Join {n} tables", published_at=T0 + timedelta(n))
        make.content(title=title, summary="", published_at=T0 + timedelta(n))  # same instant

    stored = search(server, text, SearchDocument.COLUMN)

    assert stored == search(server, text, SearchDocument.EXPRESSION)
    assert len(stored) == len({row.id for row in stored})
