"""Settings shared by every environment; each value comes from the environment.

Here: Django and its libraries (apps, middleware, database, the HTTP edge, the API) and the
domain's own limits and timings (ORDERFLOW_*). Redis, Celery and the outbound channels are in
config/settings/services.py, which each environment loads after this module.

Embedded defaults (SQLite; with services.py, an in-process cache and channel layer) let the project
run with nothing installed; DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
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
# Each server process keeps the snapshots it read in memory while it listens to Redis for their
# changes (orders/poll_cache.py); an entry lives at most ORDERFLOW_POLL_MEMORY_SECONDS.
ORDERFLOW_POLL_MEMORY_CACHE = env.bool("ORDERFLOW_POLL_MEMORY_CACHE", default=True)
ORDERFLOW_POLL_MEMORY_SECONDS = env.float("ORDERFLOW_POLL_MEMORY_SECONDS", default=60.0)

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
# Sockets of one process in their opening handshake at once (config/asgi_limits.py): the rest wait
# their turn without touching the database, so a reconnect storm cannot queue up more database
# work than the process's database threads get through before the clients give up.
ORDERFLOW_WS_HANDSHAKES_AT_ONCE = env.int("ORDERFLOW_WS_HANDSHAKES_AT_ONCE", default=10)
# Threads of a socket process for its sockets' database work (tracking/database.py): as many as its
# database pool has connections (ORDERFLOW_DB_POOL_MAX_SIZE, config/settings/database.py).
ORDERFLOW_WS_DB_THREADS = env.int("ORDERFLOW_WS_DB_THREADS", default=env.int("ORDERFLOW_DB_POOL_MAX_SIZE", default=4))

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

# ---------------------------------------------------------------- operations
# Fault points (core/faults.py) are for the fault tests only: the test settings alone switch them on.
ORDERFLOW_FAULT_POINTS_ENABLED = False
# /metrics answers a request carrying "Authorization: Bearer <this>", or a signed-in user holding the
# `core.view_metrics` permission (platform operators; superusers hold every permission).
ORDERFLOW_METRICS_TOKEN = env("ORDERFLOW_METRICS_TOKEN", default="")
# A refund PROCESSING longer than this is listed for the operator as stuck.
ORDERFLOW_REFUND_STUCK_SECONDS = env.int("ORDERFLOW_REFUND_STUCK_SECONDS", default=30 * 60)
