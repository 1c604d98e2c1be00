"""What the code serving a request knows about it, wherever it runs: log lines, statement
timing and slow-query records read it without being handed the request.

Set by the first request middleware; a ContextVar, so concurrent requests never mix (each
request is served in its own task, which copies the context)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class RequestContext:
    request_id: str
    # The matched route's template (``/api/v1/sessions/<id>``), None when routing failed.
    route: str | None
    # SQL statements sent so far while serving this request.
    queries: int = 0


_current: ContextVar[RequestContext | None] = ContextVar("praxis_request", default=None)


def begin(request_id: str, route: str | None) -> RequestContext:
    context = RequestContext(request_id, route)
    _current.set(context)
    return context


def current() -> RequestContext | None:
    return _current.get()
