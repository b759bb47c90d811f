"""Stable public UUIDs for people (customers, couriers, staff) where a client document shows one.

Users keep their integer primary key inside the system; the API shows a UUID derived from it
with a keyed hash (`ORDERFLOW_PUBLIC_ID_KEY`), so the id is the same on every answer and every
day, reveals neither the key nor how many users there are, and needs no column or backfill.
Changing the key changes every public id: it is set once per deployment.
"""

import hashlib
import hmac
import uuid

from django.conf import settings


def user_public_id(user_id: int | None) -> uuid.UUID | None:
    if user_id is None:
        return None
    digest = hmac.new(settings.ORDERFLOW_PUBLIC_ID_KEY.encode(), f"user:{user_id}".encode(), hashlib.sha256).digest()
    return uuid.UUID(bytes=digest[:16], version=4)
