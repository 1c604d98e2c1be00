"""/docs/openapi.json documents 100 % of the registered routes, each operation completely: summary,
description, tag, security, constrained parameters, a body schema with an example, and every
status with its schema and an example (errors: the problem schema, the codes of that status).
Its constraints come from the models that validate, so the service enforces what it promises."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from service.kit.errors import ErrorCode
from service.kit.rbac import auth_requirement
from tests.support.factories import Factories
from tests.support.servers import Api, App, ServeVariant

PROBLEM = "application/problem+json"
BODYLESS = {"204", "304"}
CONSTRAINTS = {"maxLength", "minLength", "pattern", "enum", "format", "minimum", "maximum"}


@pytest.fixture
def docs_api(other_app: ServeVariant) -> Api:
    """sanic-ext's document follows the app started last: read it from one started here."""
    return other_app()


@pytest.fixture
def spec(docs_api: Api) -> dict[str, Any]:
    document: dict[str, Any] = docs_api.get("/docs/openapi.json").json()
    return document


def registered_operations(app: App) -> dict[tuple[str, str], Any]:
    """(method, OpenAPI path) -> handler, for every route but the /docs pages."""
    operations: dict[tuple[str, str], Any] = {}
    for route in app.router.routes:
        path = "/" + route.path.lstrip("/")
        if path.startswith("/docs"):
            continue
        path = re.sub(r"<([a-z_]+)(:[^>]*)?>", r"{\1}", path)
        for method in route.methods - {"HEAD", "OPTIONS"}:
            operations[(method.lower(), path)] = route.handler
    return operations


def each_operation(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", path, operation


def constrained(schema: dict[str, Any]) -> bool:
    if CONSTRAINTS & set(schema):
        return True
    return any(constrained(variant) for variant in schema.get("anyOf", []))


def test_it_is_an_openapi_3_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Praxis API"
    ready = spec["paths"]["/health/ready"]["get"]["responses"]
    assert "application/health+json" in ready["503"]["content"]


def test_every_registered_route_is_documented_and_nothing_else(
    spec: dict[str, Any], docs_api: Api
) -> None:
    registered = set(registered_operations(docs_api.srv.app))
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert registered - documented == set(), "undocumented"
    assert documented - registered == set(), "documented but not served"
    assert {"/health", "/health/ready", "/metrics"} <= set(spec["paths"])
    assert not [path for path in spec["paths"] if path.startswith("/docs")]


def test_each_operation_has_summary_description_tag_and_its_security(
    spec: dict[str, Any], docs_api: Api
) -> None:
    handlers = registered_operations(docs_api.srv.app)
    for name, path, operation in each_operation(spec):
        method = name.split()[0].lower()
        assert operation["summary"].strip(), name
        assert operation["description"].strip(), name
        assert len(operation["tags"]) == 1, name
        guarded = auth_requirement(handlers[(method, path)]) is not None
        assert operation.get("security") == ([{"bearer": []}] if guarded else None), name
        expected = "Needs a bearer access token" if guarded else "No authentication."
        assert expected in operation["description"], name
        assert operation["operationId"], name


def test_parameters_are_declared_with_their_constraints(spec: dict[str, Any]) -> None:
    for name, path, operation in each_operation(spec):
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        for placeholder in re.findall(r"{([a-z_]+)}", path):
            assert parameters[placeholder]["in"] == "path", name
            assert parameters[placeholder]["required"] is True, name
        for parameter in parameters.values():
            assert parameter.get("description"), (name, parameter["name"])
            assert constrained(parameter["schema"]), (name, parameter["name"])


def test_request_bodies_have_a_schema_and_an_example(spec: dict[str, Any]) -> None:
    for name, _, operation in each_operation(spec):
        if "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            assert media["schema"]["$ref"].startswith("#/components/schemas/"), name
            assert media["example"], name


def test_every_status_has_a_schema_and_an_example(spec: dict[str, Any]) -> None:
    for name, _, operation in each_operation(spec):
        assert any(status.startswith("2") for status in operation["responses"]), name
        for status, response in operation["responses"].items():
            assert response["description"], (name, status)
            if status in BODYLESS:
                assert "content" not in response, (name, status)
                continue
            assert response["content"], (name, status)
            for media_type, media in response["content"].items():
                assert media["schema"], (name, status, media_type)
                assert "example" in media, (name, status, media_type)


def test_errors_use_the_problem_schema_with_the_codes_of_their_status(spec: dict[str, Any]) -> None:
    for name, path, operation in each_operation(spec):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")) or path == "/health/ready":
                continue
            media = response["content"][PROBLEM]
            problem, narrowed = media["schema"]["allOf"]
            assert problem == {"$ref": "#/components/schemas/Problem"}, name
            codes = narrowed["properties"]["code"]["enum"]
            assert codes, name
            assert all(ErrorCode[code].status == int(status) for code in codes), name
            assert media["example"]["code"] in codes, (name, status)
            assert media["example"]["status"] == int(status), (name, status)
            assert media["example"]["type"].endswith(f"/docs/errors#{media['example']['code']}")


def test_the_statuses_each_kind_of_operation_can_answer_are_listed(spec: dict[str, Any]) -> None:
    for name, path, operation in each_operation(spec):
        statuses = set(operation["responses"])
        assert "431" in statuses, name  # a request line and headers too long: before routing
        if path.startswith("/api/"):
            assert {"429", "503"} <= statuses, name
        if "security" in operation:
            assert {"401", "403"} <= statuses, name
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= statuses, name
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "422" in statuses, name
        if "{" in path:
            assert "404" in statuses, name


def test_creations_link_to_what_can_be_done_with_the_new_resource(spec: dict[str, Any]) -> None:
    operation_ids = {op["operationId"] for _, _, op in each_operation(spec)}
    created = spec["paths"]["/api/v1/sessions"]["post"]["responses"]["201"]
    assert created["links"]["GetSession"]["parameters"] == {"session_id": "$response.body#/id"}
    for _, _, operation in each_operation(spec):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in operation_ids


def test_the_server_is_the_public_url(spec: dict[str, Any]) -> None:
    assert {"url": "http://127.0.0.1:8000"} in [
        {"url": server["url"]} for server in spec["servers"]
    ]


# Every list endpoint: each pages with ?limit= and must enforce the limit it documents.
LIST_PATHS = {
    "/api/v1/content",
    "/api/v1/history",
    "/api/v1/admin/content",
    "/api/v1/admin/users",
    "/api/v1/admin/audit",
}


def list_operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for _, path, operation in each_operation(spec):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "limit":
                yield path, parameter["schema"]


def test_the_documented_limits_are_the_enforced_ones(
    spec: dict[str, Any], api: Api, make: Factories
) -> None:
    """Constraints are read from the validating models, so the service answers by them."""
    user = make.admin()
    checked = set()
    for path, schema in list_operations(spec):
        limit = next(v for v in schema["anyOf"] if "maximum" in v) if "anyOf" in schema else schema
        too_many = api.get(path, token=user.token, params={"limit": limit["maximum"] + 1})
        most = api.get(path, token=user.token, params={"limit": limit["maximum"]})
        assert too_many.status_code == 422, path
        assert most.status_code == 200, path
        checked.add(path)
    assert checked == LIST_PATHS


def test_the_reference_ui_is_served(api: Api) -> None:
    response = api.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
