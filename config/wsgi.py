import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from config.gc_tuning import tune_garbage_collection

# A server started without DJANGO_SETTINGS_MODULE runs production settings, which refuse to start
# without their secrets; development settings are manage.py's default, never a server's.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# The URL configuration (and the views, serializers and DRF it imports) is loaded now rather than
# by the first request, so that it is frozen out of garbage collection with the rest.
import_module(settings.ROOT_URLCONF)
tune_garbage_collection()
