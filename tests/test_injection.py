"""Injection attempts in every parameter of every operation of /docs/openapi.json: SQL
metacharacters, oversized text, Unicode edge cases, NUL and control characters, in every path,
query and header parameter and every body field (as the value, an array's item, an object's key
or value). The operations come from the document, so a new route is swept without a change here;
a parameter the sweep cannot fill or judge fails it.

How an answer is judged. Each value is read as the server reads it and held against the
parameter's documented schema:

- a value the schema refuses, and any 100 000-character text, must be refused: a problem of the
  catalog, documented for the operation, naming the parameter when it is a 422;
- a value the schema allows may get any status the operation documents, never a 5xx. A 2xx read
  is a list, and either the list without the parameter (the document reads the value as absent)
  or empty: no seeded text holds any hostile value, so a filter that reads one as text matches
  nothing, while a wildcard or an ``OR`` reaching the SQL would match the seeded rows.

Every table of the schema is compared before and after each operation's requests, none
excluded: no read and no refused request writes anything (rate limits, read caches and the
callers' permissions live in Redis). Values that fields in ``STORING`` accept are stored by
design, so the write sweep leaves them to the round-trip test, which checks that each is stored
and answered exactly as sent (or as the documented normalisation says) and that nothing else
changed. Any other write that changes a table fails the sweep, naming the operation.

Left out, on purpose: header values HTTP cannot carry (NUL, CR, LF, whitespace at the ends);
of the values a password allows, all but a few (it only ever reaches Argon2, at a fifth of a
second of CPU each). A parameter that holds no free text (a number, a flag, an enum, a UUID, a
date) gets one value of each kind (``TYPED_PROBES``), since its type refuses them all alike."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest

from service.config import Settings
from service.content.schemas import normalize_tag
from service.kit import security
from service.kit.fields import ASCII_WHITESPACE
from tests.support.factories import Account, Factories
from tests.support.hostile import (
    Call,
    Placement,
    at_limits,
    holds_lone_surrogate,
    placements,
    send_all,
)
from tests.support.openapi import BODY, HEADER, PATH, QUERY, Document, Operation
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server, serving, variant_app
from tests.support.snapshots import Change, Snapshots

# The refusals each place of a parameter can get: a path that names nothing is not found, text
# too long for the request head (8 KiB) is a 431, a body that is not JSON a 400, one too large
# a 413; everything else the validation of the parameter (422).
REFUSALS = {
    PATH: {404, 422, 431},
    QUERY: {422, 431},
    HEADER: {422, 431},
    BODY: {400, 413, 422},
}
# A few of the values a password allows show that any text is hashed (and stored as a hash that
# verifies); the rest of the sweep's time goes to fields that reach SQL.
PASSWORDS = {
    ("POST", "/api/v1/auth/register", "password"),
    ("POST", "/api/v1/auth/login", "password"),
}
HASHED_SAMPLE = {"drop-table", "emoji", "astral-at-maxLength-256"}


@pytest.fixture(scope="module")
def document(server: Server, settings: Settings) -> Document:
    """Read from an app started here: sanic-ext's document follows the app started last."""
    with serving(variant_app(settings), loop=server.loop) as docs:
        spec: dict[str, Any] = docs.run(docs.http.get("/docs/openapi.json")).json()
    return Document(spec)


@dataclass(frozen=True)
class World:
    """What the sweep acts on: an admin caller (every permission; the owner of the session)
    and, by path parameter name, something that exists for each. No text stored here holds a
    hostile value, or a word of one (the public search matches words)."""

    caller: Account
    path_values: dict[str, str]


@pytest.fixture
def world(make: Factories) -> World:
    caller = make.admin()
    member = make.user(display_name="Plain member")
    published = make.content(
        slug="window-functions",
        title="Window functions",
        summary="Rank rows over partitions",
        body="Window body",
        tags=["analytics"],
    )
    draft = make.content(
        published=False,
        slug="draft-notes",
        title="Draft notes",
        summary="Unfinished",
        body="Draft body",
    )
    session = make.practice_session(caller, published)
    values = {
        "slug": published.slug,
        "session_id": str(session.id),
        "content_id": str(draft.id),
        "user_id": str(member.id),
        "name": make.role("audit:read"),
    }
    return World(caller, values)


