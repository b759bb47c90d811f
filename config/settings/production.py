"""Production: every secret comes from the environment, with no default."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import CELERY_BROKER_URL, env
from config.settings.database import postgresql_with_pool

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ORDERFLOW_OTP_SECRET = env("ORDERFLOW_OTP_SECRET")
ORDERFLOW_PUBLIC_ID_KEY = env("ORDERFLOW_PUBLIC_ID_KEY", default=SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Pooled (config/settings/database.py): persistent per-thread connections run PostgreSQL out
# of connections under ASGI.
DATABASES = {"default": postgresql_with_pool(env.db("DATABASE_URL"), env)}
ORDERFLOW_ALLOW_DEMO_DATA = False
ORDERFLOW_PAYMENT_WEBHOOK_SECRET = env("ORDERFLOW_PAYMENT_WEBHOOK_SECRET")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folder broker cannot re-deliver a task lost with its worker: production needs Redis.
    raise ImproperlyConfigured("Production needs REDIS_URL (or CELERY_BROKER_URL) for Celery.")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# TLS ends at the proxy in front, which says so in X-Forwarded-Proto; plain HTTP is redirected,
# except the health check that the proxy and the orchestrator make from inside.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
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
