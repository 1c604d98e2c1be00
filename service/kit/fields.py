"""Text rules request fields of several domains share, as Pydantic ``AfterValidator`` functions."""

from __future__ import annotations

from collections.abc import Callable

NUL = "\x00"
# The same rules as JSON-schema patterns, for the OpenAPI document (Python's regex dialect):
# what a client may send is exactly what these validators accept.
NO_NUL_PATTERN = r"^[^\x00]*$"
NON_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
# The end of the text, for patterns whose characters exclude a newline. Python's ``$`` also
# matches before a final newline, so ``^[a-z]+$`` would let "slug\n" through (ECMAScript's
# ``$`` would not): the lookahead makes every reading of the pattern refuse it.
END_OF_TEXT = r"$(?!\n)"
# ASCII whitespace, spelled out: regex engines (Python's, Rust's in pydantic-core, a client's
# JSON-schema validator) disagree on what ``\s`` matches beyond it.
ASCII_WHITESPACE = " \t\n\r\f\v"
# A query value of only ASCII whitespace means "not given". A control character such as U+001F
# or U+0085 is not blank here, although Python's ``str.strip`` removes it.
BLANK_PATTERN = rf"^[{ASCII_WHITESPACE}]*$"


def is_blank(value: str) -> bool:
    return not value.strip(ASCII_WHITESPACE)


def non_blank(value: str) -> str:
    """The value stripped; refused when nothing but whitespace."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def refusing_nul(message: str) -> Callable[[str], str]:
    """A validator refusing U+0000, which PostgreSQL text and jsonb cannot hold: a 422 with
    ``message``, not a database error. Each API words the refusal its own (documented) way."""

    def no_nul(value: str) -> str:
        if NUL in value:
            raise ValueError(message)
        return value

    return no_nul
