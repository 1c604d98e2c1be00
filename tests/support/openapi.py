"""The service's OpenAPI document as tests walk it: every operation with its parameters (path,
query and header parameters, and each field of its JSON body), and whether a value satisfies a
parameter's schema as the document states it.

Patterns are read in Python's dialect, as the document says they are written, but for ``$``:
it is the end of the text, as in ECMAScript (JSON Schema's dialect), where Python's would also
match before a final newline; the service must not rely on that difference. A schema keyword
or format this module does not know raises ``Unjudgeable``: a test built on it then fails
instead of guessing what a new constraint means."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
# Where a parameter travels. Path, query and header values are text the server reads as the
# schema's type; body fields are JSON values.
PATH, QUERY, HEADER, BODY = "path", "query", "header", "body"
TEXTUAL = frozenset({PATH, QUERY, HEADER})

# Keywords that say nothing about which values are valid.
ANNOTATIONS = frozenset({"title", "description", "default", "example", "examples"})
CONSTRAINTS = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "anyOf",
        "allOf",
        "pattern",
        "minLength",
        "maxLength",
        "format",
        "minimum",
        "maximum",
        "items",
        "minItems",
        "maxItems",
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
    }
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class Unjudgeable(Exception):
    """The schema uses a keyword or format whose meaning this module was not taught."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    schema: dict[str, Any]
    required: bool


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    parameters: tuple[Parameter, ...]
    body_example: dict[str, Any] | None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def secured(self) -> bool:
        return "security" in self.spec

    @property
    def reads(self) -> bool:
        return self.method == "GET"

    def documents(self, status: int) -> bool:
        return str(status) in self.spec["responses"]

    def codes(self, status: int) -> set[str]:
        """The problem codes documented for ``status``."""
        media = self.spec["responses"][str(status)]["content"]["application/problem+json"]
        narrowed = media["schema"]["allOf"][1]
        return set(narrowed["properties"]["code"]["enum"])


class Document:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]

    def operations(self) -> list[Operation]:
        return [
            self._operation(method, path, operation)
            for path, operations in self.spec["paths"].items()
            for method, operation in operations.items()
            if method in METHODS
        ]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def accepts(self, schema: dict[str, Any], value: Any, location: str = BODY) -> bool:
        """Whether ``value`` (as the server reads it, for a textual location) is valid."""
        schema = self.resolve(schema)
        unknown = set(schema) - CONSTRAINTS - ANNOTATIONS
        if unknown:
            raise Unjudgeable(f"keywords {sorted(unknown)} in {schema}")
        if "anyOf" in schema and not any(
            self.accepts(option, value, location) for option in schema["anyOf"]
        ):
            return False
        if not all(self.accepts(part, value, location) for part in schema.get("allOf", [])):
            return False
        if "type" not in schema:
            return "enum" not in schema or value in schema["enum"]
        typed = _typed(schema["type"], value, location)
        return typed is not _INVALID and self._satisfies(schema, typed)

    def _satisfies(self, schema: dict[str, Any], value: Any) -> bool:
        if "enum" in schema and value not in schema["enum"]:
            return False
        if isinstance(value, str):
            return _string_satisfies(schema, value)
        if isinstance(value, bool) or value is None:
            return True
        if isinstance(value, int | float):
            low: float = schema.get("minimum", -math.inf)
            high: float = schema.get("maximum", math.inf)
            return low <= value <= high
        if isinstance(value, list):
            return self._array_satisfies(schema, value)
        return self._object_satisfies(schema, value)

    def _array_satisfies(self, schema: dict[str, Any], value: list[Any]) -> bool:
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", math.inf):
            return False
        items = schema.get("items", {})
        return all(self.accepts(items, item) for item in value)

    def _object_satisfies(self, schema: dict[str, Any], value: dict[str, Any]) -> bool:
        if not set(schema.get("required", [])) <= set(value):
            return False
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for key, item in value.items():
            if not _valid_text(key):
                return False
            matched = [sub for pattern, sub in patterns.items() if _search(pattern, key)]
            if key in properties:
                matched.append(properties[key])
            if not matched and schema.get("additionalProperties", True) is False:
                return False
            if not all(self.accepts(sub, item) for sub in matched):
                return False
        return True

    def _operation(self, method: str, path: str, operation: dict[str, Any]) -> Operation:
        parameters = [
            Parameter(p["name"], p["in"], p["schema"], p.get("required", False))
            for p in operation.get("parameters", [])
        ]
        example = None
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if media is not None:
            body = self.resolve(media["schema"])
            required = set(body.get("required", []))
            parameters += [
                Parameter(name, BODY, schema, name in required)
                for name, schema in body["properties"].items()
            ]
            example = media.get("example", body.get("example"))
        return Operation(method.upper(), path, operation, tuple(parameters), example)


# A value that is not of the schema's type (None is a valid JSON value).
_INVALID = object()


def _typed(kind: str, value: Any, location: str) -> Any:
    """``value`` as the schema's ``type`` reads it, or ``_INVALID``."""
    if location in TEXTUAL:
        return _typed_text(kind, value)
    expected: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "array": list,
        "object": dict,
        "null": type(None),
    }
    if not isinstance(kind, str) or kind not in expected:
        raise Unjudgeable(f"type {kind}")
    if isinstance(value, bool) and kind in ("integer", "number"):
        return _INVALID
    if kind == "integer" and isinstance(value, float) and not value.is_integer():
        return _INVALID
    return value if isinstance(value, expected[kind]) else _INVALID


def _typed_text(kind: str, text: str) -> Any:
    if kind == "string":
        return text
    if kind == "integer":
        return int(text) if _INTEGER_TEXT.fullmatch(text) else _INVALID
    if kind == "number":
        return float(text) if _NUMBER_TEXT.fullmatch(text) else _INVALID
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, _INVALID)
    raise Unjudgeable(f"type {kind} in a path, query or header")


def _string_satisfies(schema: dict[str, Any], value: str) -> bool:
    if not _valid_text(value):
        return False
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf):
        return False
    if "pattern" in schema and not _search(schema["pattern"], value):
        return False
    return "format" not in schema or _has_format(schema["format"], value)


def _search(pattern: str, value: str) -> bool:
    """``re.search``, with a final ``$`` meaning the end of the text (see the module's note)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.search(pattern, value) is not None


def _valid_text(value: str) -> bool:
    """Text JSON can carry: no lone surrogate (a JSON ``"\\ud800"`` is not a character)."""
    return _SURROGATE.search(value) is None


def _has_format(name: str, value: str) -> bool:
    if name == "uuid":
        return bool(_UUID.fullmatch(value))
    if name == "date-time":
        return _is_date_time(value)
    if name in ("cursor", "numbered-cursor"):
        # Opaque; what the service issues is the base64url JSON of a sort key (a list).
        return _is_cursor(value)
    raise Unjudgeable(f"format {name}")


def _is_date_time(value: str) -> bool:
    if not value.isascii():
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is not None


def _is_cursor(value: str) -> bool:
    if not _BASE64URL.fullmatch(value):
        return False
    try:
        key = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(key, list)
