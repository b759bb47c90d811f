"""Production settings, for real: static files collected as the image collects them, a daphne
process with DEBUG off, and `manage.py check --deploy` with nothing to say. The server listens on
127.0.0.1, where the trusted proxy (nginx) would connect from: its X-Forwarded-Proto counts, a
client's from another address does not."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.factories import UserFactory
from tests.integration.production import client_from
from tests.tracking.live import ROOT, ServerProcess, database_url

pytestmark = [pytest.mark.integration, pytest.mark.live_server]

HTTPS = {"X-Forwarded-Proto": "https"}


def production_environment(static_root) -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "production-test-" + "k3y-" * 12,
        "ORDERFLOW_JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
        "ORDERFLOW_OTP_SECRET": "production-test-otp-secret",
        "ORDERFLOW_PAYMENT_WEBHOOK_SECRET": "production-test-webhook-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "ORDERFLOW_CORS_ALLOWED_ORIGINS": "https://app.example.com",
        "DJANGO_STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
    }


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
    )


def dockerfile_collectstatic() -> str:
    """The image's collectstatic step, as the Dockerfile writes it."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return next(line for line in text.splitlines() if "collectstatic" in line and line.startswith("RUN ")).removeprefix(
        "RUN "
    )


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(
        ["bash", "-c", dockerfile_collectstatic()],
        cwd=ROOT,
        env={**os.environ, "PATH": path, "DJANGO_STATIC_ROOT": str(root)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (root / "staticfiles.json").exists()
    return root


@pytest.fixture
def server(static_root, monkeypatch, transactional_db):
    for name, value in production_environment(static_root).items():
        monkeypatch.setenv(name, value)
    process = ServerProcess(
        database_url=database_url(), redis_url=settings.REDIS_URL, settings_module="config.settings.production"
    )
    yield process
    process.stop()


def test_check_deploy_has_nothing_to_say(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env=production_environment(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_admin_login_page_and_its_static_files_are_served(server):
    page = requests.get(f"{server.http}/admin/login/", headers=HTTPS, timeout=10)

    assert page.status_code == 200, server.output()
    assert "text/html" in page.headers["Content-Type"]
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text).group(1)  # hashed
    assert requests.get(f"{server.http}{stylesheet}", headers=HTTPS, timeout=10).status_code == 200


def test_a_browsable_api_page_is_served(server):
    user = UserFactory(username="browser")
    # Production keeps Django's default hashers; the test settings' fast one is not among them.
    user.password = PBKDF2PasswordHasher().encode("pass-12345", "browsersalt")
    user.save(update_fields=["password"])
    signed_in = requests.post(
        f"{server.http}/api/auth/token/",
        json={"username": "browser", "password": "pass-12345"},
        headers=HTTPS,
        timeout=10,
    )
    headers = {**HTTPS, "Authorization": f"Bearer {signed_in.json()['access']}", "Accept": "text/html"}

    page = requests.get(f"{server.http}/api/restaurants/", headers=headers, timeout=10)
    anonymous = requests.get(f"{server.http}/api/restaurants/?format=api", headers=HTTPS, timeout=10)

    assert page.status_code == 200, server.output()
    assert "text/html" in page.headers["Content-Type"] and "Django REST framework" in page.text
    assert anonymous.status_code == 401 and anonymous.headers["Content-Type"] == "application/problem+json"


def test_security_headers_and_https_redirect(server):
    secure = requests.get(f"{server.http}/admin/login/", headers=HTTPS, timeout=10)
    plain = requests.get(f"{server.http}/admin/login/", allow_redirects=False, timeout=10)
    health = requests.get(f"{server.http}/health/", timeout=10)

    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    policy = secure.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert secure.headers["X-Content-Type-Options"] == "nosniff"
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    assert health.status_code == 200


def test_a_cors_preflight_from_an_allowed_origin(server):
    allowed = requests.options(
        f"{server.http}/api/orders/",
        headers={
            **HTTPS,
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
        timeout=10,
    )
    foreign = requests.options(
        f"{server.http}/api/orders/",
        headers={**HTTPS, "Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )

    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "idempotency-key" in allowed.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_errors_from_every_layer_are_problem_json(server):
    def problem(response, status, code):
        assert response.status_code == status, (response.status_code, response.text[:300])
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == code

    too_big = b"{" + b" " * (settings.ORDERFLOW_MAX_REQUEST_BYTES + 10) + b"}"
    problem(
        requests.post(f"{server.http}/api/orders/", data=too_big, headers=HTTPS, timeout=30), 413, "request_too_large"
    )

    def chunks():
        for _ in range(settings.ORDERFLOW_MAX_REQUEST_BYTES // 65536 + 2):
            yield b" " * 65536

    problem(
        requests.post(f"{server.http}/api/orders/", data=chunks(), headers=HTTPS, timeout=30), 413, "request_too_large"
    )
    problem(requests.get(f"{server.http}/no-such-page/", headers=HTTPS, timeout=10), 404, "not_found")
    problem(requests.get(f"{server.http}/api/orders/?search=%00", headers=HTTPS, timeout=10), 400, "invalid_characters")
    # Refused by the HTTP server itself (Twisted, under daphne) before the application runs.
    multipart = requests.post(
        f"{server.http}/api/auth/token/",
        data=b"garbage",
        headers={**HTTPS, "Content-Type": "multipart/form-data; boundary=xx"},
        timeout=10,
    )
    problem(multipart, 400, "bad_request")


def test_x_forwarded_proto_counts_from_the_trusted_proxy_only(server):
    stranger = client_from("127.0.0.2")

    from_proxy = requests.get(f"{server.http}/admin/login/", headers=HTTPS, allow_redirects=False, timeout=10)
    forged = stranger.get(f"{server.http}/admin/login/", headers=HTTPS, allow_redirects=False, timeout=10)

    assert from_proxy.status_code == 200 and "Strict-Transport-Security" in from_proxy.headers
    assert forged.status_code == 301 and "Strict-Transport-Security" not in forged.headers


@pytest.mark.parametrize(("origin", "status"), [("https://shop.example.com", 200), ("https://evil.example.net", 403)])
def test_an_https_form_post_from_a_trusted_origin_passes_the_csrf_check(server, origin, status):
    page = requests.get(f"{server.http}/login/", headers=HTTPS, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

    posted = requests.post(
        f"{server.http}/login/",
        data={"csrfmiddlewaretoken": token, "username": "nobody", "password": "wrong-password"},
        headers={**HTTPS, "Origin": origin},
        cookies={"csrftoken": page.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )

    assert posted.status_code == status, posted.text[:500]


def test_the_api_docs_are_for_staff_by_default(server):
    for path in ("/api/schema/", "/api/docs/"):
        response = requests.get(f"{server.http}{path}", headers=HTTPS, timeout=10)
        assert response.status_code == 401, (path, response.status_code)
