"""The app served on a real socket (once per session, or a variant for one test), and the
synchronous client tests call it with."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from sanic import Sanic
from sanic_testing.reusable import ReusableClient

from service.app import create_app
from service.config import Settings
from tests.support.processes import free_port

T = TypeVar("T")
App = Sanic[Any, Any]


class Server:
    """The app on a real socket, plus a way to run coroutines on the loop it serves from."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop, port: int) -> None:
        self.app = app
        self.loop = loop
        self.base_url = f"http://127.0.0.1:{port}"
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=10)

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)


@contextmanager
def serving(app: App, loop: asyncio.AbstractEventLoop | None = None) -> Iterator[Server]:
    """Serve ``app`` on a free port until the block ends, from ``loop`` or a loop of its own.
    Tortoise's pool belongs to the session server's loop: a second app that touches the database
    must be served from that loop (the ``other_app`` fixture does)."""
    Sanic.test_mode = True
    app.config.TOUCHUP = False
    own_loop = loop is None
    loop = loop or asyncio.new_event_loop()
    client = ReusableClient(app, port=free_port(), loop=loop)
    client.run()
    srv = Server(app, loop, client.port)
    try:
        yield srv
    finally:
        srv.run(srv.http.aclose())
        client.stop()
        if own_loop:
            loop.close()


def variant_app(settings: Settings, **changes: Any) -> App:
    """A second app whose settings differ by ``changes``, with a Redis key namespace of its own
    inside the run's; serve it with ``serving``."""
    unique = uuid.uuid4().hex[:8]
    prefix = f"{settings.redis_key_prefix}{unique}:"
    # A fresh Settings, not model_copy: that would carry over cached derived values.
    variant = Settings(**{**settings.model_dump(), "redis_key_prefix": prefix, **changes})
    return create_app(variant, name=f"praxis_variant_{unique}")


@contextmanager
def serving_variant(settings: Settings, **changes: Any) -> Iterator[Server]:
    with serving(variant_app(settings, **changes)) as srv:
        yield srv


class Api:
    """Synchronous HTTP calls against the served app, with optional bearer token."""

    def __init__(self, srv: Server) -> None:
        self.srv = srv

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.srv.run(self.srv.http.request(method, path, headers=headers, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def gather(
        self, *calls: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
    ) -> list[httpx.Response]:
        """Send requests concurrently, for races."""

        async def all_of() -> list[httpx.Response]:
            return list(await asyncio.gather(*(call(self.srv.http) for call in calls)))

        return self.srv.run(all_of())


# What ``other_app`` yields: serve a variant app (optionally configured first), get its client.
ServeVariant = Callable[..., Api]
