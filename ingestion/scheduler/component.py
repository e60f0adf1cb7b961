"""The runplatform component (embedded mode): the scheduler loop in a thread, running
tasks on an in-process thread pool. Listed in settings.EMBEDDED_COMPONENTS."""

from __future__ import annotations

import threading

from django.db import connections

from ingestion.scheduler.executors import executor_from_settings
from ingestion.scheduler.loop import SchedulerLoop


class EmbeddedScheduler:
    name = "dag-scheduler"

    def __init__(self):
        self.executor = executor_from_settings()
        self.loop = SchedulerLoop(self.executor, name=self.name)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="dag-scheduler", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_forever(self._stop)
        finally:
            connections.close_all()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)
        self.executor.stop(wait=False)
