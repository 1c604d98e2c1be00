"""One decorator that documents an operation completely: summary, description, tag, security,
parameters (from the same Pydantic models that validate them), body, every status it can answer
with a schema and an example, and the links that let a client (or a fuzzer) chain operations."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, RootModel
from sanic_ext.extensions.openapi.builders import OperationBuilder, OperationStore
from sanic_ext.extensions.openapi.definitions import Component, Parameter, Response

from service.kit.errors import PROBLEM_CONTENT_TYPE, ErrorCode
from service.kit.fields import BLANK_PATTERN
from service.kit.rbac import auth_requirement

F = TypeVar("F", bound=Callable[..., Any])

# Problem examples carry a type URI; the real base is PUBLIC_URL, known only when serving.
EXAMPLE_PUBLIC_URL = "https://praxis.example.com"
# What every route can answer: the request line and headers are read before routing.
HEAD_CODES = (ErrorCode.HEADERS_TOO_LARGE,)
# What every rate-limited route can answer, and every route that reads the database.
RATE_LIMIT_CODES = (ErrorCode.RATE_LIMITED,)
DEPENDENCY_CODES = (ErrorCode.SERVICE_UNAVAILABLE,)
BODY_CODES = (
    ErrorCode.MALFORMED_JSON,
    ErrorCode.PAYLOAD_TOO_LARGE,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.VALIDATION_FAILED,
)
AUTH_CODES = (
    ErrorCode.AUTH_REQUIRED,
    ErrorCode.TOKEN_EXPIRED,
    ErrorCode.TOKEN_INVALID,
    ErrorCode.TOKEN_REVOKED,
    ErrorCode.ACCOUNT_DISABLED,
)


class FieldErrorDoc(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": ErrorCode.NOT_FOUND.type_uri(EXAMPLE_PUBLIC_URL),
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


class PrometheusText(RootModel[str]):
    """The Prometheus text exposition format (``/metrics``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": "# HELP praxis_build_info Build of the running service\n"
            "# TYPE praxis_build_info gauge\n"
            'praxis_build_info{version="0.1.0"} 1.0\n'
        }
    )


# Query values that mean "not given": an empty one always (Sanic drops blank query values), a
# blank one (ASCII whitespace) too for models that say so (EMPTY_MEANS_ABSENT).
EMPTY_VALUE = {"type": "string", "enum": [""]}
BLANK_VALUE = {"type": "string", "pattern": BLANK_PATTERN}


@dataclass(frozen=True)
class PathParameter:
    schema: dict[str, Any]
    description: str


# Path parameters by name: a handler's parameter of one of these names is documented so.
PATH_PARAMETERS: dict[str, PathParameter] = {}


def path_parameter(name: str, schema: dict[str, Any], description: str) -> None:
    PATH_PARAMETERS[name] = PathParameter(schema, description)


path_parameter(
    "session_id",
    {"type": "string", "format": "uuid"},
    "The session's id, as answered when it was started.",
)
path_parameter(
    "content_id", {"type": "string", "format": "uuid"}, "The content item's id (not its slug)."
)
path_parameter("user_id", {"type": "string", "format": "uuid"}, "The user's id.")


@dataclass(frozen=True)
class Link:
    """An OpenAPI link from a success answer to another operation, by operation id."""

    operation_id: str
    parameters: Mapping[str, str]
    description: str = ""

    def serialize(self) -> dict[str, Any]:
        link: dict[str, Any] = {"operationId": self.operation_id, "parameters": self.parameters}
        if self.description:
            link["description"] = self.description
        return link


class _LinkedResponse(Response):
    links: dict[str, Any]


def documented(  # noqa: PLR0913 - keyword-only options, each one part of the operation
    summary: str,
    tag: str,
    *,
    description: str = "",
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: Mapping[int, type[BaseModel] | None],
    errors: Iterable[ErrorCode] = (),
    links: Mapping[str, Link] | None = None,
    parameters: Iterable[Parameter] = (),
    rate_limited: bool = True,
    media_type: str = "application/json",
) -> Callable[[F], F]:
    """Put directly under the route decorator, above any auth guard, so it sees the guard.
    ``errors`` are the codes particular to the operation; those of authentication, bodies,
    query parameters, rate limiting and outages are added from what the operation does."""

    def decorate(handler: F) -> F:
        operation: OperationBuilder = OperationStore()[handler]  # type: ignore[no-untyped-call]
        requirement = auth_requirement(handler)
        codes = _possible_codes(requirement, body, query, errors, rate_limited)
        operation.name(_operation_id(handler))
        operation.describe(summary, _description(description, requirement))
        operation.tag(tag)
        if requirement is not None:
            operation.secured("bearer")  # type: ignore[no-untyped-call]
        _document_parameters(operation, handler, query)
        operation.parameters.extend(parameters)
        if body is not None:
            # A body whose fields are all optional may be left out (it means "{}").
            required = bool(body.model_json_schema().get("required"))
            operation.body({"application/json": _media(body)}, required=required)
        for status, model in responses.items():
            linked = (
                links if links and HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES else None
            )
            operation.responses[str(status)] = _success(status, model, media_type, linked)
        for status, status_codes in _by_status(codes).items():
            operation.responses[str(status)] = _problem(status, status_codes)
        return handler

    return decorate


def _operation_id(handler: Callable[..., Any]) -> str:
    """``sessions.get_session``: the handler's domain (its module under ``service``) and name."""
    domain = handler.__module__.removeprefix("service.").removesuffix(".routes")
    return f"{domain}.{handler.__name__}"


