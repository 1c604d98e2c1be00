"""Text PostgreSQL cannot store (U+0000) is a 422 wherever input would reach the database:
every string field of every documented request body, and the text query parameters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, ServeVariant

NUL_TEXT = "bad\x00text"
PATH_VALUES = {"name": "member"}


@pytest.fixture
def spec(other_app: ServeVariant) -> dict[str, Any]:
    document: dict[str, Any] = other_app().get("/docs/openapi.json").json()
    return document


def bodies_with_nul(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, field, body) for each string-holding field of each body, NUL in it."""
    schemas = spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            ref = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if ref is None:
                continue
            schema = schemas[ref["schema"]["$ref"].rsplit("/", 1)[-1]]
            for field, prop in schema["properties"].items():
                value = nul_value(prop)
                if value is not None:
                    yield method.upper(), path, field, {**schema["example"], field: value}


def nul_value(prop: dict[str, Any]) -> Any:
    kinds = {prop.get("type")} | {option.get("type") for option in prop.get("anyOf", [])}
    items = [prop.get("items", {})] + [o.get("items", {}) for o in prop.get("anyOf", [])]
    if "string" in kinds:
        return NUL_TEXT
    if "array" in kinds and any(item.get("type") == "string" for item in items):
        return [NUL_TEXT]
    if "object" in kinds:
        return {"key": NUL_TEXT}
    return None


def concrete(path: str) -> str:
    def value(name: str) -> str:
        return PATH_VALUES.get(name, str(uuid.uuid4()))

    parts = path.split("/")
    return "/".join(value(p[1:-1]) if p.startswith("{") else p for p in parts)


def test_every_string_field_of_every_body_refuses_nul(
    spec: dict[str, Any], api: Api, make: Factories
) -> None:
    admin = make.admin()
    cases = list(bodies_with_nul(spec))
    assert len(cases) >= 20  # register, login, refresh, sessions, content, users, roles...
    answers: dict[tuple[str, str, str], int] = {}
    for method, path, field, body in cases:
        response = api.request(method, concrete(path), token=admin.token, json=body)
        answers[(method, path, field)] = response.status_code
    assert {case: status for case, status in answers.items() if status != 422} == {}


def test_a_nul_in_an_object_key_is_refused_too(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    session = make.practice_session(user, item)
    response = api.post(
        f"/api/v1/sessions/{session.id}/events",
        token=user.token,
        json={"kind": "k", "data": {NUL_TEXT: 1}},
    )
    assert_problem(response, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/content", "q"),
        ("/api/v1/content", "tag"),
        ("/api/v1/admin/content", "q"),
        ("/api/v1/admin/users", "q"),
        ("/api/v1/admin/audit", "action"),
        ("/api/v1/admin/audit", "target_type"),
    ],
)
def test_text_query_parameters_refuse_nul(
    api: Api, make: Factories, path: str, parameter: str
) -> None:
    response = api.get(path, token=make.admin().token, params={parameter: NUL_TEXT})
    assert_problem(response, 422, "VALIDATION_FAILED")


def test_register_and_login_refuse_nul_before_spending_a_hash(api: Api) -> None:
    register = {"email": "a\x00@example.com", "password": "long enough", "display_name": "A"}
    assert_problem(api.post("/api/v1/auth/register", json=register), 422, "VALIDATION_FAILED")
    login = {"email": "a\x00@example.com", "password": "x"}
    assert_problem(api.post("/api/v1/auth/login", json=login), 422, "VALIDATION_FAILED")
