"""Hostile values and how they travel: each text in every place a parameter can hold it (the
value itself; an array's item; an object's key or value), encoded as a client would send it, and
read back as the server will see it.

Text travels as UTF-8 with lone surrogates kept (``surrogatepass``): in a JSON body as a
``\\ud800`` escape, in a query or path as its percent-encoded bytes, in a header as raw bytes.
Each request goes over a connection of its own, byte for byte as built here: an HTTP client
library refuses a 100 k character URL, and its pooling costs several times the CPU of a plain
socket, which matters over a few thousand requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from tests.support.openapi import BODY, HEADER, QUERY, Document, Parameter
from tests.support.servers import Server

OVERSIZED = "a" * 100_000
HOSTILE: dict[str, str] = {
    # SQL metacharacters: quoting, comments, LIKE wildcards, escapes, placeholders, a delay.
    "quote-or": "' OR '1'='1",
    "drop-table": "'; DROP TABLE users; --",
    "sleep": "'); SELECT pg_sleep(30); --",
    "backslash": "\\",
    "percent": "%",
    "underscore": "_",
    "placeholder": "$1",
    "metacharacter-email": "o'hara%_\\$1@example.com",
    # Unicode edge cases.
    "lone-surrogate": "\ud800",
    "rtl-override": "\u202egnp.exe",
    "zero-width-joiner": "a\u200db",
    "combining-marks": "e\u0301\u0302\u0303",
    "emoji": "\U0001f469\u200d\U0001f4bb\U0001f525",
    "full-width": "\uff33\uff25\uff2c\uff25\uff23\uff34\uff0a\uff11",
    "not-nfc": "A\u030a",  # NFC would be U+00C5
    "byte-order-mark": "\ufeff",
    # NUL and other control characters.
    "nul": "a\x00b",
    "controls": "\x01\x08\x1b[2J\x7f",
    "unit-separator": "\x1f",  # whitespace to Python's str.strip and re's \s
    "next-line": "\x85",  # the same, and a line break to some parsers
    "crlf": "a\r\nSet-Cookie: x=1",
    "trailing-newline": "slug\n",
    # Oversized.
    "100k-characters": OVERSIZED,
}
ASTRAL = "\U0001d4b3"  # MATHEMATICAL SCRIPT CAPITAL X, a letter
# What a parameter that holds no free text (a number, a flag, an enum, a UUID, a date) gets:
# every kind of hostile value once, since it is refused by its type before any other rule.
TYPED_PROBES = (
    "quote-or",
    "lone-surrogate",
    "emoji",
    "full-width",
    "nul",
    "controls",
    "trailing-newline",
    "100k-characters",
)
# Far longer than any answer takes, far shorter than the pg_sleep a hostile value asks for.
EXCHANGE_TIMEOUT_SECONDS = 20.0
# Requests a sweep keeps in flight: the server's statements and password hashing overlap.
CONCURRENT_CALLS = 8


@dataclass(frozen=True)
class Placement:
    """A value for one parameter, holding hostile text somewhere."""

    parameter: Parameter
    label: str
    value: Any
    text: str

    @property
    def oversized(self) -> bool:
        return self.text == OVERSIZED

    @property
    def sendable(self) -> bool:
        """HTTP cannot carry NUL, CR or LF in a header value, and strips the ends of one."""
        if self.parameter.location != HEADER:
            return True
        raw = encoded(self.value)
        return not {0, 10, 13} & set(raw) and raw == raw.strip(b" \t")

    def seen(self) -> Any:
        """The value as the server reads it."""
        if self.parameter.location == HEADER:
            return encoded(self.value).decode("utf-8", "surrogateescape")
        if self.parameter.location == BODY:
            return self.value
        return encoded(self.value).decode("utf-8", "replace")


def encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def holds_lone_surrogate(text: str) -> bool:
    """Whether JSON carrying ``text`` is malformed (a lone ``\\ud800`` is not a character)."""
    return encoded(text).decode("utf-8", "replace") != text


def placements(document: Document, parameter: Parameter, sample: Any) -> list[Placement]:
    """Every hostile text, and text just over each documented limit, in every place the
    parameter's schema gives text. ``sample`` is a valid value (or None), for lists too long."""
    options = _options(document, parameter.schema)
    free_text = any(_is_free_text(document, option) for option in options)
    texts = {name: HOSTILE[name] for name in (HOSTILE if free_text else TYPED_PROBES)}
    found: list[Placement] = []
    for option in options:
        if "maxLength" in option:
            texts[f"over-maxLength-{option['maxLength']}"] = "a" * (option["maxLength"] + 1)
    for name, text in texts.items():
        found.append(Placement(parameter, name, text, text))
        if parameter.location == BODY:
            for option in options:
                found += _nested(parameter, option, name, text)
    found += _arrays_too_long(document, parameter, sample)
    return found


def at_limits(document: Document, parameter: Parameter) -> list[Placement]:
    """Text exactly as long as each documented maxLength allows, in ASCII and in characters
    outside the Basic Multilingual Plane (two UTF-16 units, four UTF-8 bytes each): a limit
    counts characters, whichever way they are encoded."""
    found = []
    for option in _options(document, parameter.schema):
        items = document.resolve(option.get("items", {}))
        for limit, as_item in ((option.get("maxLength"), False), (items.get("maxLength"), True)):
            if limit is None:
                continue
            for name, char in (("ascii", "z"), ("astral", ASTRAL)):
                text = char * limit
                label = f"{name}-at-maxLength-{limit}"
                found.append(Placement(parameter, label, [text] if as_item else text, text))
    return found


