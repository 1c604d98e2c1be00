"""Tortoise models of every domain; kept in one package because relations cross domains."""

from service.models.audit import AuditRecord
from service.models.content import Content, ContentKind, ContentStatus, Difficulty, Tag
from service.models.sessions import IdempotencyKey, PracticeSession, SessionEvent, SessionStatus
from service.models.users import AdminEmailListing, Permission, RefreshToken, Role, User

MODEL_MODULES = [
    "service.models.users",
    "service.models.content",
    "service.models.sessions",
    "service.models.audit",
]

__all__ = [
    "MODEL_MODULES",
    "AdminEmailListing",
    "AuditRecord",
    "Content",
    "ContentKind",
    "ContentStatus",
    "Difficulty",
    "IdempotencyKey",
    "Permission",
    "PracticeSession",
    "RefreshToken",
    "Role",
    "SessionEvent",
    "SessionStatus",
    "Tag",
    "User",
]
