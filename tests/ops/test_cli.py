"""The praxis command, run as a real process against the test database."""

from service.models import AuditRecord, Content, PracticeSession, User
from tests.support.api import LOGIN
from tests.support.factories import Factories
from tests.support.processes import Praxis
from tests.support.rows import roles_of
from tests.support.servers import Api, Server


def test_check_passes_with_a_reachable_database_and_redis(praxis: Praxis) -> None:
    result = praxis("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_check_fails_clearly_when_the_database_is_unreachable(praxis: Praxis) -> None:
    result = praxis("check", DATABASE_URL="postgres://postgres@127.0.0.1:1/praxis")
    assert result.returncode == 1
    assert "database" in result.stdout


def test_check_fails_clearly_when_redis_is_unreachable(praxis: Praxis) -> None:
    result = praxis("check", REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "redis" in result.stdout


def test_check_lists_every_unsafe_production_setting(praxis: Praxis) -> None:
    result = praxis("check", ENV="production", JWT_SECRET="short", CORS_ORIGINS="*")
    assert result.returncode == 1
    assert "JWT_SECRET" in result.stdout
    assert "CORS_ORIGINS" in result.stdout


def test_serve_refuses_unsafe_production_settings_before_starting(praxis: Praxis) -> None:
    result = praxis("serve", ENV="production", DATABASE_URL="auto", JWT_SECRET="")
    assert result.returncode == 1
    assert "refusing to start with ENV=production" in result.stderr
    assert "DATABASE_URL" in result.stderr


def test_an_invalid_setting_is_a_usage_error(praxis: Praxis) -> None:
    result = praxis("check", PORT="not-a-port")
    assert result.returncode == 2
    assert "PORT" in result.stderr.upper()


def test_migrate_is_idempotent(praxis: Praxis) -> None:
    result = praxis("migrate", LOG_LEVEL="INFO")
    assert result.returncode == 0, result.stderr
    assert "none pending" in result.stderr


def test_migrate_grants_admin_to_listed_existing_users_once_with_an_audit_record(
    praxis: Praxis, make: Factories, server: Server
) -> None:
    user = make.user(email="boss@example.com")
    for _ in range(2):
        assert praxis("migrate", ADMIN_EMAILS="Boss@example.com, ghost@example.com").returncode == 0
    assert "admin" in roles_of(server, user.email)
    audits = server.run(
        AuditRecord.filter(action="user.roles.grant_by_admin_emails", target_id=str(user.id))
    )
    assert len(audits) == 1
    assert audits[0].changes["roles"] == {"before": ["member"], "after": ["admin", "member"]}


def test_create_admin_creates_a_user_who_can_log_in_as_admin(
    praxis: Praxis, api: Api, server: Server
) -> None:
    result = praxis("create-admin", "Root@Example.com", "--password", "a long password")
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout
    assert roles_of(server, "root@example.com") == ["admin", "member"]
    login = api.post(LOGIN, json={"email": "root@example.com", "password": "a long password"})
    assert login.status_code == 200


def test_create_admin_promotes_an_existing_user(
    praxis: Praxis, make: Factories, server: Server
) -> None:
    user = make.user()
    result = praxis("create-admin", user.email, PRAXIS_ADMIN_PASSWORD="irrelevant-here")
    assert result.returncode == 0, result.stderr
    assert "granted" in result.stdout
    assert "admin" in roles_of(server, user.email)


def test_create_admin_without_a_password_or_terminal_explains_how(praxis: Praxis) -> None:
    result = praxis("create-admin", "someone@example.com")
    assert result.returncode == 1
    assert "--password" in result.stderr


def test_create_admin_rejects_a_bad_email_clearly(praxis: Praxis) -> None:
    result = praxis("create-admin", "not-an-email", "--password", "a long password")
    assert result.returncode == 1
    assert "email" in result.stderr
    assert "Traceback" not in result.stderr


def test_seed_demo_prints_the_accounts_and_runs_once_with_if_empty(
    praxis: Praxis, server: Server
) -> None:
    first = praxis("seed", "--demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "admin@praxis.local" in first.stdout
    users_after_first = server.run(User.all().count())
    second = praxis("seed", "--demo", "--if-empty")
    assert "not added" in second.stdout
    assert server.run(User.all().count()) == users_after_first
    assert server.run(Content.filter(status="published").count()) > 0


def test_bulk_seed_inserts_the_requested_counts(praxis: Praxis, server: Server) -> None:
    result = praxis("seed", "--users", "30", "--content", "12", "--sessions", "200")
    assert result.returncode == 0, result.stderr
    assert server.run(User.all().count()) == 30
    assert server.run(Content.all().count()) == 12
    assert server.run(PracticeSession.all().count()) == 200


def test_seed_without_a_target_is_refused(praxis: Praxis) -> None:
    result = praxis("seed")
    assert result.returncode == 1
    assert "--demo" in result.stderr


def test_seed_rejects_a_negative_count(praxis: Praxis) -> None:
    result = praxis("seed", "--users", "-3")
    assert result.returncode == 2
