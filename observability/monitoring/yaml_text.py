"""A small YAML writer for the generated rule files: nested mappings, lists and strings, with
multi-line strings as literal blocks so PromQL stays readable (PyYAML is only a test dependency)."""

from __future__ import annotations

import json
import re
from typing import Any

PLAIN = re.compile(r"[A-Za-z0-9][\w.:/-]*")
# Words YAML 1.1 readers take for booleans or null; quoted when they are the whole value.
RESERVED = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}


def _scalar(text: str, indent: int) -> str:
    if "\n" in text:
        pad = " " * (indent + 2)
        return "|-\n" + "\n".join(pad + line if line else "" for line in text.splitlines())
    plain = PLAIN.fullmatch(text) and re.search("[A-Za-z]", text) and text.lower() not in RESERVED
    return text if plain else json.dumps(text)


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines += [f"{pad}{key}:", *_lines(item, indent + 2)]
            else:
                lines.append(f"{pad}{key}: {_inline(item, indent)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            nested = _lines(item, indent + 2)
            lines += [pad + "- " + nested[0][indent + 2 :], *nested[1:]]
        return lines
    return [pad + _inline(value, indent)]


def _inline(value: Any, indent: int) -> str:
    if isinstance(value, str):
        return _scalar(value, indent)
    if isinstance(value, dict | list):
        return json.dumps(value)  # only empty ones reach here
    return json.dumps(value)


def dump(value: Any, header: str) -> str:
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + "\n".join(_lines(value, 0)) + "\n"