def call_for(operation: Operation, world: World, body: dict[str, Any] | None = None) -> Call:
    """The operation with a valid value in every path parameter, its body's example (or
    ``body``) and the caller's token when it needs one."""
    path_names = [p.name for p in operation.parameters if p.location == PATH]
    unfillable = [name for name in path_names if name not in world.path_values]
    assert not unfillable, f"{operation.name}: nothing to fill path parameters {unfillable} with"
    required = [
        p.name for p in operation.parameters if p.required and p.location in (QUERY, HEADER)
    ]
    assert not required, f"{operation.name}: no value to fill required parameters {required}"
    has_body = any(p.location == BODY for p in operation.parameters)
    if has_body and body is None:
        assert operation.body_example is not None, f"{operation.name}: its body has no example"
        body = copy.deepcopy(operation.body_example)
    headers = {"Authorization": f"Bearer {world.caller.token}".encode()}
    return Call(
        operation.method,
        operation.path,
        path_values={name: world.path_values[name] for name in path_names},
        headers=headers if operation.secured else {},
        body=body if has_body else None,
    )


def sweep_placements(document: Document, operation: Operation) -> Iterator[Placement]:
    """Every placement of every parameter of the operation that HTTP can carry."""
    example = operation.body_example or {}
    for parameter in operation.parameters:
        for placement in placements(document, parameter, example.get(parameter.name)):
            if placement.sendable:
                yield placement


def refused_by_document(document: Document, placement: Placement) -> bool:
    """Whether the value must be refused: the schema does not allow it, or it is 100 k long."""
    parameter = placement.parameter
    allowed = document.accepts(parameter.schema, placement.seen(), parameter.location)
    return placement.oversized or not allowed


def reads_as_absent(document: Document, placement: Placement) -> bool:
    """A query value the document reads as the parameter left out (its last ``anyOf`` option:
    an empty or blank value, which a blank filter value is too)."""
    parameter = placement.parameter
    if parameter.location != QUERY:
        return False
    absent = parameter.schema["anyOf"][-1]
    return document.accepts(absent, placement.seen(), QUERY)


def problem_complaint(operation: Operation, response: httpx.Response) -> str | None:
    """A 4xx must be a problem of the catalog with a code the operation documents for it."""
    status = response.status_code
    try:
        code = response.json()["code"]
        assert_problem(response, status, code)
    except (AssertionError, KeyError, ValueError) as exc:
        return f"{status} is not a problem of the catalog: {exc!r:.300}"
    if code not in operation.codes(status):
        return f"{status} {code} is not documented for the operation"
    return None


def refusal_complaint(placement: Placement, response: httpx.Response) -> str | None:
    """A value the document refuses must be refused, for what is wrong with it."""
    status, location = response.status_code, placement.parameter.location
    if status not in REFUSALS[location]:
        return f"answered {status}; a value the document refuses is {sorted(REFUSALS[location])}"
    if status == 422 and location != PATH:
        name = placement.parameter.name
        fields = [error["field"] for error in response.json()["errors"]]
        if not any(f == name or f.startswith(f"{name}.") for f in fields):
            return f"a 422 naming {fields}, not {name}"
    if status in (413, 431) and not placement.oversized:
        return f"answered {status} to {len(placement.text)} characters"
    if status == 400 and not holds_lone_surrogate(placement.text):
        return "answered 400 MALFORMED_JSON to valid JSON"
    return None


@dataclass
class Sweep:
    """Sends placements, judges answers, and compares the tables after each operation."""

    server: Server
    document: Document
    world: World
    complaints: list[str] = field(default_factory=list)
    sent: int = 0
    _baselines: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.snapshots = Snapshots(self.server)
        self.before = self.snapshots.take()

    def run(self, operation: Operation, chosen: Callable[[Placement], bool]) -> None:
        """Send the operation every chosen placement (concurrently: none of them may change
        anything), judge each answer, then compare the tables."""
        cases = [p for p in sweep_placements(self.document, operation) if chosen(p)]
        calls = []
        for placement in cases:
            call = call_for(operation, self.world)
            call.place(placement)
            calls.append(call)
        for placement, response in zip(cases, send_all(self.server, calls), strict=True):
            complaint = self.judge(operation, placement, response)
            if complaint is not None:
                label = f"{placement.parameter.name}={placement.label}"
                self.complaints.append(f"{operation.name} {label}: {complaint}")
        self.sent += len(calls)
        self.compare_tables(operation)

    def judge(
        self, operation: Operation, placement: Placement, response: httpx.Response
    ) -> str | None:
        status = response.status_code
        if status >= 500:
            return f"answered {status}: {response.text[:300]}"
        if not operation.documents(status):
            return (
                f"answered {status}, which the operation does not document: {response.text[:300]}"
            )
        if status >= 400 and (complaint := problem_complaint(operation, response)):
            return complaint
        if refused_by_document(self.document, placement):
            return refusal_complaint(placement, response)
        if 200 <= status < 300 and operation.reads:
            return self.read_complaint(operation, placement, response)
        return None

    def read_complaint(
        self, operation: Operation, placement: Placement, response: httpx.Response
    ) -> str | None:
        answer = response.json()
        if not isinstance(answer, dict) or "items" not in answer:
            return f"a hostile value was answered {response.status_code}: {response.text[:300]}"
        absent = reads_as_absent(self.document, placement)
        expected = self.baseline(operation) if absent else []
        if answer["items"] != expected:
            found = len(answer["items"])
            return f"found {found} items, expected {len(expected)}: {response.text[:300]}"
        return None

    def baseline(self, operation: Operation) -> Any:
        """The items of the operation's answer without the swept parameter."""
        if operation.name not in self._baselines:
            response = call_for(operation, self.world).send(self.server)
            assert response.status_code == 200, response.text
            self._baselines[operation.name] = response.json()["items"]
        return self._baselines[operation.name]

    def compare_tables(self, operation: Operation) -> None:
        after = self.snapshots.take()
        changes = after.changes_since(self.before)
        if changes:
            self.complaints.append(f"{operation.name} changed {describe(changes)}")
        self.before = after


