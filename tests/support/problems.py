"""One strict check of an RFC 9457 problem response, used by every test that expects an error."""

from __future__ import annotations

from typing import Any

import httpx

from service.kit.errors import PROBLEM_CONTENT_TYPE, ErrorCode

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "request_id"}
FIELD_ERROR_KEYS = {"field", "message"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """``response`` is the problem ``code`` with HTTP ``status``, every documented field set
    (and, for a 422, its list of field errors); returns the body for further checks."""
    assert response.status_code == status, response.text
    media_type = response.headers["content-type"].split(";", 1)[0].strip()
    assert media_type == PROBLEM_CONTENT_TYPE, response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_FIELDS, body
    catalogued = ErrorCode[code]
    assert catalogued.status == status, f"{code} is a {catalogued.status} in the catalog"
    assert body["code"] == code, body
    assert body["status"] == status, body
    assert body["title"] == catalogued.title, body
    assert isinstance(body["type"], str)
    assert body["type"].startswith(("http://", "https://"))
    assert isinstance(body["detail"], str), body
    assert body["detail"], body
    assert body["request_id"] == response.headers["x-request-id"], body
    if status == 422:
        assert isinstance(body.get("errors"), list), body
        assert all(set(error) == FIELD_ERROR_KEYS for error in body["errors"]), body
    return body


def assert_invalid(response: httpx.Response, field: str) -> dict[str, Any]:
    """``response`` is a 422 that names ``field`` among its field errors."""
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    fields = [error["field"] for error in body["errors"]]
    assert field in fields, fields
    return body
