"""The one way timestamps are written for clients: ISO 8601 in UTC, with a `Z`."""

from datetime import UTC, datetime


def iso(moment: datetime | None, *, timespec: str = "auto") -> str | None:
    """`moment` in UTC as ISO 8601 ending in `Z` (None stays None); `timespec` as `isoformat`'s."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