def _nested(parameter: Parameter, option: dict[str, Any], name: str, text: str) -> list[Placement]:
    """The text as an array's item, or an object's key and value."""
    if option.get("type") == "array":
        return [Placement(parameter, f"[{name}]", [text], text)]
    if option.get("type") == "object":
        return [
            Placement(parameter, f"{{{name}: 1}}", {text: 1}, text),
            Placement(parameter, f'{{"k": {name}}}', {"k": text}, text),
        ]
    return []


def _arrays_too_long(document: Document, parameter: Parameter, sample: Any) -> list[Placement]:
    """An item just over its maxLength; one item more than maxItems (copies of ``sample``'s)."""
    found = []
    for option in _options(document, parameter.schema):
        items = document.resolve(option.get("items", {}))
        if "maxLength" in items:
            text = "a" * (items["maxLength"] + 1)
            found.append(
                Placement(parameter, f"[over-maxLength-{items['maxLength']}]", [text], text)
            )
        if "maxItems" in option and isinstance(sample, list) and sample:
            count = option["maxItems"] + 1
            found.append(Placement(parameter, f"over-maxItems-{count - 1}", sample[:1] * count, ""))
    return found


def _is_free_text(document: Document, option: dict[str, Any]) -> bool:
    """A string (or strings in an array or object) not restricted to an enum or a format."""
    if option.get("type") == "array":
        return _is_free_text(document, document.resolve(option.get("items", {})))
    if option.get("type") == "object":
        return True
    return option.get("type") == "string" and not {"enum", "format"} & set(option)


def _options(document: Document, schema: dict[str, Any]) -> list[dict[str, Any]]:
    resolved = document.resolve(schema)
    return [document.resolve(option) for option in resolved.get("anyOf", [resolved])]


@dataclass
class Call:
    """One request, built up parameter by parameter, sent over a connection of its own.
    ``path_values`` fill the path template's parameters, already encoded."""

    method: str
    path: str
    path_values: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, bytes]] = field(default_factory=list)
    headers: dict[str, bytes] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def place(self, placement: Placement) -> None:
        parameter = placement.parameter
        if parameter.location == QUERY:
            self.query.append((parameter.name, encoded(placement.value)))
        elif parameter.location == HEADER:
            self.headers[parameter.name] = encoded(placement.value)
        elif parameter.location == BODY:
            assert self.body is not None, f"{self.method} {self.path} takes no body"
            self.body[parameter.name] = placement.value
        else:
            self.path_values[parameter.name] = path_segment(placement.value)

    @property
    def target(self) -> str:
        path = re.sub(r"{([a-z_]+)}", lambda match: self.path_values[match[1]], self.path)
        if not self.query:
            return path
        return path + "?" + "&".join(f"{name}={quote(raw, safe='')}" for name, raw in self.query)

    def content(self) -> bytes | None:
        # ensure_ascii escapes a lone surrogate as \ud800, which is how a client can send one.
        return None if self.body is None else json.dumps(self.body, ensure_ascii=True).encode()

    def send(self, server: Server) -> httpx.Response:
        return server.run(self.request(server))

    async def request(self, server: Server) -> httpx.Response:
        headers = dict(self.headers)
        content = self.content()
        if content is not None:
            headers["Content-Type"] = b"application/json"
        return await exchange(server.base_url, self.method, self.target, headers, content)


def send_all(server: Server, calls: list[Call]) -> list[httpx.Response]:
    """The calls' answers, in order, up to ``CONCURRENT_CALLS`` of them in flight at once."""
    gate = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(call: Call) -> httpx.Response:
        async with gate:
            return await call.request(server)

    async def every() -> list[httpx.Response]:
        return list(await asyncio.gather(*(one(call) for call in calls)))

    return server.run(every())


def path_segment(value: str) -> str:
    return quote(encoded(value), safe="")


async def exchange(
    base_url: str, method: str, target: str, headers: dict[str, bytes], content: bytes | None
) -> httpx.Response:
    """One HTTP/1.1 request on a new connection, and its answer (read to the connection's end)."""
    host, port = base_url.removeprefix("http://").split(":")
    lines = [f"{method} {target} HTTP/1.1".encode(), f"Host: {host}".encode(), b"Connection: close"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    if content is not None:
        lines.append(f"Content-Length: {len(content)}".encode())
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + (content or b""))
        # The server may answer and close before it has read everything.
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), EXCHANGE_TIMEOUT_SECONDS)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return _parsed(answer)


def _parsed(answer: bytes) -> httpx.Response:
    """The answer as an ``httpx.Response`` (what the problem assertions read)."""
    head, _, content = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [(name, value) for name, _, value in (line.partition(": ") for line in header_lines)]
    response = httpx.Response(int(status_line.split()[1]), headers=headers, content=content)
    assert "transfer-encoding" not in response.headers, "a chunked answer: read it properly"
    assert len(content) == int(response.headers.get("content-length", 0)), head
    return response
