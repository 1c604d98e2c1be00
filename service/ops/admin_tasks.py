"""Operator tasks behind the CLI: migrate (and the ADMIN_EMAILS grant), create-admin, check."""

from __future__ import annotations

import logging
import uuid

from tortoise.transactions import in_transaction

from service.admin.audit.queries import AuditEntry, record_audit
from service.auth import queries as auth_queries
from service.auth import service as auth_service
from service.auth.schemas import RegisterRequest
from service.config import Settings
from service.infra import db, redis_client
from service.infra.sql import Connection
from service.kit import rbac, security
from service.ops.exit_codes import EXIT_FAILURE, EXIT_OK

logger = logging.getLogger("praxis.admin")


async def migrate(settings: Settings) -> int:
    database = await db.resolve_database(settings)
    applied = await db.apply_migrations(database.url)
    logger.info("migrations applied: %s", ", ".join(applied) or "none pending")
    if settings.admin_email_list:
        await db.init_orm(database.url)
        try:
            granted = await grant_admin_to_listed(settings.admin_email_list)
        finally:
            await db.close_orm()
        logger.info("ADMIN_EMAILS: admin role granted to %d user(s)", granted)
    return EXIT_OK


async def grant_admin_to_listed(emails: list[str]) -> int:
    """Grant admin to existing users in ``emails`` who lack it, leaving an audit record each."""
    users = await auth_queries.users_lacking_role(db.connection(), emails, rbac.ADMIN_ROLE)
    for user in users:
        async with in_transaction() as conn:
            await _grant_admin(conn, user.id, source="ADMIN_EMAILS")
    return len(users)


async def _grant_admin(conn: Connection, user_id: uuid.UUID, source: str) -> None:
    """Operator grants have no acting user; ``source`` in the audit record says who did it."""
    await auth_queries.grant_roles(conn, user_id, [rbac.ADMIN_ROLE])
    details = {"role": rbac.ADMIN_ROLE, "source": source}
    await record_audit(
        conn, AuditEntry(None, "user.roles.grant", "user", str(user_id), details, None)
    )


async def create_admin(settings: Settings, data: RegisterRequest) -> int:
    database = await db.resolve_database(settings)
    await db.init_orm(database.url)
    try:
        created = await _create_or_promote(data.email, data.password, data.display_name)
    finally:
        await db.close_orm()
    print(f"{data.email}: {'created as admin' if created else 'granted the admin role'}")  # noqa: T201
    return EXIT_OK


async def _create_or_promote(email: str, password: str, display_name: str) -> bool:
    async with in_transaction() as conn:
        user = await auth_queries.user_by_email(conn, email)
        created = user is None
        if user is None:
            password_hash = security.hash_password(password)
            user = await auth_service.create_user(conn, email, password_hash, display_name, [])
        await _grant_admin(conn, user.id, source="create-admin")
    return created


async def check(settings: Settings) -> int:
    problems = list(settings.production_problems())
    database_url = await _check_database(settings, problems)
    await _check_redis(settings, problems)
    if database_url:
        pending = await db.pending_migrations(database_url)
        if pending:
            problems.append("pending migrations: " + ", ".join(pending) + " (run: praxis migrate)")
    for problem in problems:
        print(f"FAIL {problem}")  # noqa: T201
    if not problems:
        print("OK configuration, database, Redis and migrations")  # noqa: T201
    return EXIT_FAILURE if problems else EXIT_OK


async def _check_database(settings: Settings, problems: list[str]) -> str | None:
    if settings.database_url == "auto":
        database = await db.resolve_database(settings)
        return database.url
    if not await db.server_answers(settings.database_url):
        problems.append("database: no PostgreSQL answers at DATABASE_URL")
        return None
    return settings.database_url


async def _check_redis(settings: Settings, problems: list[str]) -> None:
    choice = await redis_client.resolve_redis(settings)
    if choice.url is None:
        print(f"WARN redis: {choice.reason}")  # noqa: T201
    elif not await redis_client.redis_answers(choice.url):
        problems.append("redis: no Redis answers at REDIS_URL")
