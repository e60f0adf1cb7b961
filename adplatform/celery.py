"""The Celery app. Beat uses django-celery-beat's DatabaseScheduler (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adplatform.settings")

app = Celery("adplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
