"""One decorator that documents an operation completely: summary, body, responses, errors, auth."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sanic_ext import openapi
from sanic_ext.extensions.openapi.builders import OperationStore
from sanic_ext.extensions.openapi.definitions import Component, Response

from service.kit.errors import PROBLEM_CONTENT_TYPE
from service.kit.rbac import auth_requirement

F = TypeVar("F", bound=Callable[..., Any])

# Every /api route is rate limited and reads request bodies, so these can always happen.
ALWAYS_POSSIBLE = (429,)


class FieldErrorDoc(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "https://praxis.dev/problems/not-found",
                "title": "Not found",
                "status": 404,
                "detail": "The requested resource does not exist.",
                "code": "NOT_FOUND",
                "request_id": "5f0c6a4e2b7d4f0e9f3f2d1c0b9a8e7d",
            }
        }
    )

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[FieldErrorDoc] | None = None


def documented(
    summary: str,
    tag: str,
    *,
    body: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None],
    errors: Iterable[int] = (),
    rate_limited: bool = True,
    media_type: str = "application/json",
) -> Callable[[F], F]:
    """Put directly under the route decorator, above any auth guard, so it sees the guard."""

    def decorate(handler: F) -> F:
        requirement = auth_requirement(handler)
        statuses = set(errors) | (set(ALWAYS_POSSIBLE) if rate_limited else set())
        if requirement is not None:
            statuses.add(401)
            statuses.add(403)  # a disabled account, or a missing permission
            handler = openapi.secured("bearer")(handler)
        if body is not None:
            handler = openapi.body({"application/json": Component(body)}, required=True)(handler)
            statuses |= {400, 413, 415, 422}  # malformed, too large, not JSON, invalid
        for status, model in responses.items():
            if model is None:
                # openapi.response() would give a body-less answer a "*/*" content entry.
                store = OperationStore()[handler]  # type: ignore[no-untyped-call]
                store.responses[status] = Response(status=status, description=_phrase(status))
                continue
            content = {media_type: Component(model)}
            handler = openapi.response(status, content, _phrase(status))(handler)
        for status in sorted(statuses):
            handler = openapi.response(
                status, {PROBLEM_CONTENT_TYPE: Component(Problem)}, _phrase(status)
            )(handler)
        description = _permission_note(requirement)
        if description:
            handler = openapi.description(description)(handler)
        handler = openapi.summary(summary)(handler)
        return openapi.tag(tag)(handler)

    return decorate


def _phrase(status: int) -> str:
    return HTTPStatus(status).phrase


def _permission_note(requirement: dict[str, Any] | None) -> str:
    if requirement is None:
        return ""
    if requirement.get("permission"):
        return f"Needs a bearer token with the `{requirement['permission']}` permission."
    return "Needs a bearer access token."


_PAGE_PARAMETER_DOCS = {
    "limit": "Page size, 1-100 (default 20).",
    "cursor": "The next_cursor of the previous page; opaque.",
}


def query_parameters(model: type[BaseModel]) -> Callable[[F], F]:
    """Document each field of a query-parameter model; put it next to ``documented``."""

    def decorate(handler: F) -> F:
        for name, field in model.model_fields.items():
            schema = int if field.annotation is int else str
            description = field.description or _PAGE_PARAMETER_DOCS.get(name, "")
            handler = openapi.parameter(name, schema, "query", description=description)(handler)
        return handler

    return decorate
