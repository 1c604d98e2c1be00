"""Operator tasks behind the CLI: migrate (and the ADMIN_EMAILS grant), create-admin, check."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from service.admin.audit.queries import AuditEntry, record_audit
from service.admin.audit.service import field_changes
from service.auth import queries as auth_queries
from service.auth import service as auth_service
from service.auth.queries import UserRow
from service.auth.schemas import RegisterRequest
from service.config import Settings
from service.infra import db, redis_client
from service.infra.redis_client import RedisBreaker
from service.infra.sql import Connection
from service.kit import rbac, security
from service.kit.principal_cache import PrincipalCache
from service.ops.exit_codes import EXIT_FAILURE, EXIT_OK

logger = logging.getLogger("praxis.admin")


async def migrate(settings: Settings) -> int:
    database = await db.resolve_database(settings)
    applied = await db.apply_migrations(database.url, pgbouncer=settings.db_pgbouncer)
    logger.info("migrations applied: %s", ", ".join(applied) or "none pending")
    if settings.admin_email_list:
        await db.init_orm(database.url, pgbouncer=settings.db_pgbouncer)
        try:
            async with _principal_cache(settings) as principals:
                granted = await grant_admin_to_listed(settings.admin_email_list, principals)
        finally:
            await db.close_orm()
        logger.info("ADMIN_EMAILS: admin role granted to %d user(s)", granted)
    return EXIT_OK


async def grant_admin_to_listed(emails: list[str], principals: PrincipalCache) -> int:
    """Grant admin to users in ``emails`` who lack it and whose account existed when their
    address was first listed, leaving an audit record each. The first run that lists an address
    records when: an account registered for it afterwards is never granted anything."""
    async with in_transaction() as conn:
        await auth_queries.record_listings(conn, emails)
    users = await auth_queries.listed_users_lacking_role(db.connection(), emails, rbac.ADMIN_ROLE)
    for user in users:
        async with in_transaction() as conn:
            before = await auth_queries.role_names(conn, user.id)
            await auth_queries.grant_roles(conn, user.id, [rbac.ADMIN_ROLE])
            changes = field_changes({"roles": before}, {"roles": sorted({*before, "admin"})})
            await _record(conn, "user.roles.grant_by_admin_emails", user.id, changes)
    await principals.bump_users([user.id for user in users])
    return len(users)


async def _record(
    conn: Connection, action: str, user_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    """Operator changes have no acting user: the action names the tool that made them."""
    entry = AuditEntry(None, action, "user", str(user_id), changes, None)
    await record_audit(conn, entry)


@asynccontextmanager
async def _principal_cache(settings: Settings) -> AsyncIterator[PrincipalCache]:
    """The servers' permission cache, to invalidate what an operator changed."""
    choice = await redis_client.resolve_redis(settings)
    redis = redis_client.connect(choice.url, settings.redis_cluster) if choice.url else None
    cache = PrincipalCache.from_settings(redis, RedisBreaker(), settings)
    try:
        yield cache
    finally:
        if cache.lost_bump:
            print(  # noqa: T201
                "warning: Redis did not answer; servers may use cached permissions for up to "
                f"{settings.cache_ttl_seconds}s",
                file=sys.stderr,
            )
        if redis is not None:
            await redis.aclose()


async def create_admin(settings: Settings, data: RegisterRequest) -> int:
    database = await db.resolve_database(settings)
    await db.init_orm(database.url, pgbouncer=settings.db_pgbouncer)
    try:
        async with _principal_cache(settings) as principals:
            outcome = await _create_or_promote(data, principals)
    finally:
        await db.close_orm()
    print(f"{data.email}: {outcome}")  # noqa: T201
    return EXIT_OK


async def _create_or_promote(data: RegisterRequest, principals: PrincipalCache) -> str:
    """Create the account as an admin, or take over an existing one: whoever registered the
    address first must not keep a say in it, so its password becomes the operator's and every
    login of it ends. Audited either way; what happened is answered for the operator."""
    password_hash = security.hash_password(data.password)
    async with in_transaction() as conn:
        user = await auth_queries.user_by_email_for_update(conn, data.email)
        if user is None:
            created = await auth_service.create_user(
                conn, data.email, password_hash, data.display_name, [rbac.ADMIN_ROLE]
            )
            changes = field_changes({}, {"email": data.email, "roles": ["admin", "member"]})
            await _record(conn, "user.create_admin", created.id, changes)
            return "created as admin"
        await _take_over(conn, user, password_hash)
    await principals.bump_users([user.id])
    return (
        "existed: its password is now the one given, every login of it was ended "
        "(its tokens are revoked), and it was granted the admin role"
    )


async def _take_over(conn: Connection, user: UserRow, password_hash: str) -> None:
    before = await auth_queries.role_names(conn, user.id)
    await auth_queries.set_password_hash(conn, user.id, password_hash)
    await auth_queries.revoke_user_tokens(conn, user.id, datetime.now(UTC))
    await auth_queries.activate(conn, user.id)
    await auth_queries.grant_roles(conn, user.id, [rbac.ADMIN_ROLE])
    changes = field_changes(
        {"roles": before, "is_active": user.is_active, "password": "(hidden)"},
        {
            "roles": sorted({*before, rbac.ADMIN_ROLE}),
            "is_active": True,
            "password": "(set by the operator)",
        },
    )
    await _record(conn, "user.promote_admin", user.id, changes)


async def check(settings: Settings) -> int:
    problems = list(settings.production_problems())
    database_url = await _check_database(settings, problems)
    await _check_redis(settings, problems)
    if database_url:
        pending = await db.pending_migrations(database_url, pgbouncer=settings.db_pgbouncer)
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
    if not await db.server_answers(settings.database_url, pgbouncer=settings.db_pgbouncer):
        problems.append("database: no PostgreSQL answers at DATABASE_URL")
        return None
    return settings.database_url


async def _check_redis(settings: Settings, problems: list[str]) -> None:
    choice = await redis_client.resolve_redis(settings)
    if choice.url is None:
        print(f"WARN redis: {choice.reason}")  # noqa: T201
    elif not await redis_client.redis_answers(choice.url, settings.redis_cluster):
        what = "Redis Cluster (each of its masters)" if settings.redis_cluster else "Redis"
        problems.append(f"redis: no {what} answers at REDIS_URL")
