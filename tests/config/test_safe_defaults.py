"""Safe defaults: a server process started without DJANGO_SETTINGS_MODULE runs production settings,
which refuse to start without their secrets; no settings module has a well-known secret; a token
signed with the key that earlier versions shipped as the local default is refused under every
settings module a deployment can start with."""

import os
import subprocess
import sys
import time
import uuid

import jwt
import pytest

from config.settings.development_secrets import PUBLISHED_DEFAULTS
from tests.tracking.live import ROOT

SECRETS = ("DJANGO_SECRET_KEY", "ORDERFLOW_JWT_SIGNING_KEY", "ORDERFLOW_OTP_SECRET", "ORDERFLOW_PAYMENT_WEBHOOK_SECRET")
PRODUCTION_SECRETS = {
    "DJANGO_SECRET_KEY": "deployment-secret-key-" + "s3cr3t-" * 8,
    "ORDERFLOW_JWT_SIGNING_KEY": "deployment-jwt-signing-key-" + "jwt-" * 10,
    "ORDERFLOW_OTP_SECRET": "deployment-otp-secret",
    "ORDERFLOW_PAYMENT_WEBHOOK_SECRET": "deployment-webhook-secret",
}


def environment(settings_module: str | None, **extra: str) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in (*SECRETS, "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_ALLOWED_HOSTS="testserver", **extra)
    if settings_module is not None:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    return env


def run(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def forged(key: str) -> str:
    now = int(time.time())
    claims = {"token_type": "access", "exp": now + 600, "iat": now, "jti": uuid.uuid4().hex, "user_id": "1"}
    return jwt.encode(claims, key, algorithm="HS256")


ASK_WITH_TOKEN = """
import sys
import {entry}
from django.test import Client
from django.conf import settings
response = Client().get("/api/orders/", HTTP_AUTHORIZATION="Bearer " + sys.argv[-1], secure=True)
print(settings.SETTINGS_MODULE, response.status_code)
"""


@pytest.mark.parametrize("entry", ["config.wsgi", "config.asgi", "config.celery"])
def test_a_server_started_without_settings_refuses_to_run_without_secrets(entry):
    result = run(f"import {entry}; import django; django.setup()", environment(None))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("entry", ["config.wsgi", "config.asgi"])
def test_a_server_started_without_settings_runs_production(entry):
    result = run(
        f"import {entry}; from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)",
        environment(None, **PRODUCTION_SECRETS),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.settings.production", "False"]


def test_the_base_settings_alone_do_not_start():
    result = run(
        "import django; django.setup(); from django.conf import settings; settings.SECRET_KEY",
        environment("config.settings.base"),
    )

    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("published", sorted(PUBLISHED_DEFAULTS))
def test_production_refuses_a_published_default(published):
    secrets = {**PRODUCTION_SECRETS, "ORDERFLOW_JWT_SIGNING_KEY": published}
    result = run("import django; django.setup()", environment("config.settings.production", **secrets))

    assert result.returncode != 0 and "ORDERFLOW_JWT_SIGNING_KEY" in result.stderr


def test_production_signs_tokens_with_its_own_key_not_the_secret_key():
    env = environment("config.settings.production", **PRODUCTION_SECRETS, DJANGO_SECURE_SSL_REDIRECT="0")
    code = ASK_WITH_TOKEN.format(entry="config.wsgi")

    def ask(key: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code, forged(key)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout.split()[-1]

    assert ask(PRODUCTION_SECRETS["DJANGO_SECRET_KEY"]) == "401"


@pytest.mark.parametrize(
    ("settings_module", "entry", "secrets"),
    [
        (None, "config.wsgi", PRODUCTION_SECRETS),
        (None, "config.asgi", PRODUCTION_SECRETS),
        ("config.settings.production", "config.wsgi", PRODUCTION_SECRETS),
        # Development settings with no secret set: this checkout's own random ones.
        ("config.settings.local", "config.wsgi", {}),
        ("config.settings.test", "config.wsgi", {}),
    ],
)
@pytest.mark.parametrize("published", sorted(PUBLISHED_DEFAULTS))
def test_a_token_signed_with_a_published_key_is_refused(settings_module, entry, secrets, published):
    env = environment(settings_module, **secrets, DJANGO_SECURE_SSL_REDIRECT="0")
    result = subprocess.run(
        [sys.executable, "-c", ASK_WITH_TOKEN.format(entry=entry), forged(published)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == "401", result.stdout


def test_local_secrets_are_drawn_per_checkout_not_published(tmp_path):
    from config.settings.development_secrets import secrets_with_development_defaults

    def env(name, default=None):
        return default

    first = secrets_with_development_defaults(env, tmp_path)
    again = secrets_with_development_defaults(env, tmp_path)

    assert first == again
    assert not set(first.values()) & PUBLISHED_DEFAULTS
    assert len({first[name] for name in SECRETS}) == len(SECRETS)
    assert oct((tmp_path / ".local-secrets.json").stat().st_mode & 0o777) == "0o600"
