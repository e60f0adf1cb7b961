"""Executors: where a dispatched (task instance, try) runs. Both call the same
`ingestion.services.execution.task_instance_execute`.

- ThreadPoolTaskExecutor: the embedded mode; threads of the runplatform (or scheduler) process.
- CeleryTaskExecutor: the service mode; one Celery message per try to
  `ingestion.tasks.run_task_instance`, optionally on a per-pool (platform) queue. Messages
  are acks_late and the task state lives in our database, so a redelivered message for a
  try that already ran claims nothing.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)


class ThreadPoolTaskExecutor:
    def __init__(self, workers: int | None = None):
        self.workers = workers or int(getattr(settings, "INGESTION_WORKER_THREADS", 4))
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="task")

    def __repr__(self) -> str:
        return f"ThreadPoolTaskExecutor(workers={self.workers})"

    def submit(self, task_instance_id: int, try_number: int, *, queue: str | None = None):
        return self._pool.submit(self._run, task_instance_id, try_number)

    @staticmethod
    def _run(task_instance_id: int, try_number: int) -> None:
        from ingestion.services.execution import task_instance_execute

        close_old_connections()
        try:
            task_instance_execute(task_instance_id=task_instance_id, try_number=try_number)
        except Exception:
            logger.exception("task instance %s try %s crashed its executor thread", task_instance_id, try_number)
        finally:
            connections.close_all()

    def stop(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


class CeleryTaskExecutor:
    def __repr__(self) -> str:
        return "CeleryTaskExecutor()"

    def submit(self, task_instance_id: int, try_number: int, *, queue: str | None = None):
        from ingestion.tasks import run_task_instance

        options = {"queue": queue} if queue else {}
        return run_task_instance.apply_async(args=(task_instance_id, try_number), **options)

    def stop(self, wait: bool = True) -> None:
        pass


def executor_from_settings():
    """INGESTION_EXECUTOR = "threads" | "celery"; default: threads when embedded, else Celery."""
    kind = getattr(settings, "INGESTION_EXECUTOR", "") or ("threads" if settings.EMBEDDED else "celery")
    if kind == "threads":
        return ThreadPoolTaskExecutor()
    if kind == "celery":
        return CeleryTaskExecutor()
    raise ValueError(f"INGESTION_EXECUTOR: unknown executor {kind!r}; use 'threads' or 'celery'")
