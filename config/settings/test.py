from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, SIMPLE_JWT, env
from config.settings.services import *  # noqa: F403
from config.settings.services import REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests run tasks inside the test (after the test's commit callbacks); the integration
# tests switch this off and talk to a real worker over Redis.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
if not REDIS_URL:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
# Test values of their own (not the local ones): servers that tests start under production
# settings are handed these, so that tokens made here verify there. The JWT key is the secret
# key's value here only, so that a server handed either verifies this process's tokens;
# production reads a key of its own (tests/config/test_safe_defaults.py).
SECRET_KEY = env("DJANGO_SECRET_KEY", default="orderflow-test-secret-key-" + "t35t-" * 8)
ORDERFLOW_PUBLIC_ID_KEY = env("ORDERFLOW_PUBLIC_ID_KEY", default=SECRET_KEY)
ORDERFLOW_JWT_SIGNING_KEY = env("ORDERFLOW_JWT_SIGNING_KEY", default=SECRET_KEY)
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": ORDERFLOW_JWT_SIGNING_KEY}
ORDERFLOW_OTP_SECRET = "test-otp-secret"
ORDERFLOW_PAYMENT_WEBHOOK_SECRET = "test-webhook-secret"
ORDERFLOW_PAYMONGO_WEBHOOK_SECRET = ORDERFLOW_PAYMENT_WEBHOOK_SECRET
ORDERFLOW_SIMULATED_PROVIDER_LATENCY_SECONDS = 0.0
ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE = 0.0
# Tests deliver webhooks to receivers on loopback, quickly.
ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
ORDERFLOW_WEBHOOK_TIMEOUT_SECONDS = 2.0
ORDERFLOW_SIMULATED_SMS_LATENCY_SECONDS = 0.0
ORDERFLOW_METRICS_TOKEN = "test-metrics-token"
# The test process itself holds plain connections (pytest-django creates and flushes the test
# database through them); server processes started by tests set ORDERFLOW_DB_POOL=1 to run
# pooled, as in production.
if not env.bool("ORDERFLOW_DB_POOL", default=False):
    DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
# No poll memory (orders/poll_cache.py) unless a test asks for it: tests change Redis behind the
# application's back (a snapshot deleted, Redis stopped) and expect the next read to see it.
ORDERFLOW_POLL_MEMORY_CACHE = env.bool("ORDERFLOW_POLL_MEMORY_CACHE", default=False)
# The committed-event tail (tracking/tail.py) stays off in the test process, whose sockets run on
# the in-memory layer beside the test's own transactions; server processes may turn it on.
ORDERFLOW_EVENT_TAIL = env.str("ORDERFLOW_EVENT_TAIL", default="off")
# The fault tests (tests/faults/) start server processes under these settings with
# ORDERFLOW_FAULT_POINTS=1 and ORDERFLOW_FAULT_POINT=<name> (core/faults.py).
ORDERFLOW_FAULT_POINTS_ENABLED = env.bool("ORDERFLOW_FAULT_POINTS", default=False)
