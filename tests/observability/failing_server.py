"""The production server (``run_server``, ``app_from_environment``: the same logging and tracing
wiring as ``praxis serve``) plus routes that fail, to test what a real process logs and exports
when a request fails. Run as ``python -m tests.observability.failing_server``."""

from __future__ import annotations

import logging
from typing import Any

from sanic import Request, Sanic
from sanic.log import error_logger
from sanic.response import HTTPResponse

from service.config import Settings
from service.ops.server import app_from_environment, run_server

FAILING_PATH = "/test/fail"
BROKEN_ERROR_PAGE_PATH = "/test/broken-error-page"
SECRET_HEADER = "X-Test-Secret"
logger = logging.getLogger("praxis.test_routes")


class BrokenPage(Exception):
    """Its handler fails too: Sanic then answers a bare 500 of its own."""


async def fail(request: Request) -> HTTPResponse:
    secret = request.headers.get(SECRET_HEADER, "")
    # Lines a careless module might write: secrets in the message, in extra, nested.
    logger.warning(
        "retrying login with password=%s",
        secret,
        extra={"refresh_token": secret, "headers": {"Authorization": f"Bearer {secret}"}},
    )
    error_logger.warning("a line of Sanic's error logger while serving")
    raise RuntimeError(f"the handler failed; the request had password={secret}")


async def broken_error_page(_: Request) -> HTTPResponse:
    raise BrokenPage


async def render_broken_page(_: Request, exc: BrokenPage) -> HTTPResponse:
    raise ValueError("the error page itself failed") from exc


def app_with_failing_routes() -> Sanic[Any, Any]:
    app = app_from_environment()
    app.add_route(fail, FAILING_PATH)
    app.add_route(broken_error_page, BROKEN_ERROR_PAGE_PATH)
    app.error_handler.add(BrokenPage, render_broken_page)
    return app


if __name__ == "__main__":
    from tests.observability.failing_server import app_with_failing_routes as factory

    run_server(Settings(), factory=factory)
