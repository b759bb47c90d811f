import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_every_endpoint():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/auth/token/",
        "/api/auth/token/refresh/",
        "/api/restaurants/",
        "/api/restaurants/{id}/menu/",
        "/api/orders/",
        "/api/orders/{id}/",
        "/api/orders/number/{order_number}/",
        "/api/orders/{id}/status/",
        "/api/orders/{id}/history/",
        "/api/orders/{id}/eta/",
        "/api/orders/{id}/cancel/",
        "/api/orders/{id}/otp/",
        "/api/orders/{id}/otp/verify/",
        "/api/orders/{id}/otp/resend/",
        "/api/orders/available/",
        "/api/orders/{id}/accept/",
        "/api/orders/{id}/pickup/",
        "/api/orders/{id}/start-delivery/",
        "/api/orders/{id}/complete-delivery/",
        "/api/restaurants/orders/queue/",
        "/api/restaurants/orders/{id}/confirm/",
        "/api/restaurants/orders/{id}/reject/",
        "/api/restaurants/orders/{id}/start-preparing/",
        "/api/restaurants/orders/{id}/mark-ready/",
        "/api/restaurants/orders/{id}/cancel/",
        "/api/restaurants/orders/{id}/handover/",
        "/api/delivery/location/",
        "/api/delivery/availability/",
    } <= paths
    status = schema["paths"]["/api/orders/{id}/status/"]
    assert set(status) >= {"get", "post"}
    assert "304" in status["get"]["responses"]
    confirm = schema["paths"]["/api/restaurants/orders/{id}/confirm/"]["post"]
    assert {"400", "404", "409"} <= set(confirm["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in confirm["parameters"])
    listing = schema["paths"]["/api/orders/"]["get"]
    assert {"tab", "status", "include_cancelled", "page", "cursor"} <= {p["name"] for p in listing["parameters"]}
    assert "jwtAuth" in schema["components"]["securitySchemes"]


def test_schema_generates_without_warnings_or_errors(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_swagger_ui_is_served():
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content
