"""Settings shared by every environment; each value comes from the environment.

Embedded defaults (SQLite, in-process cache and channel layer) let the project run
with nothing installed; DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
No secret is set here: local.py and test.py give development values, production.py requires
each from the environment, and this module alone does not start (Django refuses an empty
SECRET_KEY, simplejwt with it).
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured
from rest_framework.fields import Field as SerializerField

from config.settings.database import postgresql_with_pool
from core.redis_connections import (
    SENTINEL_TIMEOUT_SECONDS,
    kombu_sentinel_url,
    parse_sentinels,
    url_database_and_password,
)

# Django's generic classes and DRF's fields and serializers take type arguments (`ModelAdmin[Order]`,
# `serializers.Serializer[Order]`) for mypy; at run time the arguments are ignored. (DRF's views are
# left alone: importing them here would fix their defaults before REST_FRAMEWORK is read.)
django_stubs_ext.monkeypatch(extra_classes=(SerializerField,))

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

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
    "drf_spectacular_sidecar",
    "channels",
    "rest_framework_simplejwt.token_blacklist",
    "corsheaders",
    "csp",
    "core",
    "orders",
    "restaurants",
    # What a committed change sets off is listed, in order, in config/effects.py (ORDERFLOW_EFFECTS),
    # never by the order of this list.
    "tracking",
    "delivery",
    "payments",
    # Above all of them: webhooks, notifications and the counters behind /metrics.
    "notifications",
    # Above every domain app: export, erasure and retention of personal data.
    "privacy",
    "pages",
]

MIDDLEWARE = [
    # First: the client's address and scheme, from the trusted proxy's headers only.
    "core.middleware.TrustedProxyHeaders",
    "django.middleware.security.SecurityMiddleware",
    # Before anything that may answer: a preflight is answered here, and every answer (errors
    # included) carries the CORS headers an allowed origin needs to read it.
    "corsheaders.middleware.CorsMiddleware",
    # Every page asset (the admin's, Swagger UI's, the pages') is served by the application itself.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RejectUnstorableText",
    "csp.middleware.CSPMiddleware",
    # The lean status poll answered from its snapshot, before sessions, CSRF, the session user
    # and messages, none of which a bearer-token poll uses (orders/polling.py says which requests
    # and why); the middleware above still add their headers to its answer.
    "orders.polling.StatusPollMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A domain error raised outside DRF (a guessing limit at a sign-in page) is a problem+json.
    "core.middleware.ApplicationErrorResponse",
]

# Passwords are checked by Django's model backend behind the guessing limits (core/authentication.py),
# whichever way they arrive: /api/auth/token/, /login/, /admin/login/.
AUTHENTICATION_BACKENDS = ["core.authentication.GuessLimitedModelBackend"]

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
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default has two writers (the web server and the Celery worker): take the
    # write lock when a transaction starts, wait for it instead of failing, and let readers
    # read while someone writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"] = postgresql_with_pool(DATABASES["default"], env)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
# Redis behind Sentinel (core/redis_connections.py): the sentinels, host:port comma-separated, and
# the name they monitor the primary under. Every Redis client then follows a failover; REDIS_URL
# gives only the database number and password (its host is not used).
ORDERFLOW_REDIS_SENTINELS = parse_sentinels(env("ORDERFLOW_REDIS_SENTINELS", default=""))
ORDERFLOW_REDIS_MASTER_NAME = env("ORDERFLOW_REDIS_MASTER_NAME", default="orderflow")


# Connections per process in each Redis pool (the cache's, the channel layer's), and how long a
# client waits for one when all are in use (back-pressure: a burst waits, it does not fail).
ORDERFLOW_REDIS_MAX_CONNECTIONS = env.int("ORDERFLOW_REDIS_MAX_CONNECTIONS", default=50)
ORDERFLOW_REDIS_POOL_WAIT_SECONDS = env.float("ORDERFLOW_REDIS_POOL_WAIT_SECONDS", default=20.0)
# A socket's group membership lasts this long unless renewed; open sockets renew theirs every third
# of it (tracking/consumers.py), so one left behind by a failed leave is gone within this time.
ORDERFLOW_WS_GROUP_EXPIRY_SECONDS = env.int("ORDERFLOW_WS_GROUP_EXPIRY_SECONDS", default=300)


def redis_channel_layer_host(url: str) -> dict:
    """Where the channel layer finds Redis: at `url`, or the primary the sentinels name."""
    if not ORDERFLOW_REDIS_SENTINELS:
        return {"address": url}
    db, password = url_database_and_password(url)
    return {
        "sentinels": ORDERFLOW_REDIS_SENTINELS,
        "master_name": ORDERFLOW_REDIS_MASTER_NAME,
        "sentinel_kwargs": {
            "socket_timeout": SENTINEL_TIMEOUT_SECONDS,
            "socket_connect_timeout": SENTINEL_TIMEOUT_SECONDS,
        },
        "db": db,
        "password": password,
    }


def redis_channel_layer(url: str) -> dict:
    """The Channels layer on Redis.

    redis-py gives every read a 5 s socket timeout by default, and channels_redis receives
    with a 5 s blocking pop: left alone, every idle socket's consumer dies after 5 s. Reads
    wait longer than the pop; a Redis that cannot be reached fails connects fast; a broadcast
    is bounded on its own by ORDERFLOW_BROADCAST_TIMEOUT_SECONDS (tracking/broadcast.py).
    """
    host = {
        **redis_channel_layer_host(url),
        "socket_timeout": 15,
        "socket_connect_timeout": 2,
        "socket_keepalive": True,
        # Bounded and blocking (core/channel_layer.py): a burst (two thousand sockets joining or
        # leaving at once) waits for a connection instead of opening one per socket or failing.
        "max_connections": ORDERFLOW_REDIS_MAX_CONNECTIONS,
        "pool_timeout": ORDERFLOW_REDIS_POOL_WAIT_SECONDS,
    }
    config = {"hosts": [host], "capacity": 1000, "group_expiry": ORDERFLOW_WS_GROUP_EXPIRY_SECONDS}
    return {"BACKEND": "core.channel_layer.RedisChannelLayer", "CONFIG": config}


if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A full pool makes a request wait for a connection rather than fail.
            "OPTIONS": {
                "pool_class": "redis.BlockingConnectionPool",
                "max_connections": ORDERFLOW_REDIS_MAX_CONNECTIONS,
                "timeout": ORDERFLOW_REDIS_POOL_WAIT_SECONDS,
            },
        }
    }
    if ORDERFLOW_REDIS_SENTINELS:
        CACHES["default"]["OPTIONS"] = {
            "pool_class": "core.redis_connections.SentinelPool",
            "sentinels": ORDERFLOW_REDIS_SENTINELS,
            "master_name": ORDERFLOW_REDIS_MASTER_NAME,
            "max_connections": ORDERFLOW_REDIS_MAX_CONNECTIONS,
            "timeout": ORDERFLOW_REDIS_POOL_WAIT_SECONDS,
            "socket_connect_timeout": 1,
            "socket_timeout": 5,
        }
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
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

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Outside production, static files are read from the apps directly (no collectstatic needed).
WHITENOISE_USE_FINDERS = env.bool("ORDERFLOW_STATIC_FROM_APPS", default=True)
if WHITENOISE_USE_FINDERS:
    # WhiteNoise also indexes STATIC_ROOT, and warns at every start when the folder is missing.
    STATIC_ROOT.mkdir(exist_ok=True)

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# The pages (pages/): how often a page polls when its WebSocket cannot connect (10-15 s), and
# a bound on the reconnect backoff.
ORDERFLOW_PAGE_POLL_SECONDS = env.int("ORDERFLOW_PAGE_POLL_SECONDS", default=12)
ORDERFLOW_PAGE_RECONNECT_MAX_SECONDS = env.int("ORDERFLOW_PAGE_RECONNECT_MAX_SECONDS", default=30)
# The committed-event tail (tracking/tail.py): with the in-memory channel layer (no Redis), the
# socket-serving process reads what other processes (the Celery worker) committed this often and
# broadcasts it to its sockets. `auto` runs it only with the in-memory layer; `on`, `off`.
ORDERFLOW_EVENT_TAIL = env.str("ORDERFLOW_EVENT_TAIL", default="auto")
if ORDERFLOW_EVENT_TAIL not in ("auto", "on", "off"):
    raise ImproperlyConfigured("ORDERFLOW_EVENT_TAIL must be auto, on or off.")
ORDERFLOW_EVENT_TAIL_SECONDS = env.float("ORDERFLOW_EVENT_TAIL_SECONDS", default=0.5)
# How far back each read looks, for transactions that commit late after writing their event.
ORDERFLOW_EVENT_TAIL_LOOKBACK_SECONDS = env.float("ORDERFLOW_EVENT_TAIL_LOOKBACK_SECONDS", default=60.0)
# The tracking map's tiles: an XYZ URL template ({z}/{x}/{y}), e.g. a tile server of your own or
# https://tile.openstreetmap.org/{z}/{x}/{y}.png within its usage policy. Empty (the default):
# no tiles are fetched and the map is drawn from the order's own points, offline.
ORDERFLOW_MAP_TILE_URL = env.str("ORDERFLOW_MAP_TILE_URL", default="")
ORDERFLOW_MAP_TILE_ATTRIBUTION = env.str("ORDERFLOW_MAP_TILE_ATTRIBUTION", default="© OpenStreetMap contributors")

# ---------------------------------------------------------------- the HTTP edge (docs/security.md)
# The largest request body, refused with a 413 at the ASGI edge (config/asgi_limits.py) and by
# Django for anything that reaches it some other way.
ORDERFLOW_MAX_REQUEST_BYTES = env.int("ORDERFLOW_MAX_REQUEST_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ORDERFLOW_MAX_REQUEST_BYTES
CSRF_FAILURE_VIEW = "core.views.csrf_failure"

# Browsers on these origins (e.g. https://app.example.com) may call the API and open its
# sockets (tracking/auth.py takes the same list); nobody else. The customer tracking document's
# SignalR client negotiates under /hubs/ with credentials and its own two headers.
CORS_ALLOWED_ORIGINS = env.list("ORDERFLOW_CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api|hubs)/.*$"
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-requested-with",
    "x-signalr-user-agent",
]
CORS_EXPOSE_HEADERS = ["etag", "retry-after", "idempotent-replayed", "location"]
CORS_PREFLIGHT_MAX_AGE = env.int("ORDERFLOW_CORS_MAX_AGE_SECONDS", default=600)


# Content-Security-Policy: this site's own scripts and styles only (Swagger UI's assets come from
# drf-spectacular-sidecar, served here); no inline script, no framing, no plugins.
def _tile_origin(url: str) -> list[str]:
    parts = urlsplit(url.replace("{s}", "*"))
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin's widgets and Swagger UI set style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        # ... and the map's tile server, when one is set.
        "img-src": ["'self'", "data:", *_tile_origin(ORDERFLOW_MAP_TILE_URL)],
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth_tokens.CredentialsJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSONParser, minus the 500s on deep nesting, NaN/Infinity and overflowing numbers.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["orders.filters.ProblemFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "core.errors.problem_exception_handler",
    "DEFAULT_METADATA_CLASS": "core.metadata.DescriptionMetadata",
    # The client's address is REMOTE_ADDR, which core.middleware.TrustedProxyHeaders has already
    # set from the trusted proxy's header; DRF must not read X-Forwarded-For a second time.
    "NUM_PROXIES": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "orderflow API",
    "DESCRIPTION": "Order lifecycle and live tracking, after checkout.",
    "VERSION": "0.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # Bodies are documented as JSON, the one format clients are meant to send.
    "PARSER_WHITELIST": ["core.parsers.StrictJSONParser"],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PaymentStatusEnum": "orders.models.PaymentStatus",
        "DeliveryStatusEnum": "orders.models.DeliveryStatus",
        "RefundStatusEnum": "orders.models.RefundStatus",
        "DeliveryTypeEnum": "orders.models.DeliveryType",
        "PaymentMethodEnum": "orders.models.PaymentMethod",
        # The native answers write the sub-statuses in lower case (orders.serializers.SubStatusField).
        "PaymentStatusWordEnum": "orders.serializers.PAYMENT_STATUS_WORDS",
        "DeliveryStatusWordEnum": "orders.serializers.DELIVERY_STATUS_WORDS",
        "RefundStatusWordEnum": "orders.serializers.REFUND_STATUS_WORDS",
        "StatusCodeEnum": "orders.serializers.STATUS_WORDS",
    },
}

# ---------------------------------------------------------------- Celery (config/celery.py)
# With REDIS_URL: Redis is the broker and the result backend. Without it (the embedded
# default) the broker is a folder on disk (kombu's filesystem transport), which needs no
# server: ./scripts/serve starts a worker and beat on it. See docs/background-work.md.
CELERY_LOCAL_DIR = Path(env("ORDERFLOW_CELERY_DIR", default=str(BASE_DIR / ".celery")))
_celery_redis_url = kombu_sentinel_url(REDIS_URL, ORDERFLOW_REDIS_SENTINELS) if ORDERFLOW_REDIS_SENTINELS else REDIS_URL
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=_celery_redis_url or "filesystem://localhost//")
CELERY_RESULT_BACKEND = env(
    "CELERY_RESULT_BACKEND", default=_celery_redis_url or f"file://{CELERY_LOCAL_DIR / 'results'}"
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_LOCAL_DIR / "queue"),
        "data_folder_out": str(CELERY_LOCAL_DIR / "queue"),
        "control_folder": str(CELERY_LOCAL_DIR / "control"),
    }
    # The transport and the result backend expect their folders to exist, in the web
    # process and the worker alike.
    for _folder in [*CELERY_BROKER_TRANSPORT_OPTIONS.values(), CELERY_LOCAL_DIR / "results"]:
        Path(str(_folder)).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message taken by a worker that dies without acknowledging it goes back to the
        # queue after this long. It must exceed the longest countdown (retry backoff) and the
        # longest task, or a task still waiting or running would be delivered a second time.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=60 * 60),
        # How often a worker looks for such messages.
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL_SECONDS", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    }
    if CELERY_BROKER_URL.startswith("sentinel://"):
        _sentinel_options = {
            "master_name": ORDERFLOW_REDIS_MASTER_NAME,
            "sentinel_kwargs": {"socket_timeout": SENTINEL_TIMEOUT_SECONDS},
        }
        CELERY_BROKER_TRANSPORT_OPTIONS.update(_sentinel_options)
        CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = _sentinel_options
# Only an explicit setting runs tasks inside the caller (the test settings do).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Tasks report through the database (orders, refunds, events), not through results.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 24 * 60 * 60
# Acknowledge a message only once its task has finished, and give it back to the queue if
# the worker process running it dies: a task is never lost with its worker. Every task is
# therefore written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT_SECONDS", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT_SECONDS", default=150)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing waits rather than fails: a caller takes a producer from a bounded pool (it blocks
# while all are in use), and a publish that finds the broker unreachable is tried again for about
# three seconds before it raises (what it was for is then carried out later by whoever relies on it).
CELERY_BROKER_POOL_LIMIT = env.int("CELERY_BROKER_POOL_LIMIT", default=10)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 6, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 1.0}
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME",
    default=str(CELERY_LOCAL_DIR / "beat-schedule")
    if CELERY_BROKER_URL.startswith("filesystem://")
    else "celerybeat-schedule",
)
# Beat on more than one host: `celery -A config beat -S redbeat.RedBeatScheduler` (celery-redbeat)
# keeps the schedule's last runs and a lock in Redis. Only the beat holding the lock sends tasks;
# it renews the lock every loop (at most CELERY_BEAT_MAX_LOOP_INTERVAL apart), and another beat,
# waiting for the lock, takes over at most ORDERFLOW_BEAT_LOCK_SECONDS after the holder died, from
# the last runs it recorded: no task is sent twice for one interval.
CELERY_BEAT_MAX_LOOP_INTERVAL = env.float("ORDERFLOW_BEAT_MAX_LOOP_SECONDS", default=1.0)
if REDIS_URL:
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("ORDERFLOW_BEAT_LOCK_SECONDS", default=5)
    CELERY_REDBEAT_KEY_PREFIX = "orderflow:redbeat:"  # as redbeat's own "redbeat:": entries "<prefix><name>"
    if ORDERFLOW_REDIS_SENTINELS:
        _redbeat_db, _redbeat_password = url_database_and_password(REDIS_URL)
        CELERY_REDBEAT_REDIS_URL = "redis-sentinel://"
        CELERY_REDBEAT_REDIS_OPTIONS = {
            "sentinels": ORDERFLOW_REDIS_SENTINELS,
            "service_name": ORDERFLOW_REDIS_MASTER_NAME,
            "db": _redbeat_db,
            "password": _redbeat_password,
            "socket_timeout": SENTINEL_TIMEOUT_SECONDS,
            "retry_period": 30,
        }
    else:
        CELERY_REDBEAT_REDIS_URL = REDIS_URL
        CELERY_REDBEAT_REDIS_OPTIONS = {"retry_period": 30}

ORDERFLOW_SWEEP_INTERVAL_SECONDS = env.float("ORDERFLOW_SWEEP_INTERVAL_SECONDS", default=5.0)
ORDERFLOW_SWEEP_BATCH_SIZE = env.int("ORDERFLOW_SWEEP_BATCH_SIZE", default=500)
# Overdue orders carried out in one transaction (one commit, one broadcast round trip).
ORDERFLOW_SWEEP_TRANSACTION_SIZE = env.int("ORDERFLOW_SWEEP_TRANSACTION_SIZE", default=100)
# One sweep stops taking new batches after this long; the next one carries on.
ORDERFLOW_SWEEP_BUDGET_SECONDS = env.float("ORDERFLOW_SWEEP_BUDGET_SECONDS", default=60.0)
# A sweep whose first batch is full (a backlog) queues this many more to work alongside it
# (SKIP LOCKED shares the orders out); with one worker process per core, one per extra core.
ORDERFLOW_SWEEP_HELPERS = env.int("ORDERFLOW_SWEEP_HELPERS", default=1)
ORDERFLOW_REFUND_PICKUP_INTERVAL_SECONDS = env.float("ORDERFLOW_REFUND_PICKUP_INTERVAL_SECONDS", default=60.0)
ORDERFLOW_COURIER_OFFER_INTERVAL_SECONDS = env.float("ORDERFLOW_COURIER_OFFER_INTERVAL_SECONDS", default=5.0)

# The outbox (core/outbox.py): every effect of a committed change, listed in ORDERFLOW_EFFECTS, is
# carried out right after the commit and, for what that missed (a process that died, an effect
# that failed), by the beat sweep every ORDERFLOW_OUTBOX_SWEEP_SECONDS; it leaves messages younger
# than the grace to the process that committed them.
ORDERFLOW_EFFECTS = "config.effects.REGISTRY"
ORDERFLOW_OUTBOX_SWEEP_SECONDS = env.float("ORDERFLOW_OUTBOX_SWEEP_SECONDS", default=3.0)
ORDERFLOW_OUTBOX_SWEEP_GRACE_SECONDS = env.float("ORDERFLOW_OUTBOX_SWEEP_GRACE_SECONDS", default=2.0)
ORDERFLOW_OUTBOX_SWEEP_BATCH_SIZE = env.int("ORDERFLOW_OUTBOX_SWEEP_BATCH_SIZE", default=200)
ORDERFLOW_OUTBOX_SWEEP_BUDGET_SECONDS = env.float("ORDERFLOW_OUTBOX_SWEEP_BUDGET_SECONDS", default=30.0)
# A failed effect is tried again after RETRY * 2^(n-1) seconds (jittered), at most RETRY_MAX apart, for ever.
ORDERFLOW_OUTBOX_RETRY_SECONDS = env.float("ORDERFLOW_OUTBOX_RETRY_SECONDS", default=5.0)
ORDERFLOW_OUTBOX_RETRY_MAX_SECONDS = env.float("ORDERFLOW_OUTBOX_RETRY_MAX_SECONDS", default=300.0)
# Relayed messages are deleted after this many days (hourly).
ORDERFLOW_OUTBOX_KEEP_DAYS = env.int("ORDERFLOW_OUTBOX_KEEP_DAYS", default=7)
# Fault points (core/faults.py) are for the fault tests only: the test settings alone switch them on.
ORDERFLOW_FAULT_POINTS_ENABLED = False

CELERY_BEAT_SCHEDULE = {
    "outbox-relay-due": {
        "task": "core.tasks.outbox_relay_due_task",
        "schedule": ORDERFLOW_OUTBOX_SWEEP_SECONDS,
        "options": {"expires": ORDERFLOW_OUTBOX_SWEEP_SECONDS * 2},
    },
    "outbox-purge-relayed": {
        "task": "core.tasks.outbox_purge_relayed_task",
        "schedule": 3600.0,
        "options": {"expires": 7200.0},
    },
    "orders-sweep-overdue": {
        "task": "orders.tasks.orders_sweep_overdue_task",
        "schedule": ORDERFLOW_SWEEP_INTERVAL_SECONDS,
        # A sweep that could not run in time is replaced by the next one, not queued up.
        "options": {"expires": ORDERFLOW_SWEEP_INTERVAL_SECONDS * 2},
    },
    "refunds-pick-up-stale": {
        "task": "payments.tasks.refunds_requeue_stale_task",
        "schedule": ORDERFLOW_REFUND_PICKUP_INTERVAL_SECONDS,
        "options": {"expires": ORDERFLOW_REFUND_PICKUP_INTERVAL_SECONDS * 2},
    },
    "idempotency-keys-purge": {
        "task": "core.tasks.idempotency_purge_expired_task",
        "schedule": 3600.0,
        "options": {"expires": 7200.0},
    },
    "webhooks-dispatch-due": {
        "task": "notifications.tasks.webhooks_dispatch_due_task",
        "schedule": env.float("ORDERFLOW_WEBHOOK_DISPATCH_INTERVAL_SECONDS", default=10.0),
        "options": {"expires": env.float("ORDERFLOW_WEBHOOK_DISPATCH_INTERVAL_SECONDS", default=10.0) * 2},
    },
    "notifications-dispatch-due": {
        "task": "notifications.tasks.notifications_dispatch_due_task",
        "schedule": env.float("ORDERFLOW_NOTIFICATION_DISPATCH_INTERVAL_SECONDS", default=10.0),
        "options": {"expires": env.float("ORDERFLOW_NOTIFICATION_DISPATCH_INTERVAL_SECONDS", default=10.0) * 2},
    },
    "orders-quotes-refresh": {
        "task": "orders.tasks.orders_quotes_refresh_task",
        "schedule": env.float("ORDERFLOW_QUOTE_REFRESH_INTERVAL_SECONDS", default=60.0),
        "options": {"expires": env.float("ORDERFLOW_QUOTE_REFRESH_INTERVAL_SECONDS", default=60.0) * 2},
    },
    "restaurants-status-expire": {
        "task": "restaurants.tasks.restaurants_status_expire_task",
        "schedule": env.float("ORDERFLOW_KITCHEN_STATUS_INTERVAL_SECONDS", default=15.0),
        "options": {"expires": env.float("ORDERFLOW_KITCHEN_STATUS_INTERVAL_SECONDS", default=15.0) * 2},
    },
    "courier-offers-renew": {
        "task": "delivery.tasks.courier_offers_renew_task",
        "schedule": ORDERFLOW_COURIER_OFFER_INTERVAL_SECONDS,
        "options": {"expires": ORDERFLOW_COURIER_OFFER_INTERVAL_SECONDS * 2},
    },
}

# Order handoff codes are derived from ORDERFLOW_OTP_SECRET (HOTP; local.py, test.py, production.py);
# the database holds no code.
# Users' public UUIDs (core/public_ids.py) are derived from ORDERFLOW_PUBLIC_ID_KEY (default: the
# secret key; local.py, test.py, production.py): set it once, never change it.
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

# Orders one customer may place through the API in any hour (then 429 order_rate_limited).
ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR = env.int("ORDERFLOW_ORDER_PLACE_LIMIT_PER_HOUR", default=30)

# Limits on what one order may hold.
ORDERFLOW_MAX_ITEM_QUANTITY = env.int("ORDERFLOW_MAX_ITEM_QUANTITY", default=50)
ORDERFLOW_MAX_ORDER_LINES = env.int("ORDERFLOW_MAX_ORDER_LINES", default=50)
# Orders for later (docs/kitchen.md): how far ahead a customer may ask for a time.
ORDERFLOW_ORDER_AHEAD_DAYS = env.int("ORDERFLOW_ORDER_AHEAD_DAYS", default=7)
# Quotes learn preparation times from this many of the restaurant's latest orders of a size.
ORDERFLOW_PREP_HISTORY_ORDERS = env.int("ORDERFLOW_PREP_HISTORY_ORDERS", default=50)

# How long an order's lean status stays in Redis for pollers (orders/snapshots.py).
ORDERFLOW_STATUS_SNAPSHOT_TTL_SECONDS = env.int("ORDERFLOW_STATUS_SNAPSHOT_TTL_SECONDS", default=300)

# Live updates (tracking/): the longest a broadcast may hold the request that caused it, and the
# shortest time between two courier positions of one order on one socket (the latest wins).
ORDERFLOW_BROADCAST_TIMEOUT_SECONDS = env.float("ORDERFLOW_BROADCAST_TIMEOUT_SECONDS", default=2.0)
ORDERFLOW_LOCATION_THROTTLE_SECONDS = env.float("ORDERFLOW_LOCATION_THROTTLE_SECONDS", default=5.0)

# ---------------------------------------------------------------- payments and refunds
ORDERFLOW_PAYMENT_PROVIDER = env("ORDERFLOW_PAYMENT_PROVIDER", default="simulated")
# ORDERFLOW_PAYMENT_WEBHOOK_SECRET (shared with the provider; signs the webhook,
# docs/background-work.md) and ORDERFLOW_PAYMONGO_WEBHOOK_SECRET are secrets: local.py, test.py,
# production.py.
ORDERFLOW_PAYMENT_WEBHOOK_TOLERANCE_SECONDS = env.int("ORDERFLOW_PAYMENT_WEBHOOK_TOLERANCE_SECONDS", default=300)
# The simulated provider: how long each call takes and how often it fails (transiently).
ORDERFLOW_SIMULATED_PROVIDER_LATENCY_SECONDS = env.float("ORDERFLOW_SIMULATED_PROVIDER_LATENCY_SECONDS", default=0.2)
ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE = env.float("ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE", default=0.0)
# Provider calls per refund before it is marked FAILED for a person to retry.
ORDERFLOW_REFUND_MAX_ATTEMPTS = env.int("ORDERFLOW_REFUND_MAX_ATTEMPTS", default=6)
# Exponential backoff between attempts: 2, 4, 8 ... seconds, capped, with full jitter.
ORDERFLOW_REFUND_RETRY_BACKOFF_SECONDS = env.int("ORDERFLOW_REFUND_RETRY_BACKOFF_SECONDS", default=2)
ORDERFLOW_REFUND_RETRY_BACKOFF_MAX_SECONDS = env.int("ORDERFLOW_REFUND_RETRY_BACKOFF_MAX_SECONDS", default=300)
# A refund left PENDING (or PROCESSING) this long without a change is queued again by beat.
ORDERFLOW_REFUND_STALE_PENDING_SECONDS = env.int("ORDERFLOW_REFUND_STALE_PENDING_SECONDS", default=60)
ORDERFLOW_REFUND_STALE_PROCESSING_SECONDS = env.int("ORDERFLOW_REFUND_STALE_PROCESSING_SECONDS", default=15 * 60)

# ---------------------------------------------------------------- courier offers
# How long an offered courier has to accept before the order is offered to the next one.
ORDERFLOW_COURIER_OFFER_SECONDS = env.int("ORDERFLOW_COURIER_OFFER_SECONDS", default=60)
# Couriers further than this from the restaurant are not offered (or given) the order.
ORDERFLOW_COURIER_OFFER_RADIUS_KM = env.float("ORDERFLOW_COURIER_OFFER_RADIUS_KM", default=15.0)
# The dispatch radius for couriers' own claims: further than this from the restaurant, a courier
# does not see the order among the available ones (REST and ws/courier/) and may not claim it.
ORDERFLOW_COURIER_CLAIM_RADIUS_KM = env.float(
    "ORDERFLOW_COURIER_CLAIM_RADIUS_KM", default=ORDERFLOW_COURIER_OFFER_RADIUS_KM
)
# Orders one courier may have at once (assigned, not yet delivered).
ORDERFLOW_COURIER_MAX_ACTIVE_ORDERS = env.int("ORDERFLOW_COURIER_MAX_ACTIVE_ORDERS", default=2)
# How a confirmed delivery order gets its courier: `auto` assigns the nearest free online courier
# at once (the order-process API's behaviour); `offers` offers it to one courier at a time.
ORDERFLOW_COURIER_DISPATCH = env.str("ORDERFLOW_COURIER_DISPATCH", default="auto")
if ORDERFLOW_COURIER_DISPATCH not in ("auto", "offers"):
    raise ImproperlyConfigured("ORDERFLOW_COURIER_DISPATCH must be auto or offers.")
# When `auto` assigns (docs/kitchen.md): `confirmation` (at once) or `ready` (timed so that the
# courier's ride ends at the quoted ready time; the beat pass assigns it then).
ORDERFLOW_COURIER_DISPATCH_TIMING = env.str("ORDERFLOW_COURIER_DISPATCH_TIMING", default="confirmation")
if ORDERFLOW_COURIER_DISPATCH_TIMING not in ("confirmation", "ready"):
    raise ImproperlyConfigured("ORDERFLOW_COURIER_DISPATCH_TIMING must be confirmation or ready")

# The customer tracking API's SignalR hub pings each connection this often (SignalR's 15 s default;
# clients give up on a server silent for 30 s).
ORDERFLOW_SIGNALR_KEEPALIVE_SECONDS = env.float("ORDERFLOW_SIGNALR_KEEPALIVE_SECONDS", default=15.0)

ORDERFLOW_DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 -- the demo accounts' published password
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

# Guessing limits (core/throttling.py, docs/trust.md): failures per window, counted per
# (account, address) and per address (an IPv6 address by its /64); sign-ins also slow an account
# down across all addresses after ORDERFLOW_LOGIN_ACCOUNT_SLOW_AFTER consecutive failures (the
# wait doubles per failure up to the cap), and after ORDERFLOW_LOGIN_ACCOUNT_MAX_FAILURES (NIST
# SP 800-63B: at most 100) take it only from addresses it signed in from before.
ORDERFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = env.int(
    "ORDERFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS", default=10
)
ORDERFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("ORDERFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS", default=50)
ORDERFLOW_LOGIN_FAILURE_WINDOW_SECONDS = env.int("ORDERFLOW_LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
ORDERFLOW_LOGIN_ACCOUNT_SLOW_AFTER = env.int("ORDERFLOW_LOGIN_ACCOUNT_SLOW_AFTER", default=60)
ORDERFLOW_LOGIN_ACCOUNT_MAX_DELAY_SECONDS = env.int("ORDERFLOW_LOGIN_ACCOUNT_MAX_DELAY_SECONDS", default=20 * 60)
ORDERFLOW_LOGIN_ACCOUNT_MAX_FAILURES = env.int("ORDERFLOW_LOGIN_ACCOUNT_MAX_FAILURES", default=100)
# An account's consecutive failures are forgotten this long after the last one (or at a sign-in).
ORDERFLOW_LOGIN_ACCOUNT_MEMORY_SECONDS = env.int("ORDERFLOW_LOGIN_ACCOUNT_MEMORY_SECONDS", default=24 * 60 * 60)
# Addresses an account signed in from are known to it this long (they skip the account's slow-down).
ORDERFLOW_LOGIN_KNOWN_ADDRESS_SECONDS = env.int("ORDERFLOW_LOGIN_KNOWN_ADDRESS_SECONDS", default=30 * 24 * 60 * 60)
ORDERFLOW_CODE_MAX_FAILURES_PER_USER = env.int("ORDERFLOW_CODE_MAX_FAILURES_PER_USER", default=20)
ORDERFLOW_CODE_MAX_FAILURES_PER_ADDRESS = env.int("ORDERFLOW_CODE_MAX_FAILURES_PER_ADDRESS", default=60)
ORDERFLOW_CODE_FAILURE_WINDOW_SECONDS = env.int("ORDERFLOW_CODE_FAILURE_WINDOW_SECONDS", default=15 * 60)

# JWTs (config/tokens.py, core/auth_tokens.py): short access tokens; refresh tokens rotate at each
# use, and a used one presented again revokes its whole family. The signing key is a secret of its
# own, ORDERFLOW_JWT_SIGNING_KEY (local.py, test.py, production.py), never SECRET_KEY.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "ALGORITHM": "HS256",
}

# Open sockets check again, this often, that their token has not expired, their user is active and
# the access they were opened with still holds (tracking/consumers.py); at most 60 s.
ORDERFLOW_WS_RECHECK_SECONDS = env.float("ORDERFLOW_WS_RECHECK_SECONDS", default=30.0)
if not 0 < ORDERFLOW_WS_RECHECK_SECONDS <= 60:
    raise ImproperlyConfigured("ORDERFLOW_WS_RECHECK_SECONDS must be more than 0 and at most 60.")

# ---------------------------------------------------------------- the edge (docs/trust.md)
# Peers whose X-Forwarded-For (its last entry: one hop) and X-Forwarded-Proto are believed: the
# proxy in front (nginx), by address or network. Anyone else's are dropped (core/middleware.py).
ORDERFLOW_PROXY_ADDRESSES = env.list("ORDERFLOW_PROXY_ADDRESSES", default=["127.0.0.1", "::1"])
# The original request was HTTPS when the trusted proxy says so.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Origins whose HTTPS form posts pass the CSRF origin check (e.g. https://orders.example.com).
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The OpenAPI document and Swagger UI: public (anyone), staff (signed-in staff) or off.
ORDERFLOW_API_DOCS = env.str("ORDERFLOW_API_DOCS", default="public")
if ORDERFLOW_API_DOCS not in ("public", "staff", "off"):
    raise ImproperlyConfigured("ORDERFLOW_API_DOCS must be public, staff or off.")

# ---------------------------------------------------------------- outbound webhooks (notifications/webhooks.py)
ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS = env.float("ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A delivery being posted is leased for the timeout plus this (DNS, a slow worker); a worker that
# dies leaves the lease to run out, and the delivery is sent again.
ORDERFLOW_WEBHOOK_LEASE_MARGIN_SECONDS = env.float("ORDERFLOW_WEBHOOK_LEASE_MARGIN_SECONDS", default=30.0)
# The wait after each failed attempt, in seconds (each up to a fifth longer, at random): the first
# attempt at once, then 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 24 h and 24 h; after the last,
# 75 h 36 min at the earliest, the delivery is given up. The table in
# docs/operations/webhooks-and-notifications.md is checked against it.
ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS = env.list(
    "ORDERFLOW_WEBHOOK_RETRY_SCHEDULE_SECONDS",
    cast=int,
    default=[60, 300, 1800, 7200, 18000, 36000, 36000, 86400, 86400],
)
# An endpoint that failed every attempt for this long (and at least this many times in a row) is
# disabled, the operators are told and an `endpoint.disabled` event is sent.
ORDERFLOW_WEBHOOK_BREAKER_FAILURES = env.int("ORDERFLOW_WEBHOOK_BREAKER_FAILURES", default=5)
ORDERFLOW_WEBHOOK_BREAKER_SECONDS = env.float("ORDERFLOW_WEBHOOK_BREAKER_SECONDS", default=5 * 24 * 3600.0)
# The most events one replay (an operator's "send again every event from ... to ...") may queue.
ORDERFLOW_WEBHOOK_REPLAY_MAX_EVENTS = env.int("ORDERFLOW_WEBHOOK_REPLAY_MAX_EVENTS", default=10000)
# Loopback, private, link-local and other non-public addresses are never called unless this is on.
ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
# Certificates trusted for https endpoints (a PEM file); empty: the system's.
ORDERFLOW_WEBHOOK_CA_BUNDLE = env("ORDERFLOW_WEBHOOK_CA_BUNDLE", default="")

# ---------------------------------------------------------------- notifications (notifications/services.py)
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="orderflow <no-reply@orderflow.local>")
ORDERFLOW_SMS_PROVIDER = env("ORDERFLOW_SMS_PROVIDER", default="simulated")
ORDERFLOW_SIMULATED_SMS_LATENCY_SECONDS = env.float("ORDERFLOW_SIMULATED_SMS_LATENCY_SECONDS", default=0.1)
ORDERFLOW_SIMULATED_SMS_FAILURE_RATE = env.float("ORDERFLOW_SIMULATED_SMS_FAILURE_RATE", default=0.0)
ORDERFLOW_NOTIFICATION_CHANNELS: dict[str, str] = {}
# Text messages in any hour, per user and per phone number; beyond them a message is not sent
# (counted in /metrics as orderflow_sms_refused_total) and a code asked for is refused with 429.
ORDERFLOW_SMS_PER_USER_PER_HOUR = env.int("ORDERFLOW_SMS_PER_USER_PER_HOUR", default=10)
ORDERFLOW_SMS_PER_NUMBER_PER_HOUR = env.int("ORDERFLOW_SMS_PER_NUMBER_PER_HOUR", default=10)
# A phone number's verification code: how long it lasts, wrong tries, and the wait between two sends.
ORDERFLOW_PHONE_CODE_TTL_SECONDS = env.int("ORDERFLOW_PHONE_CODE_TTL_SECONDS", default=10 * 60)
ORDERFLOW_PHONE_CODE_MAX_ATTEMPTS = env.int("ORDERFLOW_PHONE_CODE_MAX_ATTEMPTS", default=5)
ORDERFLOW_PHONE_CODE_RESEND_SECONDS = env.int("ORDERFLOW_PHONE_CODE_RESEND_SECONDS", default=60)
ORDERFLOW_NOTIFICATION_MAX_ATTEMPTS = env.int("ORDERFLOW_NOTIFICATION_MAX_ATTEMPTS", default=6)
# A message being sent is leased this long; a worker that dies leaves the lease to run out.
ORDERFLOW_NOTIFICATION_LEASE_SECONDS = env.float("ORDERFLOW_NOTIFICATION_LEASE_SECONDS", default=60.0)
ORDERFLOW_NOTIFICATION_RETRY_BACKOFF_SECONDS = env.float("ORDERFLOW_NOTIFICATION_RETRY_BACKOFF_SECONDS", default=10.0)
ORDERFLOW_NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS = env.float(
    "ORDERFLOW_NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS", default=600.0
)
# Who is told when a webhook endpoint is paused; empty: every active superuser with an email address.
ORDERFLOW_OPERATOR_EMAILS = env.list("ORDERFLOW_OPERATOR_EMAILS", default=[])

# ---------------------------------------------------------------- personal data (privacy/, docs/personal-data.md)
# Each limit is enforced in batches by the hourly beat task privacy.tasks.retention_enforce_task.
# Courier position samples are deleted after this many days (a disputed delivery's track is kept).
ORDERFLOW_RETENTION_COURIER_LOCATIONS_DAYS = env.int("ORDERFLOW_RETENTION_COURIER_LOCATIONS_DAYS", default=30)
# A public tracking link stops (410 Gone) this long after its order ended.
ORDERFLOW_TRACKING_LINK_HOURS_AFTER_END = env.int("ORDERFLOW_TRACKING_LINK_HOURS_AFTER_END", default=24)
# ... and the hash that makes it answer 410 rather than 404 is forgotten after this many days.
ORDERFLOW_RETENTION_EXPIRED_LINKS_DAYS = env.int("ORDERFLOW_RETENTION_EXPIRED_LINKS_DAYS", default=90)
# A payment provider's event is reduced to the fields the service reads after this many hours.
ORDERFLOW_RETENTION_PAYMENT_PAYLOAD_HOURS = env.int("ORDERFLOW_RETENTION_PAYMENT_PAYLOAD_HOURS", default=24)
# Codes are masked in sent text messages (the SMS provider's books) this many minutes after sending.
ORDERFLOW_RETENTION_SENT_CODES_MINUTES = env.int("ORDERFLOW_RETENTION_SENT_CODES_MINUTES", default=0)
# Sent (or given up) notifications, with their recipients and bodies, are deleted after this many days.
ORDERFLOW_RETENTION_NOTIFICATIONS_DAYS = env.int("ORDERFLOW_RETENTION_NOTIFICATIONS_DAYS", default=90)
# Finished webhook deliveries and their attempt logs are deleted after this many days.
ORDERFLOW_RETENTION_WEBHOOK_LOGS_DAYS = env.int("ORDERFLOW_RETENTION_WEBHOOK_LOGS_DAYS", default=30)
# Rows one retention step handles per transaction; one run stops taking batches after the budget.
ORDERFLOW_RETENTION_BATCH_SIZE = env.int("ORDERFLOW_RETENTION_BATCH_SIZE", default=1000)
ORDERFLOW_RETENTION_BUDGET_SECONDS = env.float("ORDERFLOW_RETENTION_BUDGET_SECONDS", default=90.0)
ORDERFLOW_RETENTION_INTERVAL_SECONDS = env.float("ORDERFLOW_RETENTION_INTERVAL_SECONDS", default=3600.0)
CELERY_BEAT_SCHEDULE["privacy-retention"] = {
    "task": "privacy.tasks.retention_enforce_task",
    "schedule": ORDERFLOW_RETENTION_INTERVAL_SECONDS,
    "options": {"expires": ORDERFLOW_RETENTION_INTERVAL_SECONDS},
}

# ---------------------------------------------------------------- operations
# /metrics answers a request carrying "Authorization: Bearer <this>", or a signed-in user holding the
# `core.view_metrics` permission (platform operators; superusers hold every permission).
ORDERFLOW_METRICS_TOKEN = env("ORDERFLOW_METRICS_TOKEN", default="")
# A refund PROCESSING longer than this is listed for the operator as stuck.
ORDERFLOW_REFUND_STUCK_SECONDS = env.int("ORDERFLOW_REFUND_STUCK_SECONDS", default=30 * 60)
