"""Periodic jobs in the embedded mode: django-celery-beat's schedule, run in-process.

The PeriodicTask rows are the same ones `celery beat` reads in service mode (editable
in the admin); here a beat thread evaluates them and runs due tasks in a small thread
pool of this process instead of sending them to a broker.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import beat
from django.db import close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)


class InProcessScheduler(DatabaseScheduler):
    """DatabaseScheduler that runs due tasks locally instead of publishing them."""

    _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="periodic")

    @property
    def producer(self):  # no broker in the embedded mode
        return None

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        entry = self.reserve(entry) if advance else entry
        task = self.app.tasks.get(entry.task)
        if task is None:
            # No worker runs here, and only a worker imports the apps' tasks modules
            # (Celery's autodiscovery is lazy): import them on first need.
            self.app.loader.import_default_modules()
            task = self.app.tasks.get(entry.task)
        if task is None:
            logger.error("periodic task %s names unknown task %s", entry.name, entry.task)
            return None
        self._pool.submit(self._run, task, entry.name, entry.args, entry.kwargs)
        return None

    @staticmethod
    def _run(task, name, args, kwargs):
        close_old_connections()
        try:
            task.apply(args=args, kwargs=kwargs, throw=True)
        except Exception:
            logger.exception("periodic task %s failed", name)
        finally:
            close_old_connections()


class EmbeddedBeat:
    """A runplatform component: celery beat's service loop in a thread."""

    name = "periodic-jobs"

    def __init__(self):
        from adplatform.celery import app

        self.service = beat.Service(app, scheduler_cls=InProcessScheduler, max_interval=5)
        self.thread = threading.Thread(target=self._loop, name="beat", daemon=True)

    def _loop(self):
        try:
            self.service.start(embedded_process=False)
        except Exception:
            logger.exception("embedded beat stopped")

    def start(self):
        self.thread.start()

    def stop(self):
        self.service.stop(wait=False)
        self.thread.join(timeout=10)
