"""`manage.py scheduler`: the DAG scheduler process (service mode; run two or more for HA)."""

import signal
import threading

from django.core.management.base import BaseCommand

from ingestion.scheduler.executors import ThreadPoolTaskExecutor, executor_from_settings
from ingestion.scheduler.loop import SchedulerLoop


class Command(BaseCommand):
    help = "Run the DAG scheduler: fire due DAGs, dispatch ready tasks, retry, reap zombies."

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=1.0, help="seconds per tick (default 1)")
        parser.add_argument(
            "--threads", type=int, default=0, help="run tasks on N local threads instead of the configured executor"
        )

    def handle(self, *args, **options):
        executor = ThreadPoolTaskExecutor(options["threads"]) if options["threads"] else executor_from_settings()
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.stdout.write(f"scheduler starting (executor {executor!r}); Ctrl-C stops it")
        try:
            SchedulerLoop(executor, tick=options["tick"]).run_forever(stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            executor.stop(wait=True)
        self.stdout.write("scheduler stopped")
