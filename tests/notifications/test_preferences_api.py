"""GET/PATCH /api/notifications/preferences/: the customer chooses channels and milestones."""

import pytest
from rest_framework.test import APIClient

from notifications.models import NotificationPreference

pytestmark = pytest.mark.django_db

URL = "/api/notifications/preferences/"


@pytest.fixture
def api(customer):
    customer.email = "alice@example.com"
    customer.save(update_fields=["email"])
    client = APIClient()
    client.force_authenticate(customer)
    return client


def test_the_defaults_are_email_and_every_milestone(api):
    assert api.get(URL).json() == {
        "email": "alice@example.com",
        "email_enabled": True,
        "sms_enabled": False,
        "phone": "",
        "phone_verified": False,
        "milestones": ["confirmed", "ready", "out_for_delivery", "delivered", "cancelled", "refunded"],
    }


def test_a_customer_switches_to_sms_and_fewer_milestones(api, customer):
    response = api.patch(
        URL,
        {
            "sms_enabled": True,
            "phone": "+15550100123",
            "email_enabled": False,
            "milestones": ["delivered", "confirmed"],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["milestones"] == ["confirmed", "delivered"]
    preference = NotificationPreference.objects.get(user=customer)
    assert (preference.sms_enabled, preference.phone, preference.email_enabled) == (True, "+15550100123", False)
    assert api.patch(URL, {"milestones": []}, format="json").json()["sms_enabled"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sms_enabled": True}, "phone"),
        ({"phone": "5550100"}, "phone"),
        ({"phone": "+1" + "5" * 20}, "phone"),
        ({"milestones": ["lunch"]}, "milestones[0]"),
        ({"milestones": "delivered"}, "milestones"),
        ({"email_enabled": "maybe"}, "email_enabled"),
    ],
)
def test_bad_input_is_a_validation_problem(api, body, field):
    response = api.patch(URL, body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]


def test_signed_out_is_401():
    response = APIClient().get(URL)
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
