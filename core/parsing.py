"""Parsing identifiers that come from outside: a bad one is simply not found, never a 500."""

import uuid


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None
