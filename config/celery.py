"""The Celery app. Its settings are the CELERY_* names in config/settings/base.py.

Tasks live in each app's tasks.py: thin wrappers that take ids and call a service.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("orderflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
