"""Request parsing and response helpers shared by every route: one way to read and answer JSON."""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sanic.response import HTTPResponse, raw

from service.app_context import PraxisRequest
from service.kit.errors import ApiError, ErrorCode, from_pydantic, validation_error

ModelT = TypeVar("ModelT", bound=BaseModel)

JSON_CONTENT_TYPE = "application/json"
# No body the API accepts nests deeper than a few levels; event data (free-form) gets this many.
# Deeper is refused before validation walks it (orjson itself stops at 1024: a 400).
MAX_JSON_DEPTH = 32
_JSON_MEDIA_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return bool(_JSON_MEDIA_TYPE.match(media_type))


def parse_body(request: PraxisRequest, model: type[ModelT]) -> ModelT:
    """Validate a JSON request body against ``model``: 415, 400 or 422 when it is not one."""
    body = request.body or b""
    if body.strip() and not is_json_media_type(request.headers.get("content-type", "")):
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.")
    try:
        data = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise ApiError(ErrorCode.MALFORMED_JSON, "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(
            ErrorCode.VALIDATION_FAILED,
            "The request body must be a JSON object.",
            errors=[],
        )
    if json_depth(data) > MAX_JSON_DEPTH:
        raise validation_error("body", f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc) from exc


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests arrays and objects (a scalar is 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in children)
    return deepest


def parse_query(request: PraxisRequest, model: type[ModelT]) -> ModelT:
    """Validate query parameters (last value wins for repeated keys) against ``model``."""
    args = {key: values[-1] for key, values in request.args.items()}
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise from_pydantic(exc) from exc


def json_bytes(payload: dict[str, Any] | list[Any]) -> bytes:
    """Plain data as JSON, written as Pydantic writes it: UTC times end in ``Z``. For answers
    built straight from rows, skipping a model per item (its cost is most of a list's)."""
    return orjson.dumps(payload, default=_as_json, option=orjson.OPT_UTC_Z)


def _as_json(value: object) -> str:
    """What orjson does not write itself: asyncpg's UUIDs (a subclass of ``uuid.UUID``)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(
    payload: BaseModel | dict[str, Any] | list[Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return raw(
        json_bytes(body),
        status=status,
        headers=headers,
        content_type=JSON_CONTENT_TYPE,
    )
