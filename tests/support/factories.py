"""Factories: rows created directly in the database, so a test states only what it cares about."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from service.config import Settings
from service.kit import rbac, security
from service.models import Content, Permission, PracticeSession, Role, Tag, User
from tests.support.servers import Api, Server

DEFAULT_PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


@cache
def _default_password_hash() -> str:
    """Argon2 is slow on purpose; hashing the shared test password once keeps tests fast."""
    return security.hash_password(DEFAULT_PASSWORD)


@dataclass
class Account:
    """A user tests act as: their credentials and a valid access token."""

    id: uuid.UUID
    email: str
    password: str
    token: str
    roles: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Factories:
    def __init__(self, server: Server, api: Api) -> None:
        self.server = server
        self.api = api

    @property
    def settings(self) -> Settings:
        settings: Settings = self.server.app.ctx.settings
        return settings

    def user(
        self,
        *roles: str,
        email: str | None = None,
        display_name: str = "Test User",
        is_active: bool = True,
    ) -> Account:
        email = email or f"user{next(_sequence)}@example.com"
        granted = [rbac.MEMBER_ROLE, *roles]
        user = self.server.run(_create_user(email, display_name, granted, is_active))
        token, _ = security.issue_access_token(user.id, uuid.uuid4(), self.settings.jwt_secret, 900)
        return Account(user.id, email, DEFAULT_PASSWORD, token, sorted(set(granted)))

    def admin(self) -> Account:
        return self.user(rbac.ADMIN_ROLE)

    def editor(self) -> Account:
        return self.user(rbac.EDITOR_ROLE)

    def role(self, *permissions: str) -> str:
        """A custom role (created here) granting exactly ``permissions``; its name."""
        name = f"role-{next(_sequence)}"
        self.server.run(_create_role(name, list(permissions)))
        return name

    def user_with_permissions(self, role: str, *permissions: str) -> Account:
        """A user whose only extra role, ``role`` (created here), grants exactly ``permissions``."""
        self.server.run(_create_role(role, list(permissions)))
        return self.user(role)

    def content(self, *, published: bool = True, **fields: Any) -> Content:
        """A content item (published now unless said otherwise); ``tags`` is a list of names."""
        values = _content_defaults(next(_sequence)) | fields
        if published:
            values.setdefault("status", "published")
            values.setdefault("published_at", datetime.now(UTC))
        else:
            values.setdefault("status", "draft")
        return self.server.run(_create_content(**values))

    def practice_session(self, user: Account, item: Content, **fields: Any) -> PracticeSession:
        """A practice session of ``user`` on ``item`` (active, started now unless given)."""
        values: dict[str, Any] = {
            "status": "active",
            "progress": 0,
            "started_at": datetime.now(UTC),
        }
        values |= fields
        return self.server.run(
            PracticeSession.create(user_id=user.id, content_id=item.id, **values)
        )


async def _create_user(email: str, display_name: str, roles: list[str], is_active: bool) -> User:
    user = await User.create(
        email=email,
        password_hash=_default_password_hash(),
        display_name=display_name,
        is_active=is_active,
    )
    for role in await Role.filter(name__in=roles):
        await user.roles.add(role)
    return user


async def _create_role(name: str, permissions: list[str]) -> None:
    role = await Role.create(name=name, description="test role")
    for permission in await Permission.filter(name__in=permissions):
        await role.permissions.add(permission)


async def _create_content(**fields: Any) -> Content:
    tags = fields.pop("tags", [])
    item = await Content.create(**fields)
    for name in tags:
        tag, _ = await Tag.get_or_create(name=name)
        await item.tags.add(tag)
    return item


def _content_defaults(n: int) -> dict[str, Any]:
    return {
        "slug": f"content-{n}",
        "title": f"Content {n}",
        "summary": f"Summary of content {n}",
        "body": f"Body of content {n}",
        "kind": "lesson",
        "category": "python",
        "difficulty": "beginner",
        "duration_minutes": 10,
        "tags": [],
    }