def describe(changes: dict[str, Change]) -> str:
    return "; ".join(
        f"{table}: -{change.removed!r:.300} +{change.added!r:.300}"
        for table, change in changes.items()
    )


def test_every_operation_is_swept_with_values_in_every_parameter(
    document: Document, world: World
) -> None:
    """The sweep covers the whole document (which documents every route the app serves, as
    tests/docs/test_openapi_contract.py checks): every operation can be filled, and every one
    of its parameters gets hostile values. Nothing here lists routes or parameters."""
    operations = document.operations()
    assert len(operations) >= 30
    for operation in operations:
        call_for(operation, world)  # fails for a parameter the sweep cannot fill
        swept = {placement.parameter.name for placement in sweep_placements(document, operation)}
        assert swept == {p.name for p in operation.parameters}, operation.name


def test_reads_refuse_hostile_values_or_match_them_as_text_and_change_nothing(
    document: Document, world: World, server: Server
) -> None:
    sweep = Sweep(server, document, world)
    for operation in document.operations():
        if operation.reads:
            sweep.run(operation, lambda _: True)
    assert not sweep.complaints, "\n".join(sweep.complaints)
    assert sweep.sent > 300


def test_writes_refuse_hostile_values_and_change_nothing(
    document: Document, world: World, server: Server
) -> None:
    sweep = Sweep(server, document, world)
    for operation in document.operations():
        if operation.reads:
            continue
        sweep.run(operation, partial(sent_by_the_write_sweep, document, operation))
    assert not sweep.complaints, "\n".join(sweep.complaints)
    assert sweep.sent > 600


def sent_by_the_write_sweep(document: Document, operation: Operation, placement: Placement) -> bool:
    """Every value the document refuses; of those it allows, none that a field stores (the
    round-trip test's) and, of a password, only those of ``HASHED_SAMPLE``."""
    if refused_by_document(document, placement):
        return True
    key, name = (operation.method, operation.path), placement.parameter.name
    if key in STORING and name in STORING[key].fields:
        return False
    if (*key, name) in PASSWORDS:
        return placement.label in HASHED_SAMPLE
    return True


# The fields that keep what they are sent, where they keep it and in what form.


def _same(value: Any) -> Any:
    return value


def _stripped(value: str) -> str:
    return value.strip()


def _email(value: str) -> str:
    return value.strip(ASCII_WHITESPACE).lower()


def _tags(value: list[str]) -> list[str]:
    return [normalize_tag(tag) for tag in value]


@dataclass(frozen=True)
class Stored:
    """Where a field's value lands (``table.column``) and in what form: ``answered`` is the
    field in the answer (None: the answer does not show it), ``stored`` the column's value."""

    table: str
    column: str
    answered: Callable[[Any], Any] | None = _same
    stored: Callable[[Any], Any] = _same
    hashed: bool = False

    def holds(self, column_value: Any, sent: Any) -> bool:
        if self.hashed:
            return security.verify_password(column_value, sent)
        return bool(column_value == self.stored(sent))


@dataclass(frozen=True)
class Storing:
    """An operation that stores fields: the tables a request may change, the status of success
    and a valid body without the field (fresh for the n-th request, for unique values)."""

    fields: dict[str, Stored]
    writes: frozenset[str]
    status: int
    body: Callable[[int], dict[str, Any]]


