"""The web process dies (SIGKILL) after an action sent with an Idempotency-Key has committed, before
its answer left: the client's retry on the restarted server is answered with the answer the first
request would have had, and the action was carried out once.

A real granian process serves the API under the test settings with the fault point
`after_action_before_answer` switched on (core/faults.py, core/idempotency.py). The customer places
an order and the kitchen confirms one; each request's connection is cut by the process's death.
Started again without the fault, the server answers each retry with the first answer
(`Idempotent-Replayed: true`): one order, one confirmation.
"""

import uuid

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from orders.models import EventType, Order, OrderStatus, TrackingEvent
from tests.api.support import order_body
from tests.factories import place_order
from tests.faults.outbox_support import WebServer, case_deadline  # noqa: F401 (case_deadline, a fixture)
from tests.integration.test_celery_worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAULT = {"ORDERFLOW_FAULT_POINTS": "1", "ORDERFLOW_FAULT_POINT": "after_action_before_answer"}


@pytest.fixture
def servers(tmp_path):
    started: list[WebServer] = []

    def start(**env: str) -> WebServer:
        server = WebServer(tmp_path, **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def send(server: WebServer, path: str, body: dict, *, token: str, key: str) -> requests.Response | None:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    try:
        return requests.post(f"{server.url}{path}", json=body, headers=headers, timeout=30)
    except requests.ConnectionError:
        return None


def killed(server: WebServer, answer: requests.Response | None) -> None:
    assert answer is None, f"the process answered {answer.status_code}: {answer.text[:500]}\n{server.logs()}"
    wait_for(lambda: server.process.poll() is not None, server, "the web process to die")


def test_an_order_placed_and_one_confirmed_by_a_process_killed_before_answering_are_answered_on_retry(
    case_deadline,  # noqa: F811
    servers,
    customer,
    staff_user,
    menu,
):
    customer_token, staff_token = str(AccessToken.for_user(customer)), str(AccessToken.for_user(staff_user))
    checkout, confirmation = f"checkout-{uuid.uuid4()}", f"confirm-{uuid.uuid4()}"
    waiting = place_order(customer, menu["salad"])
    confirm_path = f"/api/restaurants/orders/{waiting.pk}/confirm/"

    doomed = servers(**FAULT)
    killed(doomed, send(doomed, "/api/orders/", order_body(menu), token=customer_token, key=checkout))
    # The order was placed: committed with its remembered answer, which never left.
    (placed,) = Order.objects.exclude(pk=waiting.pk)

    doomed = servers(**FAULT)
    killed(doomed, send(doomed, confirm_path, {}, token=staff_token, key=confirmation))
    assert Order.objects.get(pk=waiting.pk).status == OrderStatus.RESTAURANT_CONFIRMED

    server = servers()
    retried_placing = send(server, "/api/orders/", order_body(menu), token=customer_token, key=checkout)
    retried_confirm = send(server, confirm_path, {}, token=staff_token, key=confirmation)

    assert retried_placing is not None and retried_placing.status_code == 201, server.logs()
    assert retried_placing.headers["Idempotent-Replayed"] == "true"
    assert retried_placing.json()["id"] == str(placed.pk)
    assert Order.objects.count() == 2  # the one placed here and the waiting one: nothing twice
    assert retried_confirm is not None and retried_confirm.status_code == 200, server.logs()
    assert retried_confirm.headers["Idempotent-Replayed"] == "true"
    assert retried_confirm.json()["status"] == "RESTAURANT_CONFIRMED"
    assert TrackingEvent.objects.filter(order=waiting, event_type=EventType.STATUS_CHANGED).count() == 1
