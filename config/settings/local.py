"""Development on one machine (`manage.py`'s default): DEBUG on, and this checkout's own random
value for any secret the environment does not set (config/settings/development_secrets.py)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, SIMPLE_JWT, env
from config.settings.development_secrets import secrets_with_development_defaults
from config.settings.services import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)

_secrets = secrets_with_development_defaults(env, BASE_DIR)
SECRET_KEY = _secrets["DJANGO_SECRET_KEY"]
ORDERFLOW_PUBLIC_ID_KEY = env("ORDERFLOW_PUBLIC_ID_KEY", default=SECRET_KEY)
ORDERFLOW_JWT_SIGNING_KEY = _secrets["ORDERFLOW_JWT_SIGNING_KEY"]
ORDERFLOW_OTP_SECRET = _secrets["ORDERFLOW_OTP_SECRET"]
ORDERFLOW_PAYMENT_WEBHOOK_SECRET = _secrets["ORDERFLOW_PAYMENT_WEBHOOK_SECRET"]
ORDERFLOW_PAYMONGO_WEBHOOK_SECRET = _secrets["ORDERFLOW_PAYMONGO_WEBHOOK_SECRET"]
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": ORDERFLOW_JWT_SIGNING_KEY}