CONTENT_WRITES = frozenset({"content", "tags", "content_tags", "audit_records"})
CONTENT_FIELDS = {
    "title": Stored("content", "title", _stripped, _stripped),
    "summary": Stored("content", "summary"),
    "body": Stored("content", "body"),
    "tags": Stored("tags", "name", _tags, lambda tags: normalize_tag(tags[0])),
}
CONTENT_EXAMPLE = {
    "title": "SQL joins warm-up",
    "summary": "Five short join exercises.",
    "body": "# Warm-up",
    "kind": "drill",
    "category": "databases",
    "difficulty": "beginner",
    "duration_minutes": 10,
    "tags": ["sql"],
}
STORING: dict[tuple[str, str], Storing] = {
    ("POST", "/api/v1/auth/register"): Storing(
        {
            "email": Stored("users", "email", _email, _email),
            "display_name": Stored("users", "display_name", _stripped, _stripped),
            "password": Stored("users", "password_hash", None, hashed=True),
        },
        frozenset({"users", "user_roles"}),
        201,
        lambda n: {
            "email": f"round-trip-{n}@example.com",
            "password": "long enough password",
            "display_name": "Round trip",
        },
    ),
    # A key is kept with the answer it got, a 404 included: replayed to a retry.
    ("POST", "/api/v1/sessions"): Storing(
        {"Idempotency-Key": Stored("idempotency_keys", "key", None)},
        frozenset({"idempotency_keys"}),
        404,
        lambda _: {"content_slug": "no-such-content"},
    ),
    ("PATCH", "/api/v1/sessions/{session_id}"): Storing(
        {"notes": Stored("practice_sessions", "notes")},
        frozenset({"practice_sessions"}),
        200,
        lambda _: {},
    ),
    ("POST", "/api/v1/sessions/{session_id}/events"): Storing(
        {"kind": Stored("session_events", "kind"), "data": Stored("session_events", "data")},
        frozenset({"session_events"}),
        201,
        lambda _: {"kind": "hint", "data": {}},
    ),
    ("POST", "/api/v1/admin/content"): Storing(
        CONTENT_FIELDS, CONTENT_WRITES, 201, lambda _: dict(CONTENT_EXAMPLE)
    ),
    ("PATCH", "/api/v1/admin/content/{content_id}"): Storing(
        CONTENT_FIELDS, CONTENT_WRITES, 200, lambda _: {}
    ),
    ("PATCH", "/api/v1/admin/users/{user_id}"): Storing(
        {"display_name": Stored("users", "display_name", _stripped, _stripped)},
        frozenset({"users", "audit_records"}),
        200,
        lambda _: {},
    ),
    ("POST", "/api/v1/admin/roles"): Storing(
        {"description": Stored("roles", "description")},
        frozenset({"roles", "role_permissions", "audit_records"}),
        201,
        lambda n: {"name": f"stored-{n}", "permissions": ["audit:read"]},
    ),
    ("PUT", "/api/v1/admin/roles/{name}"): Storing(
        {"description": Stored("roles", "description")},
        frozenset({"roles", "role_permissions", "audit_records"}),
        200,
        lambda _: {"permissions": ["audit:read"]},
    ),
}
# Columns a write changes besides the fields it was sent.
BOOKKEEPING_COLUMNS = {"updated_at"}
# Columns PostgreSQL computes from others (generated, STORED): no request writes them.
GENERATED_COLUMNS = {("content", "search_document")}


def accepted_placements(document: Document, operation: Operation, name: str) -> list[Placement]:
    """The hostile texts, and text at each length limit, that the field's schema allows (of a
    password, those of ``HASHED_SAMPLE``)."""
    (parameter,) = [p for p in operation.parameters if p.name == name]
    candidates = placements(document, parameter, None) + at_limits(document, parameter)
    accepted = [p for p in candidates if p.sendable and not refused_by_document(document, p)]
    if (operation.method, operation.path, name) in PASSWORDS:
        accepted = [p for p in accepted if p.label in HASHED_SAMPLE]
    return accepted


def requests_of(document: Document, operation: Operation) -> list[dict[str, Placement]]:
    """The accepted values of every stored field, several fields to a request: the n-th request
    carries each field's n-th value (a field out of values keeps the valid body's)."""
    fields = STORING[(operation.method, operation.path)].fields
    values = {name: accepted_placements(document, operation, name) for name in fields}
    assert all(values.values()), f"{operation.name}: a field accepts no hostile value: {values}"
    count = max(len(found) for found in values.values())
    return [
        {name: found[n] for name, found in values.items() if n < len(found)} for n in range(count)
    ]


