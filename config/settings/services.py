"""The services beside the application, from the environment: Redis (the cache and the channel
layer), Celery's broker, result backend and beat schedule (with the intervals of the periodic
sweeps it runs), and the outbound channels (mail, text messages, webhooks).

Each environment's settings module (local.py, test.py, production.py) loads config/settings/base.py
and then this module; the values this one needs from the base are imported from it by name.
Without REDIS_URL every service has an embedded default: an in-process cache and channel layer, and
a Celery broker in a folder on disk.
"""

from pathlib import Path

from config.settings.base import BASE_DIR, ORDERFLOW_RETENTION_INTERVAL_SECONDS, env
from core.redis_connections import (
    SENTINEL_TIMEOUT_SECONDS,
    kombu_sentinel_url,
    parse_sentinels,
    url_database_and_password,
)

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
    # Personal data kept no longer than its limits (ORDERFLOW_RETENTION_* in base.py).
    "privacy-retention": {
        "task": "privacy.tasks.retention_enforce_task",
        "schedule": ORDERFLOW_RETENTION_INTERVAL_SECONDS,
        "options": {"expires": ORDERFLOW_RETENTION_INTERVAL_SECONDS},
    },
}

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
