"""adplatform: the Django project (settings, urls, Celery app, runtime)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
