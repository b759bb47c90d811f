"""The well-known values that local and test settings fall back to when a secret is not set.

Only config/settings/local.py and config/settings/test.py use them; production refuses to start
with any of them (config/settings/production.py), wherever it was set.
"""

DEVELOPMENT_SECRETS = {
    "DJANGO_SECRET_KEY": "orderflow-local-development-key-not-for-production",
    "ORDERFLOW_JWT_SIGNING_KEY": "orderflow-local-jwt-signing-key-not-for-production",
    "ORDERFLOW_OTP_SECRET": "orderflow-local-otp-secret-not-for-production",
    "ORDERFLOW_PAYMENT_WEBHOOK_SECRET": "orderflow-local-webhook-secret-not-for-production",
}


def secrets_with_development_defaults(env) -> dict:
    """Each secret from the environment, else its development value (local and test settings only)."""
    values = {name: env(name, default=default) for name, default in DEVELOPMENT_SECRETS.items()}
    values["ORDERFLOW_PAYMONGO_WEBHOOK_SECRET"] = env(
        "ORDERFLOW_PAYMONGO_WEBHOOK_SECRET", default=values["ORDERFLOW_PAYMENT_WEBHOOK_SECRET"]
    )
    return values
