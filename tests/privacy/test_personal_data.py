"""A customer's data: exported as one document, and erased (by themselves or by an admin) so that
nothing in the database names or locates them, while the money records still add up. Runs on the
real PostgreSQL: the erasure is checked against a `pg_dump` of the test database."""

import re
import subprocess
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.actors import Actor
from delivery.models import CourierLocation
from notifications.models import SimulatedSmsMessage, WebhookEndpoint
from orders.models import HandoffPurpose, Order, OrderStatus
from orders.services.transitions import order_transition
from payments.models import Payment
from payments.services import payment_record_result
from privacy.models import PrivacyAuditRecord
from tests.api.support import order_body
from tests.factories import UserFactory, handoff_code

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

S = OrderStatus
FIRST, LAST = "Zebediah", "Quillfeather"
USERNAME, EMAIL, PHONE = "zquillfeather", "zebediah.q@example.org", "+447700900555"
STREET, CITY, POSTAL = "77 Obscure Lane", "Lower Wallop", "ZX9 8QQ"
SECRETS = (FIRST, LAST, USERNAME, EMAIL, PHONE, STREET, CITY, POSTAL, "Leave it with the gnome")


@pytest.fixture
def zeb(db):
    return UserFactory(username=USERNAME, first_name=FIRST, last_name=LAST, email=EMAIL)


@pytest.fixture
def api(zeb):
    client = APIClient()
    client.force_authenticate(zeb)
    return client


def body(menu, **extra):
    order = order_body(menu, notes="Leave it with the gnome by the door", **extra)
    order["delivery_address"].update(street=STREET, city=CITY, postal_code=POSTAL)
    order["items"][1]["notes"] = f"for {FIRST}"
    return order


def kitchen(order_id, staff, *targets):
    for target in targets:
        reason = "Out of dough" if target == S.RESTAURANT_REJECTED else ""
        order_transition(order_id=order_id, target=target, actor=Actor.restaurant(staff), reason=reason)


def verified_phone(api):
    api.patch("/api/notifications/preferences/", {"sms_enabled": True, "phone": PHONE}, format="json")
    assert api.post("/api/notifications/phone/send-code/").status_code == 202
    (text,) = SimulatedSmsMessage.objects.filter(to=PHONE).values_list("text", flat=True)
    answer = api.post("/api/notifications/phone/verify/", {"code": re.search(r"\d{6}", text).group()}, format="json")
    assert answer.json()["phone_verified"] is True


def a_history(api, zeb, menu, staff_user, courier_user):
    """A delivered order (with the courier's track and texts to the phone), an order the
    customer cancelled in their own words, and a paid online order still waiting for the kitchen."""
    WebhookEndpoint.objects.create(name="POS", url="http://127.0.0.1:9/hook")
    verified_phone(api)
    delivered = api.post("/api/orders/", body(menu), format="json").json()["id"]
    kitchen(delivered, staff_user, S.RESTAURANT_CONFIRMED, S.PREPARING, S.READY_FOR_PICKUP)
    assert Order.objects.get(pk=delivered).courier_id == courier_user.pk  # dispatched on confirmation
    courier = APIClient()
    courier.force_authenticate(courier_user)
    courier.post("/api/delivery/location/", {"latitude": 37.7871, "longitude": -122.3961}, format="json")
    order = Order.objects.get(pk=delivered)
    courier.post(
        f"/api/orders/{delivered}/pickup/", {"otp": handoff_code(order.pk, HandoffPurpose.PICKUP)}, format="json"
    )
    courier.post(f"/api/orders/{delivered}/start-delivery/")
    courier.post(
        f"/api/orders/{delivered}/complete-delivery/",
        {"otp": handoff_code(order.pk, HandoffPurpose.DELIVERY), "delivery_notes": f"Handed to {FIRST} at {STREET}"},
        format="json",
    )
    assert Order.objects.get(pk=delivered).status == S.DELIVERED
    assert CourierLocation.objects.filter(order_id=delivered).exists()

    cancelled = api.post("/api/orders/", body(menu), format="json").json()["id"]
    reason = {"reason": f"I will be at {STREET} after all"}
    assert api.post(f"/api/orders/{cancelled}/cancel/", reason, format="json").status_code == 200

    paid = api.post("/api/orders/", body(menu, payment_method="online"), format="json").json()["id"]
    payment_record_result(
        order_id=paid,
        succeeded=True,
        provider_reference="pi_zeb",
        payload={"id": "evt_zeb", "billing_details": {"name": f"{FIRST} {LAST}", "phone": PHONE, "line1": STREET}},
    )
    return delivered, cancelled, paid


