"""`StrictJSONParser`: JSON that Python can decode but the API cannot store (too deep,
NaN/Infinity, numbers out of range) is a 400, never a 500.

DRF imports this module while it loads its settings, so it imports nothing that imports DRF's views.
"""

import json
import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"Number out of range: {text[:40]}")
    return number


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, but every body Python cannot turn into storable JSON is a ParseError."""

    def parse(self, stream, media_type=None, parser_context=None):
        text = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            return json.loads(text.decode(encoding), parse_float=_finite_float, parse_constant=_no_constant)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:  # includes UnicodeDecodeError and ints beyond Python's digit limit
            raise ParseError(f"JSON parse error - {exc}") from None
