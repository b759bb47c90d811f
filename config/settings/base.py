"""Settings shared by every environment; each value comes from the environment.

Embedded defaults (SQLite, in-process cache and channel layer) let the project run
with nothing installed; DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="orderflow-local-development-key-not-for-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "orders",
    "restaurants",
    "delivery",
    "payments",
    "tracking",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orders.errors.problem_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "orderflow API",
    "DESCRIPTION": "Order lifecycle and live tracking, after checkout.",
    "VERSION": "0.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PaymentStatusEnum": "orders.models.PaymentStatus",
        "DeliveryStatusEnum": "orders.models.DeliveryStatus",
        "RefundStatusEnum": "orders.models.RefundStatus",
        "DeliveryTypeEnum": "orders.models.DeliveryType",
        "PaymentMethodEnum": "orders.models.PaymentMethod",
    },
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)

# Order handoff codes are derived from this key (HOTP); the database holds no code.
ORDERFLOW_OTP_SECRET = env("ORDERFLOW_OTP_SECRET", default=SECRET_KEY)
ORDERFLOW_OTP_MAX_ATTEMPTS = env.int("ORDERFLOW_OTP_MAX_ATTEMPTS", default=5)
ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS = env.int("ORDERFLOW_OTP_RESEND_COOLDOWN_SECONDS", default=30)
ORDERFLOW_OTP_MAX_RESENDS = env.int("ORDERFLOW_OTP_MAX_RESENDS", default=5)
ORDERFLOW_PICKUP_OTP_TTL_SECONDS = env.int("ORDERFLOW_PICKUP_OTP_TTL_SECONDS", default=15 * 60)
ORDERFLOW_DELIVERY_OTP_TTL_SECONDS = env.int("ORDERFLOW_DELIVERY_OTP_TTL_SECONDS", default=30 * 60)

# How long an order may wait in a state before the system acts on it.
ORDERFLOW_PAYMENT_TIMEOUT_SECONDS = env.int("ORDERFLOW_PAYMENT_TIMEOUT_SECONDS", default=15 * 60)
ORDERFLOW_CONFIRM_TIMEOUT_SECONDS = env.int("ORDERFLOW_CONFIRM_TIMEOUT_SECONDS", default=10 * 60)
ORDERFLOW_PICKUP_TIMEOUT_SECONDS = env.int("ORDERFLOW_PICKUP_TIMEOUT_SECONDS", default=30 * 60)
ORDERFLOW_COLLECTION_TIMEOUT_SECONDS = env.int("ORDERFLOW_COLLECTION_TIMEOUT_SECONDS", default=60 * 60)
ORDERFLOW_RETURN_WINDOW_SECONDS = env.int("ORDERFLOW_RETURN_WINDOW_SECONDS", default=48 * 60 * 60)

# Limits on what one order may hold.
ORDERFLOW_MAX_ITEM_QUANTITY = env.int("ORDERFLOW_MAX_ITEM_QUANTITY", default=50)
ORDERFLOW_MAX_ORDER_LINES = env.int("ORDERFLOW_MAX_ORDER_LINES", default=50)

# Called after commit with each tracking event written; see tracking/publishing.py.
ORDERFLOW_EVENT_SUBSCRIBERS = env.list(
    "ORDERFLOW_EVENT_SUBSCRIBERS", default=["tracking.publishing.log_event"]
)

ORDERFLOW_PAYMENT_PROVIDER = env("ORDERFLOW_PAYMENT_PROVIDER", default="simulated")

ORDERFLOW_DEMO_PASSWORD = "demo-pass-123"
ORDERFLOW_ALLOW_DEMO_DATA = True

# The REST API.
ORDERFLOW_API_PAGE_SIZE = env.int("ORDERFLOW_API_PAGE_SIZE", default=20)
ORDERFLOW_API_MAX_PAGE_SIZE = env.int("ORDERFLOW_API_MAX_PAGE_SIZE", default=100)
# How often a courier may report their position (DRF rate, e.g. "30/min").
ORDERFLOW_COURIER_LOCATION_RATE = env("ORDERFLOW_COURIER_LOCATION_RATE", default="30/min")
# Idempotency-Key answers are replayed this long; a reservation whose request never
# finished (a crashed worker) is taken over after the lock time.
ORDERFLOW_IDEMPOTENCY_TTL_SECONDS = env.int("ORDERFLOW_IDEMPOTENCY_TTL_SECONDS", default=24 * 60 * 60)
ORDERFLOW_IDEMPOTENCY_LOCK_SECONDS = env.int("ORDERFLOW_IDEMPOTENCY_LOCK_SECONDS", default=5 * 60)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
}
