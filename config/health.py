"""Liveness and dependency check for load balancers and operators."""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    """The connection goes back to the pool here, not at the end of the request: a balancer that
    gives up on a slow check (HAProxy after 1 s) abandons the request, and a pooled connection the
    abandoned request still held would be lost to its process for good."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database unreachable")
        return False
    finally:
        connection.close()


def _cache_ok() -> bool:
    probe = f"health:{uuid.uuid4()}"
    try:
        cache.set(probe, "1", timeout=5)
        found = cache.get(probe) == "1"
        cache.delete(probe)
        return found
    except Exception:
        logger.exception("health check: cache unreachable")
        return False


@require_GET
def health(request):
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "degraded", **{k: "ok" if v else "down" for k, v in checks.items()}}
    return JsonResponse(body, status=200 if healthy else 503)
