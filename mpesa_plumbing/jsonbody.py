"""The one bounded way to read untrusted JSON (request bodies, callbacks, WebSocket frames,
Daraja's answers).

``json.loads`` accepts input that the code around it cannot survive: nesting deep enough to hit
Python's recursion limit, ``NaN``/``Infinity`` (which later raise ``OverflowError`` or compare
as nothing), and numbers whose conversion takes seconds to minutes of CPU (a 100,000-digit
integer, or ``1e999999999`` turned into an ``int``) and so freeze the event loop for every other
request. ``loads`` refuses all three with ``JsonError`` before or while parsing, in time linear
in the input:

- nesting is measured first, in one left-to-right regular-expression pass that skips strings
  (each string, even an unterminated one, is consumed by a single match: no rescans), never by
  recursion;
- ``NaN``, ``Infinity`` and ``-Infinity`` are refused;
- an integer or decimal literal may have at most ``max_digits`` characters, and a decimal's
  exponent must stay within ``±max_exponent``: every number that comes back is cheap to convert;
- a string holding a lone UTF-16 surrogate (``"\ud800"``) is refused: it could never be stored,
  logged or sent back;
- a string (or key) holding a NUL character (``"\u0000"``) is refused, or with ``nul="replace"``
  (callbacks: money may have moved, so they are read whatever a cosmetic field holds) comes
  back with U+FFFD in its place: PostgreSQL's text and JSON columns cannot store NUL.
"""

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DEPTH = 32
MAX_DIGITS = 40
MAX_EXPONENT = 40

# A \uD800-\uDFFF escape: JSON lets it through alone, and a lone surrogate cannot be encoded
# (a database write, a log line or an answer would raise UnicodeEncodeError later).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# A \u0000 escape (JSON can carry NUL no other way); an escaped backslash before "u0000" is
# harmless text, so a match is confirmed on the parsed value.
_NUL_ESCAPE = re.compile(r"\\u0000")
# A string (closed, or running to the end of the text) or a bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]{}]', re.S)


class JsonError(ValueError):
    """Not JSON we will read; the message says why, in words for a person."""


def _depth_ok(text: str, max_depth: int) -> bool:
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif token in "]}":
            depth -= 1
    return True


def loads(
    data: bytes | bytearray | str,
    *,
    max_depth: int = MAX_DEPTH,
    max_digits: int = MAX_DIGITS,
    max_exponent: int = MAX_EXPONENT,
    decimals: bool = False,
    nul: str = "refuse",
) -> Any:
    """Parse ``data`` (UTF-8 bytes or text). Decimal literals come back as ``float`` or, with
    ``decimals``, as exact ``Decimal``. Raises JsonError for anything refused."""
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonError("The body is not UTF-8 text.") from None
    else:
        text = data
    if not _depth_ok(text, max_depth):
        raise JsonError(f"The JSON is nested more than {max_depth} levels deep.")

    def number_literal(literal: str) -> str:
        if len(literal) > max_digits:
            raise JsonError(f"A number in the JSON has more than {max_digits} characters.")
        return literal

    def parse_int(literal: str) -> int:
        return int(number_literal(literal))

    def parse_float(literal: str) -> float | Decimal:
        try:
            value = Decimal(number_literal(literal))
        except InvalidOperation:
            raise JsonError("A number in the JSON is not a number.") from None
        if not value.is_finite() or abs(value.adjusted()) > max_exponent:
            raise JsonError("A number in the JSON is out of range.")
        return value if decimals else float(value)

    def parse_constant(name: str) -> Any:
        raise JsonError(f"{name} is not a number JSON allows.")

    try:
        value = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)
    except JsonError:
        raise
    except RecursionError:  # unreachable after the depth check; kept as a backstop
        raise JsonError(f"The JSON is nested more than {max_depth} levels deep.") from None
    except ValueError as exc:
        raise JsonError(f"The body is not valid JSON ({exc.__class__.__name__}).") from None
    if _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        raise JsonError("A string in the JSON holds half of a UTF-16 pair (a lone surrogate).")
    if _NUL_ESCAPE.search(text):
        cleaned = _without_nul(value)
        if cleaned != value and nul != "replace":
            raise JsonError("A string in the JSON holds a NUL character (\\u0000).")
        value = cleaned
    return value


def _without_nul(value: Any) -> Any:
    """``value`` with U+FFFD for each NUL in its strings and keys (the depth is already bounded)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
