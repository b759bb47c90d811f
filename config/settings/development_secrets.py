"""Secrets for development on one machine (config/settings/local.py), when the environment sets none.

There is no well-known default: each checkout draws its own random values once and keeps them in
`.local-secrets.json` (git ignores it; readable by its owner only), so every local process (the
server, the Celery worker) agrees, and a token or signature made with a value published anywhere
is never accepted. Production reads every secret from the environment and refuses the values
that earlier versions of this project shipped as defaults (`PUBLISHED_DEFAULTS`).
"""

import json
import os
import secrets
from pathlib import Path

NAMES = ("DJANGO_SECRET_KEY", "ORDERFLOW_JWT_SIGNING_KEY", "ORDERFLOW_OTP_SECRET", "ORDERFLOW_PAYMENT_WEBHOOK_SECRET")

PUBLISHED_DEFAULTS = frozenset(
    {
        "orderflow-local-development-key-not-for-production",
        "orderflow-local-webhook-secret-not-for-production",
    }
)


def _read(path: Path) -> dict:
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def _complete(stored: dict) -> bool:
    return all(isinstance(stored.get(name), str) and stored[name] for name in NAMES)


def _checkout_secrets(path: Path) -> dict[str, str]:
    stored = _read(path)
    if _complete(stored):
        return stored
    drawn = {name: stored.get(name) or secrets.token_urlsafe(48) for name in NAMES}
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(drawn, file)
    try:
        os.link(temporary, path)  # created whole, or not at all: two processes agree on the first
    except FileExistsError:
        if not _complete(_read(path)):
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def secrets_with_development_defaults(env, base_dir: Path) -> dict[str, str]:
    """Each secret from the environment, else this checkout's own random value."""
    drawn = None
    values = {}
    for name in NAMES:
        value = env(name, default="")
        if not value:
            drawn = drawn or _checkout_secrets(base_dir / ".local-secrets.json")
            value = drawn[name]
        values[name] = value
    values["ORDERFLOW_PAYMONGO_WEBHOOK_SECRET"] = env(
        "ORDERFLOW_PAYMONGO_WEBHOOK_SECRET", default=values["ORDERFLOW_PAYMENT_WEBHOOK_SECRET"]
    )
    return values
