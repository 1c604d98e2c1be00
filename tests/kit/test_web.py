"""Every route that reads a JSON body refuses one it cannot use the same way: another media type
is a 415, broken JSON a 400, and a JSON value that is not an object, or an object with a field
the route does not know, a 422. The routes are read from the app's router, so a new one is
covered the day it is added."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sanic_routing import Route

from service.app import create_app
from service.config import Settings
from tests.support.factories import Account, Factories
from tests.support.problems import assert_invalid, assert_problem
from tests.support.servers import Api

WRITE_METHODS = {"POST", "PUT", "PATCH"}
PATH_PARAMETER = re.compile(r"<([a-z_]+)(?::[^>]*)?>")
A_JSON_OBJECT = b'{"title": "x"}'

# How to name a resource that exists and belongs to the caller, per path parameter, so that a
# handler which looks the resource up before it parses the body still reaches the parsing.
EXISTING: dict[str, Callable[[Factories, Account], str]] = {
    "session_id": lambda make, caller: str(make.practice_session(caller, make.content()).id),
    "content_id": lambda make, _caller: str(make.content(published=False).id),
    "user_id": lambda make, _caller: str(make.user().id),
    "name": lambda make, _caller: make.role(),
}


@dataclass(frozen=True)
class BodyRoute:
    method: str
    template: str  # the router's path, e.g. "/api/v1/sessions/<session_id:str>"

    def __str__(self) -> str:
        return f"{self.method} {self.template}"

    def path_for(self, make: Factories, caller: Account) -> str:
        def existing(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in EXISTING, f"{self}: say in EXISTING how to make an existing {name}"
            return EXISTING[name](make, caller)

        return PATH_PARAMETER.sub(existing, self.template)


def reads_a_body(route: Route) -> bool:
    """Whether the route's handler, under its guards, parses the request body."""
    handler = inspect.unwrap(route.handler)
    return inspect.isfunction(handler) and "parse_body(" in inspect.getsource(handler)


def body_routes() -> list[BodyRoute]:
    """Every write route of the app whose handler reads a JSON body."""
    unused = "postgres://127.0.0.1:1/unused"  # the app is built, never started
    app = create_app(
        Settings(database_url=unused, jwt_secret="x" * 48, env="test"), name="praxis_routes"
    )
    return sorted(
        (
            BodyRoute(method, "/" + route.path.lstrip("/"))
            for route in app.router.routes
            if reads_a_body(route)
            for method in route.methods & WRITE_METHODS
        ),
        key=str,
    )


BODY_ROUTES = body_routes()


@pytest.fixture
def caller(make: Factories) -> Account:
    """An administrator: every guard lets them through to the body."""
    return make.admin()


def send(api: Api, make: Factories, caller: Account, route: BodyRoute, **body: Any) -> Any:
    return api.request(route.method, route.path_for(make, caller), token=caller.token, **body)


def test_the_routes_reading_a_body_are_the_operations_documenting_one(
    spec: dict[str, Any],
) -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    found = {PATH_PARAMETER.sub(r"{\1}", str(route)) for route in BODY_ROUTES}
    assert found == documented


@pytest.mark.parametrize("route", BODY_ROUTES, ids=str)
@pytest.mark.parametrize(
    ("content", "media_type"),
    [(A_JSON_OBJECT, "text/plain"), (b"title=x", "application/x-www-form-urlencoded")],
    ids=["json-as-text", "form"],
)
def test_a_body_of_another_media_type_is_a_415(
    api: Api, make: Factories, caller: Account, route: BodyRoute, content: bytes, media_type: str
) -> None:
    response = send(api, make, caller, route, content=content, headers={"Content-Type": media_type})
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("route", BODY_ROUTES, ids=str)
def test_broken_json_is_a_400(api: Api, make: Factories, caller: Account, route: BodyRoute) -> None:
    response = send(
        api,
        make,
        caller,
        route,
        content=b'{"title": ',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "MALFORMED_JSON")


@pytest.mark.parametrize("route", BODY_ROUTES, ids=str)
@pytest.mark.parametrize("value", [b"[1, 2]", b'"text"', b"42", b"null"], ids=bytes.decode)
def test_a_json_value_that_is_not_an_object_is_a_422(
    api: Api, make: Factories, caller: Account, route: BodyRoute, value: bytes
) -> None:
    response = send(
        api, make, caller, route, content=value, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize("route", BODY_ROUTES, ids=str)
def test_an_object_with_a_field_the_route_does_not_know_is_a_422_naming_it(
    api: Api, make: Factories, caller: Account, route: BodyRoute
) -> None:
    response = send(api, make, caller, route, json={"no_such_field": 1})
    assert_invalid(response, "no_such_field")
