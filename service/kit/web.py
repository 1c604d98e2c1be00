"""Request parsing and response helpers shared by every route: one way to read and answer JSON."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sanic.response import HTTPResponse, raw

from service.app_context import PraxisRequest
from service.kit.errors import ApiError, ErrorCode, from_pydantic

ModelT = TypeVar("ModelT", bound=BaseModel)

JSON_CONTENT_TYPE = "application/json"
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
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc) from exc


def parse_query(request: PraxisRequest, model: type[ModelT]) -> ModelT:
    """Validate query parameters (last value wins for repeated keys) against ``model``."""
    args = {key: values[-1] for key, values in request.args.items()}
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise from_pydantic(exc) from exc


def json_response(
    payload: BaseModel | dict[str, Any] | list[Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return raw(
        orjson.dumps(body),
        status=status,
        headers=headers,
        content_type=JSON_CONTENT_TYPE,
    )