def dump_database() -> str:
    settings = connection.settings_dict
    result = subprocess.run(
        [
            "pg_dump",
            "-h",
            settings["HOST"] or "127.0.0.1",
            "-p",
            str(settings["PORT"] or 5432),
            "-U",
            settings["USER"] or "postgres",
            "--no-owner",
            settings["NAME"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PGPASSWORD": settings.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
    )
    return result.stdout


def totals() -> list[tuple]:
    return list(
        Order.objects.order_by("number").values_list(
            "number", "subtotal", "discount", "delivery_fee", "tip", "tax", "total", "status", "payment_status"
        )
    )


def test_a_customer_exports_then_erases_their_data_and_the_books_still_add_up(api, zeb, menu, staff_user, courier_user):
    delivered, cancelled, paid = a_history(api, zeb, menu, staff_user, courier_user)

    exported = api.get("/api/me/export/")
    assert exported.status_code == 200 and exported["Cache-Control"] == "no-store"
    document = exported.json()
    assert document["account"]["first_name"] == FIRST and document["account"]["email"] == EMAIL
    assert document["notification_preferences"]["phone"] == PHONE
    assert {o["id"] for o in document["orders"]} == {delivered, cancelled, paid}
    first = next(o for o in document["orders"] if o["id"] == delivered)
    assert first["delivery_address"]["street"] == STREET and first["total"] == str(
        Order.objects.get(pk=delivered).total
    )
    assert first["events"][0]["event_type"] == "order.placed" and first["items"]
    assert any(n["channel"] == "sms" and n["recipient"] == PHONE for n in document["notifications"])
    sent_codes = {
        m
        for text in SimulatedSmsMessage.objects.values_list("text", flat=True)
        for m in re.findall(r"(?<!\d)\d{6}(?!\d)", text)
    }
    assert sent_codes and not any(sent in exported.content.decode() for sent in sent_codes)  # no code, ever
    export_audit = PrivacyAuditRecord.objects.get(action="export")
    assert (export_audit.subject_id, export_audit.actor_id) == (zeb.pk, zeb.pk)

    assert any(secret in dump_database() for secret in SECRETS)  # the dump does see them before

    unconfirmed = api.delete("/api/me/", {}, format="json")
    assert unconfirmed.status_code == 400 and unconfirmed["Content-Type"] == "application/problem+json"
    blocked = api.delete("/api/me/", {"confirm": "erase my data"}, format="json")
    assert blocked.status_code == 409 and blocked.json()["code"] == "erasure_blocked"
    assert blocked.json()["active_orders"] == [Order.objects.get(pk=paid).number]

    kitchen(paid, staff_user, S.RESTAURANT_REJECTED)
    before = totals()
    assert sum(row[6] for row in before) > 0 and Order.objects.get(pk=paid).refund.status == "COMPLETED"
    erased = api.delete("/api/me/", {"confirm": "erase my data"}, format="json")
    assert erased.status_code == 200, erased.content
    assert erased.json()["erased"] is True and erased.json()["summary"]["orders_anonymised"] == 3

    dump = dump_database()
    for secret in SECRETS:
        assert secret not in dump, secret
    assert totals() == before  # every amount, status and number as it was
    for order in Order.objects.all():
        assert order.subtotal - order.discount + order.delivery_fee + order.tip + order.tax == order.total
    assert Payment.objects.get(order_id=paid).raw_payload == {"id": "evt_zeb"}
    assert not CourierLocation.objects.filter(order_id=delivered).exists()

    erase_audit = PrivacyAuditRecord.objects.get(action="erase")
    assert (erase_audit.subject_id, erase_audit.actor_id, erase_audit.actor_role) == (zeb.pk, zeb.pk, "customer")
    zeb.refresh_from_db()
    assert not zeb.is_active and not zeb.has_usable_password()
    signed_in = APIClient().post("/api/auth/token/", {"username": USERNAME, "password": "pass-12345"}, format="json")
    assert signed_in.status_code == 401


def test_an_admin_erases_a_user_after_a_confirmation_page(client, admin_user, menu, staff_user):
    zeb = UserFactory(username=USERNAME, first_name=FIRST, last_name=LAST, email=EMAIL)
    api = APIClient()
    api.force_authenticate(zeb)
    order_id = api.post("/api/orders/", body(menu), format="json").json()["id"]
    kitchen(order_id, staff_user, S.RESTAURANT_REJECTED)
    total = Order.objects.get(pk=order_id).total
    client.force_login(admin_user)
    changelist = "/admin/auth/user/"
    selected = {"action": "erase_personal_data", "_selected_action": [zeb.pk]}

    confirmation = client.post(changelist, selected)
    assert confirmation.status_code == 200 and b"cannot be undone" in confirmation.content
    zeb.refresh_from_db()
    assert zeb.first_name == FIRST  # nothing erased before the confirmation

    done = client.post(changelist, {**selected, "confirm_erasure": "yes"})
    assert done.status_code == 302
    order = Order.objects.get(pk=order_id)
    assert (order.delivery_street, order.notes, order.total) == ("", "", total)
    audit = PrivacyAuditRecord.objects.get(action="erase")
    assert (audit.subject_id, audit.actor_id, audit.actor_role) == (zeb.pk, admin_user.pk, "admin")
    dump = dump_database()
    for secret in SECRETS:
        assert secret not in dump, secret


def test_erasure_without_orders_and_export_of_nothing(api, zeb):
    assert api.get("/api/me/export/").json()["orders"] == []
    assert api.delete("/api/me/", {"confirm": "erase my data"}, format="json").status_code == 200
    assert Decimal(0) == sum(Order.objects.values_list("total", flat=True), Decimal(0))
