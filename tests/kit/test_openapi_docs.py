"""/docs/openapi.json documents every endpoint with its statuses, schemas and examples."""

import re
from typing import Any

from tests.support.servers import Api, Server

PROBLEM = "application/problem+json"


def served_operations(server: Server) -> set[tuple[str, str]]:
    """(method, OpenAPI path) for every route the app serves, except the docs themselves."""
    operations = set()
    for route in server.app.router.routes:
        path = "/" + route.path.lstrip("/")
        if path.startswith("/docs"):
            continue
        path = re.sub(r"<([a-z_]+)(:[^>]*)?>", r"{\1}", path)
        for method in route.methods:
            if method in {"HEAD", "OPTIONS"}:
                continue
            operations.add((method.lower(), path.rstrip("/") or "/"))
    return operations


def test_it_is_an_openapi_3_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Praxis API"


def test_every_served_endpoint_is_documented(spec: dict[str, Any], docs_app: Api) -> None:
    documented = {
        (method, path.rstrip("/") or "/")
        for path, operations in spec["paths"].items()
        for method in operations
    }
    missing = served_operations(docs_app.srv) - documented
    assert not missing, f"undocumented: {sorted(missing)}"


def test_the_docs_pages_are_not_documented(spec: dict[str, Any]) -> None:
    assert not [p for p in spec["paths"] if p.startswith("/docs")]


def test_operations_list_their_success_and_error_statuses(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert any(s.startswith("2") for s in statuses), f"{method} {path}: no 2xx"
            if path.startswith("/api/"):
                assert "429" in statuses, f"{method} {path}: no 429"


def test_error_responses_use_the_problem_schema(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and not path.startswith("/health"):
                    assert PROBLEM in response["content"], f"{method} {path} {status}"


def test_guarded_operations_document_401_and_the_bearer_scheme(spec: dict[str, Any]) -> None:
    me = spec["paths"]["/api/v1/users/me"]["get"]
    assert {"401", "403"} <= set(me["responses"])
    assert me["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_request_bodies_have_schemas_with_required_fields_and_examples(
    spec: dict[str, Any],
) -> None:
    register = spec["paths"]["/api/v1/auth/register"]["post"]
    ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"email", "password", "display_name"}
    assert schema["example"]["email"]
    assert {"413", "415", "422"} <= set(register["responses"])


def test_operations_with_bodies_document_400_413_415_and_422(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                expected = {"400", "413", "415", "422"}
                assert expected <= set(operation["responses"]), f"{method} {path}"


def test_health_and_metrics_are_documented(spec: dict[str, Any]) -> None:
    assert "/health" in spec["paths"]
    assert "/health/ready" in spec["paths"]
    assert "/metrics" in spec["paths"]
    ready = spec["paths"]["/health/ready"]["get"]["responses"]
    assert "application/health+json" in ready["503"]["content"]


def test_the_reference_ui_is_served(api: Api) -> None:
    response = api.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


def test_answers_without_a_body_document_no_content(spec: dict[str, Any]) -> None:
    logout = spec["paths"]["/api/v1/auth/logout"]["post"]["responses"]["204"]
    assert logout["description"] == "No Content"
    assert "content" not in logout
