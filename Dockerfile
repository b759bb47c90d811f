FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config ./config
COPY orders ./orders
COPY restaurants ./restaurants
COPY delivery ./delivery
COPY payments ./payments
COPY tracking ./tracking
COPY pages ./pages
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_SETTINGS_MODULE=config.settings.local python manage.py collectstatic --noinput

EXPOSE 8000
# HTTP; docker-compose.yml runs the WebSocket processes and the proxy next to it.
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--blocking-threads", "4", "config.wsgi:application"]
