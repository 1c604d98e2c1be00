"""sqlcommenter-style statement comments (https://google.github.io/sqlcommenter/spec/):
``/*route='%2Fapi%2Fv1%2Fhistory',traceparent='00-...-01'*/``, keys sorted, values URL-encoded,
so a PostgreSQL log line or a ``pg_stat_statements`` text names the route and trace."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote


@lru_cache(maxsize=512)
def _route_pair(route: str) -> str:
    # URL-encoding leaves no quote, backslash or "*/" in the value: nothing can end the comment.
    return f"route='{quote(route, safe='')}'"


def sqlcomment(route: str | None, traceparent: str | None) -> str:
    """The comment to append to a statement (with a leading space), or "" with nothing to say.
    A traceparent is hex digits and dashes: it needs no encoding."""
    if route is None:
        return f" /*traceparent='{traceparent}'*/" if traceparent else ""
    if traceparent is None:
        return f" /*{_route_pair(route)}*/"
    return f" /*{_route_pair(route)},traceparent='{traceparent}'*/"
