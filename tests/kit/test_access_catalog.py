"""Deny by default, and one permission catalog: every admin route names a permission from it,
the migrations seed exactly it, and docs/rbac.md lists what the code enforces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sanic import Request
from tortoise import connections

from service.kit import rbac
from tests.support.servers import App, Server, ServeVariant

RBAC_DOC = Path(__file__).resolve().parents[2] / "docs" / "rbac.md"
ADMIN_PREFIX = "/api/v1/admin"


def served_routes(server: Server) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(method, path template, requirement) of every route and method the app serves."""
    for route in server.app.router.routes:
        path = "/" + route.path.lstrip("/")
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            yield method, path, rbac.auth_requirement(route.handler)


def test_every_admin_route_requires_a_permission(server: Server) -> None:
    admin_routes = [r for r in served_routes(server) if r[1].startswith(ADMIN_PREFIX)]
    assert len(admin_routes) >= 13
    unguarded = [(m, p) for m, p, need in admin_routes if not (need and need["permission"])]
    assert unguarded == []


def test_a_route_without_a_guard_is_caught(other_app: ServeVariant, server: Server) -> None:
    """The check above fails for an admin route someone forgot to guard."""

    def add_unguarded(app: App) -> None:
        @app.get("/api/v1/admin/forgotten")
        async def forgotten(_: Request) -> None:
            raise AssertionError("never called")

    served = other_app(configure=add_unguarded).srv
    unguarded = [
        p for _, p, need in served_routes(served) if p.startswith(ADMIN_PREFIX) and not need
    ]
    assert unguarded == ["/api/v1/admin/forgotten"]


def test_every_permission_a_route_names_is_in_the_catalog_and_every_one_is_used(
    server: Server,
) -> None:
    named = {
        need["permission"] for *_, need in served_routes(server) if need and need["permission"]
    }
    assert named == set(rbac.PERMISSIONS)


def test_the_built_in_roles_use_only_catalog_permissions() -> None:
    for _, permissions in rbac.BUILTIN_ROLES.values():
        assert set(permissions) <= set(rbac.PERMISSIONS)
    assert set(rbac.BUILTIN_ROLES[rbac.ADMIN_ROLE][1]) == set(rbac.PERMISSIONS)


def test_an_unknown_permission_cannot_guard_a_route() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        rbac.require_permission("content:destroy")


def test_the_migrations_seed_exactly_the_catalog(server: Server) -> None:
    rows = server.run(connections.get("default").execute_query_dict("SELECT name FROM permissions"))
    assert {row["name"] for row in rows} == set(rbac.PERMISSIONS)


def documented_table(heading: str) -> list[list[str]]:
    """The rows of the markdown table under ``heading`` in docs/rbac.md, as lists of cells."""
    section = RBAC_DOC.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]


def test_docs_list_which_route_needs_which_permission(server: Server) -> None:
    enforced = {
        (method, re.sub(r"<([a-z_]+)(:[^>]*)?>", r"{\1}", path), need["permission"] or "(login)")
        for method, path, need in served_routes(server)
        if need is not None
    }
    documented = {(m, p, perm) for m, p, perm in documented_table("Routes and what they need")}
    assert documented == enforced


def test_docs_list_the_permissions_and_the_built_in_roles() -> None:
    assert {row[0]: row[1] for row in documented_table("Permissions")} == rbac.PERMISSIONS
    roles = {
        row[0]: sorted(p.strip("` ") for p in row[1].split(",") if p.strip())
        for row in documented_table("Built-in roles")
    }
    assert roles == {name: sorted(perms) for name, (_, perms) in rbac.BUILTIN_ROLES.items()}
