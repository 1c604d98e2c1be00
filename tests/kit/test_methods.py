"""Any method a route does not serve, on every registered route (TRACE, unknown methods, PUT on
a GET route...), is 405 METHOD_NOT_ALLOWED with an Allow header naming what it serves, never a
5xx; unknown paths stay 404 whatever the method."""

from __future__ import annotations

import re
import uuid

import pytest

from service.app import create_app
from service.config import Settings
from tests.support.servers import Api

PROBES = ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "FOO")
# Sanic answers HEAD and OPTIONS (preflights) for every route itself.
AUTOMATIC = {"HEAD", "OPTIONS"}
EXAMPLES = {"uuid": str(uuid.UUID(int=1)), "str": "some-slug", "path": "reference.js"}


def concrete(path: str) -> str:
    """A request path for a route template: ``/sessions/<session_id:uuid>`` -> a uuid."""

    def example(match: re.Match[str]) -> str:
        kind = match.group(2) or "str"
        return EXAMPLES.get(kind, EXAMPLES["str"])

    return "/" + re.sub(r"<([a-zA-Z_]+)(?::([a-z]+))?>", example, path.lstrip("/"))


def registered_routes() -> list[tuple[str, frozenset[str]]]:
    app = create_app(Settings(env="test", jwt_secret="x" * 40), name="praxis_routes_listing")
    routes: dict[str, set[str]] = {}
    for route in app.router.routes:
        routes.setdefault(concrete(route.path), set()).update(route.methods)
    return [(path, frozenset(methods)) for path, methods in sorted(routes.items())]


ROUTES = registered_routes()


@pytest.mark.parametrize(("path", "served"), ROUTES, ids=[path for path, _ in ROUTES])
def test_a_method_the_route_does_not_serve_is_405_with_allow(
    api: Api, path: str, served: frozenset[str]
) -> None:
    for method in PROBES:
        if method in served:
            continue
        response = api.request(method, path)
        assert response.status_code == 405, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "METHOD_NOT_ALLOWED"
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert served - AUTOMATIC <= allowed, (method, path, allowed)
        assert method not in allowed


def test_every_route_is_probed() -> None:
    assert len(ROUTES) >= 20
    assert any("/sessions/" in path for path, _ in ROUTES)


@pytest.mark.parametrize("method", PROBES)
def test_an_unknown_path_is_404_whatever_the_method(api: Api, method: str) -> None:
    response = api.request(method, "/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
