"""The rollback plan of docs/rbac.md, exercised: migration 3's downgrade and upgrade keep every
audit record and grant, and create-admin regains admin access when nobody has it."""

from __future__ import annotations

from tortoise import connections

from service.config import Settings
from service.models import AuditRecord
from tests.infra.test_migrations import fetch, migrations, scratch_database, versions  # noqa: F401
from tests.support.factories import Factories
from tests.support.processes import Praxis
from tests.support.servers import Api, Server

ACCESS_MIGRATION = 3


def columns(url: str, table: str) -> set[str]:
    rows = fetch(
        url, f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
    )
    return {row["column_name"] for row in rows}


def test_the_access_migration_rolls_back_and_forward_keeping_records_and_grants(
    scratch_database: str,  # noqa: F811
) -> None:
    migrations("apply_migrations", scratch_database)
    fetch(
        scratch_database,
        "INSERT INTO audit_records (action, target_type, target_id, changes, created_at) "
        "VALUES ('user.update', 'user', 'u1', '{\"a\": {\"before\": 1, \"after\": 2}}', now())",
    )
    grants_before = fetch(scratch_database, "SELECT count(*) AS n FROM role_permissions")[0]["n"]

    undone = migrations("roll_back_migration", scratch_database, ACCESS_MIGRATION)

    assert versions(undone) == ["4", "3"]  # and the later one
    assert "details" in columns(scratch_database, "audit_records")
    assert columns(scratch_database, "admin_email_listings") == set()
    (record,) = fetch(scratch_database, "SELECT details::text AS d FROM audit_records")
    assert "before" in record["d"]
    assert fetch(scratch_database, "SELECT count(*) AS n FROM role_permissions")[0]["n"] == (
        grants_before
    )

    assert versions(migrations("apply_migrations", scratch_database)) == ["3", "4"]
    assert "changes" in columns(scratch_database, "audit_records")
    assert fetch(scratch_database, "SELECT count(*) AS n FROM audit_records")[0]["n"] == 1


def test_create_admin_regains_admin_access_when_roles_were_misassigned(
    praxis: Praxis,  # noqa: F811
    api: Api,
    make: Factories,
    server: Server,
    settings: Settings,
) -> None:
    former = make.admin()
    server.run(
        connections.get("default").execute_script(
            "DELETE FROM user_roles WHERE role_id = (SELECT id FROM roles WHERE name = 'admin')"
        )
    )
    result = praxis(
        "create-admin",
        "rescue@example.com",
        "--password",
        "a long rescue password",
        REDIS_KEY_PREFIX=settings.redis_key_prefix,
    )
    assert result.returncode == 0, result.stderr

    pair = api.post(
        "/api/v1/auth/login",
        json={"email": "rescue@example.com", "password": "a long rescue password"},
    ).json()
    response = api.put(
        f"/api/v1/admin/users/{former.id}/roles",
        token=pair["access_token"],
        json={"roles": ["admin", "member"]},
    )
    assert response.status_code == 200
    actions = [r.action for r in server.run(AuditRecord.all().order_by("id"))]
    assert actions == ["user.create_admin", "user.roles.set"]
