# An exact release of the base image, so a rebuild starts from the same system and Python.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

# Dependencies from the lock files only (exact versions, hashes checked), in a layer of their own.
COPY requirements/production.txt requirements/build.txt ./requirements/
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.txt -r requirements/production.txt
COPY . .
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
# Collected under the production settings, whose storage writes the manifest of hashed names
# that they serve from; the placeholders only let the settings load (nothing is connected to).
RUN DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY=collectstatic-only \
    ORDERFLOW_JWT_SIGNING_KEY=collectstatic-only-jwt \
    ORDERFLOW_OTP_SECRET=collectstatic-only ORDERFLOW_PAYMENT_WEBHOOK_SECRET=collectstatic-only \
    DJANGO_ALLOWED_HOSTS=localhost DATABASE_URL=postgres://collectstatic@localhost/none \
    REDIS_URL=redis://localhost:6379/0 python manage.py collectstatic --noinput

EXPOSE 8000
# HTTP; docker-compose.yml runs the WebSocket processes and the proxy next to it.
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--blocking-threads", "4", "config.wsgi:application"]
