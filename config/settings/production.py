"""Production: every secret comes from the environment, with no default."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import SIMPLE_JWT, env
from config.settings.database import postgresql_with_pool
from config.settings.development_secrets import PUBLISHED_DEFAULTS
from config.settings.services import *  # noqa: F403
from config.settings.services import CELERY_BROKER_URL

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
# JWTs are signed with a key of their own: SECRET_KEY signs sessions, password resets and more.
ORDERFLOW_JWT_SIGNING_KEY = env("ORDERFLOW_JWT_SIGNING_KEY")
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": ORDERFLOW_JWT_SIGNING_KEY}
ORDERFLOW_OTP_SECRET = env("ORDERFLOW_OTP_SECRET")
ORDERFLOW_PUBLIC_ID_KEY = env("ORDERFLOW_PUBLIC_ID_KEY", default=SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Pooled (config/settings/database.py): persistent per-thread connections run PostgreSQL out
# of connections under ASGI.
DATABASES = {"default": postgresql_with_pool(env.db("DATABASE_URL"), env)}
ORDERFLOW_ALLOW_DEMO_DATA = False
ORDERFLOW_PAYMENT_WEBHOOK_SECRET = env("ORDERFLOW_PAYMENT_WEBHOOK_SECRET")
# The mobile orders API's payment provider signs its webhook (`Paymongo-Signature`) with this.
ORDERFLOW_PAYMONGO_WEBHOOK_SECRET = env("ORDERFLOW_PAYMONGO_WEBHOOK_SECRET", default=ORDERFLOW_PAYMENT_WEBHOOK_SECRET)
_secrets = {
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "ORDERFLOW_JWT_SIGNING_KEY": ORDERFLOW_JWT_SIGNING_KEY,
    "ORDERFLOW_OTP_SECRET": ORDERFLOW_OTP_SECRET,
    "ORDERFLOW_PAYMENT_WEBHOOK_SECRET": ORDERFLOW_PAYMENT_WEBHOOK_SECRET,
    "ORDERFLOW_PAYMONGO_WEBHOOK_SECRET": ORDERFLOW_PAYMONGO_WEBHOOK_SECRET,
}
_weak = sorted(name for name, value in _secrets.items() if not value or value in PUBLISHED_DEFAULTS)
if _weak:
    raise ImproperlyConfigured(f"Production needs secrets of its own, not published values: {', '.join(_weak)}.")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folder broker cannot re-deliver a task lost with its worker: production needs Redis.
    raise ImproperlyConfigured("Production needs REDIS_URL (or CELERY_BROKER_URL) for Celery.")

# The OpenAPI document and Swagger UI: for signed-in staff unless the deployment says otherwise.
ORDERFLOW_API_DOCS = env.str("ORDERFLOW_API_DOCS", default="staff")
if ORDERFLOW_API_DOCS not in ("public", "staff", "off"):
    raise ImproperlyConfigured("ORDERFLOW_API_DOCS must be public, staff or off.")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# TLS ends at the proxy in front (or a balancer before it), which says so in X-Forwarded-Proto,
# believed from the trusted proxy only (base: ORDERFLOW_PROXY_ADDRESSES, SECURE_PROXY_SSL_HEADER);
# plain HTTP is redirected, except the health check that the proxy and the orchestrator make from inside.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# Static files are served by the application server itself (WhiteNoise, see base), from
# collectstatic's hashed copies.
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
