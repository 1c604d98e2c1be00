"""Request ids: the client's when it sent a sane one, else a fresh one."""

from __future__ import annotations

import re
import uuid

from service.app_context import PraxisRequest

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def sane_request_id(candidate: str | None) -> str:
    if candidate and _SANE_REQUEST_ID.match(candidate):
        return candidate
    return uuid.uuid4().hex


def ensure_request_id(request: PraxisRequest) -> str:
    """Routing errors skip request middleware; they still get a request id."""
    request_id: str | None = getattr(request.ctx, "request_id", None)
    if request_id is None:
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.ctx.request_id = request_id
    return request_id
