"""The operator's pages in the admin: what is stuck, and a one-click retry through the services."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import EndpointState, WebhookEndpoint
from orders.models import OrderStatus
from payments.models import Refund, RefundRecordStatus
from tests.factories import OrderFactory, UserFactory, move, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, admin_user):
    client.force_login(admin_user)
    return client


def test_orders_past_their_deadline_are_listed_and_carried_out_in_one_click(
    operator, customer, menu, django_capture_on_commit_callbacks
):
    overdue = OrderFactory(
        customer=customer,
        restaurant=menu["salad"].restaurant,
        deadline_at=timezone.now() - timedelta(minutes=5),
        deadline_kind="restaurant_timeout",
    )
    waiting = OrderFactory(
        customer=customer,
        restaurant=menu["salad"].restaurant,
        deadline_at=timezone.now() + timedelta(minutes=5),
        deadline_kind="restaurant_timeout",
    )
    url = "/admin/notifications/overdueorder/"
    page = operator.get(url).content.decode()
    assert overdue.number in page and waiting.number not in page
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(url, {"action": "enforce", "_selected_action": [overdue.pk]})
    overdue.refresh_from_db()
    assert (overdue.status, overdue.cancellation_reason) == (OrderStatus.CANCELLED, "restaurant_timeout")
    assert overdue.number not in operator.get(url).content.decode()


def test_failed_and_stuck_refunds_are_listed_and_retried(
    operator, customer, menu, actors, settings, django_capture_on_commit_callbacks
):
    settings.ORDERFLOW_REFUND_STUCK_SECONDS = 60
    failed_order = move(
        place_order(customer, menu["salad"], quantity=2, paid=True), OrderStatus.CANCELLED, actor=actors["customer"]
    )
    fresh_order = move(
        place_order(customer, menu["salad"], quantity=2, paid=True), OrderStatus.CANCELLED, actor=actors["customer"]
    )
    Refund.objects.filter(order=failed_order).update(status=RefundRecordStatus.FAILED, last_error="declined")
    Refund.objects.filter(order=fresh_order).update(status=RefundRecordStatus.PROCESSING)
    url = "/admin/notifications/refundneedingattention/"
    page = operator.get(url).content.decode()
    assert failed_order.number in page and fresh_order.number not in page
    Refund.objects.filter(order=fresh_order).update(updated_at=timezone.now() - timedelta(minutes=5))
    page = operator.get(url).content.decode()
    assert fresh_order.number in page

    refunds = Refund.objects.filter(order__in=[failed_order, fresh_order]).values_list("pk", flat=True)
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(url, {"action": "retry", "_selected_action": list(refunds)})
    for order in (failed_order, fresh_order):
        order.refresh_from_db()
        assert order.status == OrderStatus.REFUND_COMPLETED
        assert Refund.objects.get(order=order).status == RefundRecordStatus.COMPLETED


def test_failing_and_paused_endpoints_have_their_filter(operator):
    healthy = WebhookEndpoint.objects.create(name="Healthy", url="https://93.184.216.34/a")
    failing = WebhookEndpoint.objects.create(name="Flaky", url="https://93.184.216.34/b", consecutive_failures=3)
    paused = WebhookEndpoint.objects.create(name="Down", url="https://93.184.216.34/c", state=EndpointState.PAUSED)
    page = operator.get("/admin/notifications/webhookendpoint/?health=failing").content.decode()
    assert failing.name in page and paused.name in page and healthy.name not in page


def test_failed_notifications_have_their_filter(
    operator, customer, menu, actors, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.notifications.test_codes_and_milestones.MailServerDown"
    settings.ORDERFLOW_NOTIFICATION_MAX_ATTEMPTS = 1
    customer.email = "alice@example.com"
    customer.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        move(
            place_order(customer, menu["salad"], quantity=2),
            OrderStatus.RESTAURANT_CONFIRMED,
            actor=actors["restaurant"],
        )
    page = operator.get("/admin/notifications/notification/?state__exact=failed").content.decode()
    assert "alice@example.com" in page and "ConnectionRefusedError" in page
    assert mail.outbox == []


def test_the_operator_pages_are_for_superusers_only(client, staff_user):
    client.force_login(staff_user)
    for page in ("overdueorder", "refundneedingattention", "webhookendpoint", "webhookdelivery", "notification"):
        assert client.get(f"/admin/notifications/{page}/").status_code == 403
    client.force_login(UserFactory(username="plain", is_staff=True))
    assert client.get("/admin/notifications/webhookendpoint/").status_code == 403
