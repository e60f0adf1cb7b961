"""WSGI entry point (gunicorn adplatform.wsgi in service mode; waitress in runplatform)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adplatform.settings")
application = get_wsgi_application()