def storage_complaints(
    storing: Storing, placed: dict[str, Placement], answer: Any, changes: dict[str, Change]
) -> Iterator[str]:
    """What is wrong with how the request's fields were answered and stored, and with what else
    it changed: the tables it writes only, and in rows it changed, only the fields' columns."""
    if not set(changes) <= storing.writes:
        yield f"changed tables it does not write: {describe(changes)}"
    allowed = {(s.table, s.column) for s in (storing.fields[name] for name in placed)}
    for name, placement in placed.items():
        stored = storing.fields[name]
        if stored.answered is not None and answer[name] != stored.answered(placement.value):
            yield f"{name}={placement.label}: answered {answer[name]!r:.200}"
        change = changes.get(stored.table)
        added = change.added if change else []
        if not any(stored.holds(row[stored.column], placement.value) for row in added):
            yield f"{name}={placement.label}: no row of {stored.table} now holds it"
    for table, change in changes.items():
        for before, after in matching_rows(change):
            differing = {key for key in after if after[key] != before.get(key)}
            unexpected = {
                c
                for c in differing - BOOKKEEPING_COLUMNS
                if (table, c) not in allowed | GENERATED_COLUMNS
            }
            if unexpected:
                yield f"changed {table}.{sorted(unexpected)} too"


def matching_rows(change: Change) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(before, after) of each row changed in place (the same ``id``)."""
    before = {row["id"]: row for row in change.removed if "id" in row}
    for row in change.added:
        if row.get("id") in before:
            yield before[row["id"]], row


@pytest.mark.parametrize("storing_operation", list(STORING), ids=" ".join)
def test_values_a_field_allows_are_stored_and_answered_exactly_and_change_nothing_else(
    storing_operation: tuple[str, str], document: Document, world: World, server: Server
) -> None:
    """Each request carries one accepted value in each stored field; the tables are compared
    around it."""
    (operation,) = [o for o in document.operations() if (o.method, o.path) == storing_operation]
    storing = STORING[storing_operation]
    snapshots = Snapshots(server)
    complaints: list[str] = []
    requests = requests_of(document, operation)
    for n, placed in enumerate(requests):
        call = call_for(operation, world, body=storing.body(n))
        for placement in placed.values():
            call.place(placement)
        before = snapshots.take()
        response = call.send(server)
        if response.status_code != storing.status:
            labels = {name: placement.label for name, placement in placed.items()}
            complaints.append(f"{labels}: answered {response.status_code}: {response.text[:300]}")
            continue
        changes = snapshots.take().changes_since(before)
        complaints += storage_complaints(storing, placed, response.json(), changes)
    assert not complaints, "\n".join(complaints)
    assert len(requests) >= 5


def test_every_storing_operation_and_field_is_documented(document: Document) -> None:
    """``STORING`` names operations and fields the document has (a rename must reach it)."""
    documented = {(o.method, o.path): {p.name for p in o.parameters} for o in document.operations()}
    for key, storing in STORING.items():
        assert set(storing.fields) <= documented[key], key


# Searches that match substrings: metacharacters in the text searched for are text.
SEARCHED_FIELDS = {
    "/api/v1/admin/users": ("email", "display_name"),
    "/api/v1/admin/content": ("title", "slug"),
}
HOLDING_METACHARACTERS = [
    "O'Brien",
    "100% sure",
    "snake_case",
    "50%_off",
    "back\\slash",
    "costs $1",
    "' OR '1'='1 as text",
]
METACHARACTERS = ["'", "%", "_", "\\", "$1", "' OR '1'='1", "%_"]


@pytest.mark.parametrize("path", list(SEARCHED_FIELDS))
def test_searching_for_sql_metacharacters_finds_exactly_the_text_that_holds_them(
    path: str, api: Api, make: Factories
) -> None:
    """The substring searches escape LIKE's wildcards and bind the text: ``%`` finds the rows
    holding a percent sign, not every row."""
    caller = make.admin()
    for n, text in enumerate([*HOLDING_METACHARACTERS, "Plain"]):
        if path.endswith("users"):
            make.user(display_name=text)
        else:
            make.content(published=False, title=text, slug=f"item-{n}")
    everything = api.get(path, token=caller.token, params={"limit": 100}).json()["items"]
    for metacharacters in METACHARACTERS:
        found = api.get(path, token=caller.token, params={"q": metacharacters, "limit": 100})
        assert found.status_code == 200, found.text
        expected = {
            item["id"]
            for item in everything
            if any(
                metacharacters.casefold() in item[key].casefold() for key in SEARCHED_FIELDS[path]
            )
        }
        assert expected, metacharacters
        assert {item["id"] for item in found.json()["items"]} == expected, metacharacters
