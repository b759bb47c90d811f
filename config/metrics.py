"""GET /metrics: Prometheus text format, for a scraper holding ORDERFLOW_METRICS_TOKEN or a platform
operator (a user with the `core.view_metrics` permission; superusers have it). Restaurant staff
(`is_staff`, for the admin) do not: the figures are the whole platform's.

What the figures are is `notifications.metrics`; anyone else gets a problem+json 401 or 403.
"""

import hmac

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from notifications.metrics import REGISTRY

SCRAPER = "metrics-token"


class MetricsTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <ORDERFLOW_METRICS_TOKEN>`; no token configured means no scraper."""

    def authenticate(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expected = settings.ORDERFLOW_METRICS_TOKEN
        if scheme.lower() != "bearer" or not token or not expected:
            return None
        if not hmac.compare_digest(token.strip().encode(), expected.encode()):
            return None
        return AnonymousUser(), SCRAPER

    def authenticate_header(self, request):
        return 'Bearer realm="metrics"'


class IsScraperOrOperator(BasePermission):
    message = "Metrics are for the platform's operators."

    def has_permission(self, request, view):
        if request.auth == SCRAPER:
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.has_perm("core.view_metrics"))


class MetricsView(APIView):
    authentication_classes = [MetricsTokenAuthentication, SessionAuthentication]
    permission_classes = [IsScraperOrOperator]
    schema = None

    def get(self, request):
        return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
