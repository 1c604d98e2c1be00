"""Every error is an RFC 9457 problem with a documented code and the request id."""

import re
from pathlib import Path

import pytest
from sanic import Request
from sanic.response import HTTPResponse

from service.kit.errors import ErrorCode
from tests.support.api import LOGIN, ME, REGISTER
from tests.support.problems import assert_problem
from tests.support.servers import Api, App, ServeVariant

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_an_unknown_route_is_a_not_found_problem(api: Api) -> None:
    assert_problem(api.get("/api/v1/nothing-here"), 404, "NOT_FOUND")


def test_a_wrong_method_is_method_not_allowed_with_allow(api: Api) -> None:
    response = api.delete(ME)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["allow"]


def test_a_validation_problem_lists_field_errors(api: Api) -> None:
    body = assert_problem(api.post(REGISTER, json={}), 422, "VALIDATION_FAILED")
    assert all(set(e) == {"field", "message"} for e in body["errors"])


def test_a_body_over_the_size_limit_is_a_413(api: Api) -> None:
    response = api.post(
        LOGIN,
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_failure_inside_a_handler_is_an_internal_error_without_internals(
    other_app: ServeVariant,
) -> None:
    def add_failing_route(app: App) -> None:
        @app.get("/boom")
        async def boom(_: Request) -> HTTPResponse:
            raise RuntimeError("SELECT secret FROM passwords -- at line 3")

    response = other_app(configure=add_failing_route).get("/boom")
    assert_problem(response, 500, "INTERNAL_ERROR")
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.name)
def test_every_code_in_the_catalog_is_documented(code: ErrorCode) -> None:
    text = ERRORS_DOC.read_text()
    assert re.search(rf"`{code.name}`", text), f"{code.name} missing from docs/errors.md"


def test_every_documented_code_exists_in_the_catalog() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", ERRORS_DOC.read_text(), re.MULTILINE))
    assert documented == {c.name for c in ErrorCode}
