"""POST /api/webhooks/endpoints/<id>/replay/: operators send an endpoint a time range again."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import EndpointState, WebhookDelivery, WebhookEndpoint
from tests.api.support import problem
from tests.factories import place_order

pytestmark = pytest.mark.django_db


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(name="POS", url="http://127.0.0.1:9/hooks", secret="whsec_replay")


def replay(user, endpoint_id, **body):
    return client_of(user).post(f"/api/webhooks/endpoints/{endpoint_id}/replay/", body, format="json")


def test_an_operator_replays_the_events_of_a_range(admin_user, endpoint, customer, menu):
    since = timezone.now() - timedelta(seconds=1)
    orders = [place_order(customer, menu["salad"], quantity=2) for _ in range(2)]
    until = timezone.now() + timedelta(seconds=1)

    response = replay(admin_user, endpoint.pk, since=since.isoformat(), until=until.isoformat())

    assert response.status_code == 202, response.content
    assert response.json() == {"endpoint_id": endpoint.pk, "queued": 2}
    queued = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("order_id")
    assert sorted(str(delivery.order_id) for delivery in queued) == sorted(str(order.pk) for order in orders)


def test_only_operators_may_replay(staff_user, customer, endpoint):
    now = timezone.now().isoformat()
    problem(replay(staff_user, endpoint.pk, since=now, until=now), 403, "forbidden")
    problem(replay(customer, endpoint.pk, since=now, until=now), 403, "forbidden")
    assert APIClient().post(f"/api/webhooks/endpoints/{endpoint.pk}/replay/", {}, format="json").status_code == 401


def test_a_replay_is_refused_for_a_bad_range_a_missing_or_a_disabled_endpoint(admin_user, endpoint):
    now = timezone.now()
    empty = replay(admin_user, endpoint.pk, since=now.isoformat(), until=now.isoformat())
    body = problem(empty, 400, "validation_error")
    assert "until" in str(body)
    problem(replay(admin_user, endpoint.pk, since="yesterday", until=now.isoformat()), 400, "validation_error")
    earlier = (now - timedelta(hours=1)).isoformat()
    problem(replay(admin_user, 999999, since=earlier, until=now.isoformat()), 404, "webhook_endpoint_not_found")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(state=EndpointState.DISABLED)
    problem(replay(admin_user, endpoint.pk, since=earlier, until=now.isoformat()), 409, "webhook_endpoint_not_active")


def test_a_range_of_more_events_than_allowed_is_refused(admin_user, endpoint, customer, menu, settings):
    settings.ORDERFLOW_WEBHOOK_REPLAY_MAX_EVENTS = 1
    since = timezone.now() - timedelta(seconds=1)
    place_order(customer, menu["salad"], quantity=2)
    place_order(customer, menu["salad"], quantity=2)
    until = (timezone.now() + timedelta(seconds=1)).isoformat()
    problem(replay(admin_user, endpoint.pk, since=since.isoformat(), until=until), 400, "validation_error")
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()
