"""The ``praxis`` command: serve, migrate, seed, create-admin, check, purge."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from observability.logging import configure_logging
from service.config import Settings, generate_dev_secret
from service.ops.exit_codes import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

logger = logging.getLogger("praxis.cli")


class CliError(Exception):
    """A failure with a message meant for the operator; exits non-zero without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"praxis: invalid configuration:\n{exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    configure_logging(settings.effective_log_format, settings.log_level)
    try:
        result: int = args.run(args, settings)
        return result
    except CliError as exc:
        print(f"praxis: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="praxis", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply pending migrations, then serve HTTP")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply pending migrations and exit")
    migrate.set_defaults(run=_migrate)

    seed = commands.add_parser("seed", help="insert demo or bulk data")
    seed.add_argument("--demo", action="store_true", help="a small demo data set")
    seed.add_argument(
        "--if-empty", action="store_true", help="with --demo: only when there are no users yet"
    )
    seed.add_argument("--users", type=_non_negative, default=0, metavar="N")
    seed.add_argument("--content", type=_non_negative, default=0, metavar="N")
    seed.add_argument("--sessions", type=_non_negative, default=0, metavar="N")
    seed.set_defaults(run=_seed)

    admin = commands.add_parser("create-admin", help="create or promote a user to admin")
    admin.add_argument("email")
    admin.add_argument("--password", help="default: $PRAXIS_ADMIN_PASSWORD, else a prompt")
    admin.set_defaults(run=_create_admin)

    check = commands.add_parser(
        "check", help="verify configuration, database, Redis and migrations"
    )
    check.set_defaults(run=_check)

    purge = commands.add_parser(
        "purge", help="delete expired idempotency keys, spent and expired refresh tokens"
    )
    purge.set_defaults(run=_purge)
    return parser


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _refuse_unsafe_production(settings: Settings) -> None:
    problems = settings.production_problems()
    if problems:
        raise CliError("refusing to start with ENV=production:\n  - " + "\n  - ".join(problems))


def _serve(_: argparse.Namespace, settings: Settings) -> int:
    _refuse_unsafe_production(settings)
    if not settings.jwt_secret:
        # Exported so every worker of this start signs and verifies with the same key.
        os.environ["JWT_SECRET"] = generate_dev_secret()
        logger.warning("JWT_SECRET is not set: using a random key; tokens end with this process")
    resolved = asyncio.run(_prepare_database_and_redis(settings))
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = resolved
    _prepare_metrics_dir(Path(settings.data_dir) / "metrics", settings.workers)
    from service.ops.server import run_server

    run_server(Settings())
    return EXIT_OK


async def _prepare_database_and_redis(settings: Settings) -> tuple[str, str]:
    from service.infra import db, redis_client

    database = await db.resolve_database(settings)
    logger.info("database: %s (%s)", _redact(database.url), database.reason)
    applied = await db.apply_migrations(database.url, pgbouncer=settings.db_pgbouncer)
    logger.info("migrations applied: %s", ", ".join(applied) or "none pending")
    redis = await redis_client.resolve_redis(settings)
    if redis.url is None:
        logger.warning("redis: %s", redis.reason)
    else:
        logger.info("redis: %s (%s)", _redact(redis.url), redis.reason)
    return database.url, redis.url or redis_client.NO_REDIS


def _prepare_metrics_dir(directory: Path, workers: int) -> None:
    """With several workers, each writes its metrics here; stale files from an earlier run
    would be summed in. One worker serves its own registry: fresher, and with exemplars."""
    if workers == 1:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory.resolve())


def _redact(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _migrate(_: argparse.Namespace, settings: Settings) -> int:
    from service.ops import admin_tasks

    return asyncio.run(admin_tasks.migrate(settings))


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    from service.ops import seed

    if not args.demo and not (args.users or args.content or args.sessions):
        raise CliError("say what to seed: --demo, or --users/--content/--sessions N")
    if args.sessions and not (args.users or args.content) and not args.demo:
        logger.info("sessions will use existing users and content")
    return asyncio.run(seed.run(settings, args))


def _create_admin(args: argparse.Namespace, settings: Settings) -> int:
    from service.auth.schemas import RegisterRequest
    from service.ops import admin_tasks

    password = args.password or os.environ.get("PRAXIS_ADMIN_PASSWORD") or _prompt_password()
    try:
        account = RegisterRequest(
            email=args.email, password=password, display_name=args.email.split("@")[0] or "admin"
        )
    except ValidationError as exc:
        reasons = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors(include_url=False))
        raise CliError(f"cannot create admin: {reasons}") from exc
    return asyncio.run(admin_tasks.create_admin(settings, account))


def _prompt_password() -> str:
    if not sys.stdin.isatty():
        raise CliError(
            "no password: pass --password, set PRAXIS_ADMIN_PASSWORD, or run in a terminal"
        )
    import getpass

    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat: "):
        raise CliError("the passwords differ")
    return first


def _check(_: argparse.Namespace, settings: Settings) -> int:
    from service.ops import admin_tasks

    return asyncio.run(admin_tasks.check(settings))


def _purge(_: argparse.Namespace, settings: Settings) -> int:
    from service.ops import purge

    return asyncio.run(purge.run(settings))
