"""Production: every secret comes from the environment, with no default."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import CELERY_BROKER_URL, env
from config.settings.database import postgresql_with_pool

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ORDERFLOW_OTP_SECRET = env("ORDERFLOW_OTP_SECRET")
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
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Static files are served by the application server itself (WhiteNoise, see base), from
# collectstatic's hashed copies.
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
