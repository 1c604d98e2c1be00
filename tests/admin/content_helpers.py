"""Helpers for the admin content tests."""

from __future__ import annotations

from typing import Any

from service.models import AuditRecord, Permission, Role
from tests.conftest import Server
from tests.factories import Factories, TestUser


def new_item(**overrides: Any) -> dict[str, Any]:
    """A valid create body; ``overrides`` replace fields (a value of ``...`` drops the field)."""
    body: dict[str, Any] = {
        "title": "Window functions",
        "summary": "Rank and number rows",
        "body": "# Window functions\n\nOVER (PARTITION BY ...)",
        "kind": "lesson",
        "category": "databases",
        "difficulty": "intermediate",
        "duration_minutes": 20,
        "tags": ["sql"],
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def user_with_permissions(make: Factories, role: str, *permissions: str) -> TestUser:
    """A user whose only extra role grants exactly ``permissions``."""
    make.server.run(_create_role(role, list(permissions)))
    return make.user(role)


async def _create_role(name: str, permissions: list[str]) -> None:
    role = await Role.create(name=name, description="test role")
    for permission in await Permission.filter(name__in=permissions):
        await role.permissions.add(permission)


def audit_records(server: Server) -> list[AuditRecord]:
    return server.run(AuditRecord.all().order_by("id"))
