"""Reading what comes from outside: a bad identifier is simply not found, and JSON that Python can
decode but the API cannot store (too deep, NaN/Infinity, numbers out of range, NUL in a string) is
a 400 (`StrictJSONParser`); neither is ever a 500.

DRF imports this module while it loads its settings, so it imports nothing that imports DRF's views.
"""

import json
import math
import uuid
from collections.abc import Mapping
from typing import IO, Any, NoReturn

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"Number out of range: {text[:40]}")
    return number


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _holds_nul(value: object) -> bool:
    """Whether a NUL character is in any key or string of the decoded body (PostgreSQL's text
    and jsonb cannot store one)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, but every body Python cannot turn into storable JSON is a ParseError."""

    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        text = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            data = json.loads(text.decode(encoding), parse_float=_finite_float, parse_constant=_no_constant)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:  # includes UnicodeDecodeError and ints beyond Python's digit limit
            raise ParseError(f"JSON parse error - {exc}") from None
        if _holds_nul(data):
            raise ParseError("JSON parse error - strings must not contain NUL (\\u0000).")
        return data