def _possible_codes(
    requirement: dict[str, Any] | None,
    body: type[BaseModel] | None,
    query: type[BaseModel] | None,
    errors: Iterable[ErrorCode],
    rate_limited: bool,
) -> list[ErrorCode]:
    codes = list(errors)
    if requirement is not None:
        codes += AUTH_CODES
        if requirement.get("permission"):
            codes.append(ErrorCode.PERMISSION_DENIED)
    if body is not None:
        codes += BODY_CODES
    if query is not None:
        codes.append(ErrorCode.VALIDATION_FAILED)
    if rate_limited:
        codes += RATE_LIMIT_CODES + DEPENDENCY_CODES
    codes += HEAD_CODES
    return list(dict.fromkeys(codes))


def _by_status(codes: Iterable[ErrorCode]) -> dict[int, list[ErrorCode]]:
    grouped: dict[int, list[ErrorCode]] = {}
    for code in codes:
        grouped.setdefault(code.status, []).append(code)
    return dict(sorted(grouped.items()))


def _description(text: str, requirement: dict[str, Any] | None) -> str:
    if requirement is None:
        access = "No authentication."
    elif requirement.get("permission"):
        access = f"Needs a bearer access token with the `{requirement['permission']}` permission."
    else:
        access = "Needs a bearer access token."
    return f"{text}\n\n{access}" if text else access


def _media(model: type[BaseModel]) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": Component(model)}
    example = model.model_json_schema().get("example")
    if example is not None:
        media["example"] = example
    return media


def _success(
    status: int,
    model: type[BaseModel] | None,
    media_type: str,
    links: Mapping[str, Link] | None,
) -> Response:
    content = None if model is None else {media_type: _media(model)}
    fields: dict[str, Any] = {"description": _phrase(status)}
    if content is not None:
        # Response.make would give a body-less answer a "*/*" content entry.
        fields["content"] = Response.make(content).fields["content"]
    if links:
        fields["links"] = {name: link.serialize() for name, link in links.items()}
    return _LinkedResponse(status=status, **fields)


def _problem(status: int, codes: list[ErrorCode]) -> Response:
    """The problem schema with ``code`` narrowed to what this operation answers with this
    status, and an example of the first of them."""
    example_code = codes[0]
    example: dict[str, Any] = {
        "type": example_code.type_uri(EXAMPLE_PUBLIC_URL),
        "title": example_code.title,
        "status": status,
        "detail": example_code.title + ".",
        "code": example_code.name,
        "request_id": "5f0c6a4e2b7d4f0e9f3f2d1c0b9a8e7d",
    }
    if example_code is ErrorCode.VALIDATION_FAILED:
        example["errors"] = [
            {"field": "limit", "message": "Input should be less than or equal to 100"}
        ]
    schema = {
        "allOf": [
            Component(Problem),
            {"type": "object", "properties": {"code": {"enum": [c.name for c in codes]}}},
        ]
    }
    names = ", ".join(f"`{c.name}`" for c in codes)
    media = {"schema": schema, "example": example}
    response: Response = Response.make({PROBLEM_CONTENT_TYPE: media}, f"{_phrase(status)}: {names}")
    return response


def _phrase(status: int) -> str:
    return HTTPStatus(status).phrase


def _document_parameters(
    operation: OperationBuilder, handler: Callable[..., Any], query: type[BaseModel] | None
) -> None:
    for name in inspect.signature(handler).parameters:
        if name in PATH_PARAMETERS:
            declared = PATH_PARAMETERS[name]
            operation.parameters.append(
                parameter(name, declared.schema, "path", declared.description, required=True)
            )
    if query is not None:
        operation.parameters.extend(query_parameters(query))


def query_parameters(model: type[BaseModel]) -> list[Parameter]:
    """One parameter per field of a query model, its schema the field's JSON schema as Pydantic
    derives it from the model that validates the query: the document cannot promise other
    limits than the service applies. ``null`` (only ever the Python default) is left out."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", []))
    parameters = []
    for name, field_schema in schema["properties"].items():
        resolved = _without_null(_inline_refs(copy.deepcopy(field_schema), definitions))
        description = resolved.pop("description", None)
        resolved.pop("title", None)
        absent = BLANK_VALUE if getattr(model, "EMPTY_MEANS_ABSENT", False) else EMPTY_VALUE
        resolved = {"anyOf": [resolved, absent]}
        parameters.append(parameter(name, resolved, "query", description, name in required))
    return parameters


def parameter(
    name: str, schema: dict[str, Any], location: str, description: str | None, required: bool
) -> Parameter:
    """A parameter whose schema is given as JSON schema (sanic-ext's own builds one from a type,
    which cannot carry lengths, patterns or ranges)."""
    return Parameter(
        name,
        cast(Any, schema),
        location,
        description=description,
        required=required,
    )


def _inline_refs(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = copy.deepcopy(definitions[ref.rsplit("/", 1)[1]])
            target.pop("title", None)
            return _inline_refs(target, definitions)
        return {key: _inline_refs(value, definitions) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline_refs(item, definitions) for item in schema]
    return schema


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    variants = schema.get("anyOf")
    if not isinstance(variants, list):
        return schema
    kept = [v for v in variants if v != {"type": "null"}]
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if rest.get("default", "") is None:
        del rest["default"]
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {"anyOf": kept, **rest}
