"""The error reference, generated from ``ErrorCode``: JSON for clients, HTML with an anchor per
code (the target of every problem's ``type``), and docs/errors.md.

Regenerate docs/errors.md with ``python -m service.reference.errors_reference > docs/errors.md``;
a test fails when the file and the catalog disagree."""

from __future__ import annotations

import html
import re
from typing import Any

from service.kit.errors import ErrorCode

_CODE_SPAN = re.compile(r"`([^`]+)`")

_INTRODUCTION = """\
Every error answers `application/problem+json` (RFC 9457):

```json
{
  "type": "{PUBLIC_URL}/docs/errors#NOT_FOUND",
  "title": "Not found",
  "status": 404,
  "detail": "The requested resource does not exist.",
  "code": "NOT_FOUND",
  "request_id": "5f0c6a4e2b7d4f0e9f3f2d1c0b9a8e7d"
}
```

`code` is the stable identifier to branch on; `title` and `detail` are for people and may
change. `type` is the code's entry in the service's own error reference, `/docs/errors#CODE`
under `PUBLIC_URL` (also as JSON at `/docs/errors.json`). `request_id` equals the response's
`X-Request-ID` header: quote it when reporting a problem. A 422 adds
`"errors": [{"field", "message"}]`; a 429 adds `"violated-policies"`. No error body ever
contains a stack trace or SQL."""


def error_items(public_url: str) -> list[dict[str, Any]]:
    return [
        {
            "code": code.name,
            "status": code.status,
            "title": code.title,
            "description": code.description,
            "type": code.type_uri(public_url),
        }
        for code in ErrorCode
    ]


def render_markdown() -> str:
    rows = [
        f"| `{code.name}` | {code.status} | {code.title} | {code.description} |"
        for code in ErrorCode
    ]
    table = ["| code | status | title | meaning and what to do |", "| --- | --- | --- | --- |"]
    generated = "<!-- Generated from service/kit/errors.py by service/reference/errors_reference.py"
    return "\n".join(
        [
            "# Error codes",
            "",
            generated + "; do not edit. -->",
            "",
            _INTRODUCTION,
            "",
            *table,
            *rows,
            "",
        ]
    )


def render_html() -> str:
    entries = "\n".join(_html_entry(code) for code in ErrorCode)
    index = " ".join(f'<a href="#{code.name}">{code.name}</a>' for code in ErrorCode)
    return _PAGE.format(index=index, entries=entries)


def _html_entry(code: ErrorCode) -> str:
    return (
        f'<section id="{code.name}">'
        f'<h2><a href="#{code.name}">{code.name}</a></h2>'
        f'<p class="status">{code.status} · {html.escape(code.title)}</p>'
        f"<p>{_inline_markup(code.description)}</p>"
        "</section>"
    )


def _inline_markup(text: str) -> str:
    return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(text, quote=False))


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Praxis API errors</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1b1f23; }}
nav a {{ display: inline-block; margin: 0 .6rem .3rem 0; font-family: monospace; }}
section {{ border-top: 1px solid #d0d7de; padding: .4rem 0; }}
section:target {{ background: #fff8c5; }}
h2 {{ font-family: monospace; font-size: 1.15rem; margin: .6rem 0 .2rem; }}
h2 a {{ color: inherit; text-decoration: none; }}
.status {{ color: #57606a; margin: 0; }}
code {{ background: #f6f8fa; padding: 0 .2rem; }}
</style>
</head>
<body>
<h1>Praxis API errors</h1>
<p>Every error is an RFC 9457 problem (<code>application/problem+json</code>) whose
<code>code</code> is one of these; its <code>type</code> links here. The same list as JSON:
<a href="/docs/errors.json">/docs/errors.json</a>. The API reference:
<a href="/docs">/docs</a>.</p>
<nav>{index}</nav>
{entries}
</body>
</html>
"""

if __name__ == "__main__":
    print(render_markdown(), end="")  # noqa: T201 - the script's output is the document
