"""The Celery app. Its settings are the CELERY_* names in config/settings/services.py.

Tasks live in each app's tasks.py: thin wrappers that take ids and call a service.
"""

import os

from celery import Celery
from celery.signals import worker_process_init

# As the servers (config/wsgi.py): production settings unless told otherwise.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("orderflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _redbeat_settings(sender: Celery, **_) -> None:
    """celery-redbeat reads its settings by their own names (redbeat_redis_url, ...), which
    Celery's namespace does not derive from the CELERY_REDBEAT_* settings: hand them over under
    those names. Done once Celery has read Django's settings, not at import: a settings module
    that imports `config.settings.*` (bench/baseline_settings.py) imports this module before
    Django's settings exist."""
    conf = sender.conf
    conf.update(
        {key.removeprefix("CELERY_").lower(): value for key, value in conf.items() if key.startswith("CELERY_REDBEAT_")}
    )


@worker_process_init.connect
def _tune_worker_process(**_) -> None:
    """Each worker process, once it has loaded the tasks: see config/gc_tuning.py."""
    from config.gc_tuning import tune_garbage_collection

    tune_garbage_collection()
