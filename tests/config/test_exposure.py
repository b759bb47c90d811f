"""What the platform shows to whom: the API schema and Swagger UI as ORDERFLOW_API_DOCS says
(public, staff, off); /metrics is covered in tests/notifications/test_metrics.py."""

import importlib

import pytest
from django.test import Client
from django.urls import clear_url_caches

import config
import config.api_urls
import config.urls

pytestmark = pytest.mark.django_db


@pytest.fixture
def docs_setting(settings):
    def apply(value: str) -> None:
        settings.ORDERFLOW_API_DOCS = value
        importlib.reload(config.api_urls)
        importlib.reload(config.urls)
        clear_url_caches()

    yield apply
    settings.ORDERFLOW_API_DOCS = "public"
    importlib.reload(config.api_urls)
    importlib.reload(config.urls)
    clear_url_caches()


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_public_docs_are_public(docs_setting, path):
    docs_setting("public")
    assert Client().get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_staff_docs_are_for_signed_in_staff_only(docs_setting, path, customer, admin_user):
    docs_setting("staff")
    browser = Client()

    assert browser.get(path).status_code in (401, 403)
    browser.force_login(customer)
    assert browser.get(path).status_code == 403
    browser.force_login(admin_user)
    assert browser.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_docs_can_be_off(docs_setting, path, admin_user):
    docs_setting("off")
    browser = Client()
    browser.force_login(admin_user)

    assert browser.get(path).status_code == 404


def test_production_keeps_the_docs_for_staff_unless_told_otherwise():
    from pathlib import Path

    text = (Path(config.__file__).parent / "settings" / "production.py").read_text()
    assert 'env.str("ORDERFLOW_API_DOCS", default="staff")' in text
