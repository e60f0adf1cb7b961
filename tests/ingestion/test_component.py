"""The scheduler as it runs for real (wall clock, the timing wheel): the runplatform
component in a thread, and `manage.py scheduler` stopped by SIGTERM."""

from __future__ import annotations

import io
import itertools
import os
import signal
import threading
import time

import pytest
from django.core.management import call_command
from django.db import OperationalError, connections

from ingestion.dblock import is_lock_error
from ingestion.models import DagRun, SchedulerHeartbeat
from ingestion.scheduler.heartbeat import scheduler_status
from tests.ingestion.factories import dag as make_dag

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for_runs(dag, n: int, timeout: float = 15.0) -> list[DagRun]:
    deadline = time.monotonic() + timeout
    done: list[DagRun] = []
    while time.monotonic() < deadline:
        try:
            done = list(DagRun.objects.filter(dag=dag, state="success").order_by("logical_time"))
        except OperationalError as exc:  # SQLite: the scheduler's thread is writing
            assert is_lock_error(exc), exc
        if len(done) >= n:
            return done
        time.sleep(0.1)
    raise AssertionError(
        f"{len(done)} successful runs after {timeout}s: {list(DagRun.objects.values_list('state', flat=True))}"
    )


def test_the_embedded_component_fires_a_seconds_cron_dag_on_time(settings):
    from ingestion.scheduler.component import EmbeddedScheduler

    settings.INGESTION_EXECUTOR = "threads"
    dag = make_dag(schedule="* * * * * *", max_active_runs=5)  # every second
    component = EmbeddedScheduler()
    component.start()
    try:
        runs = _wait_for_runs(dag, 3)
        beat = SchedulerHeartbeat.objects.get()  # written while it runs, read by /healthz
        assert beat.name.endswith(f":{os.getpid()}:dag-scheduler") and beat.pid == os.getpid()
        assert scheduler_status()["alive"]
    finally:
        component.stop()
        # Let tries still running finish before the test database is flushed (SQLite
        # refuses the flush while an executor thread writes).
        component.executor.stop(wait=True)
    assert not component.thread.is_alive()
    assert not SchedulerHeartbeat.objects.exists()  # a clean stop removes its heartbeat at once
    times = [r.logical_time for r in runs]
    assert all((b - a).total_seconds() == 1 for a, b in itertools.pairwise(times))  # no tick skipped
    # Created on time (started may wait: max_active_runs=1 and a run takes a tick or two).
    lags = [(r.created_at - r.logical_time).total_seconds() for r in runs[1:]]  # the first may predate the start
    # Generous: CI machines are shared; the benchmark (scheduler_scale) measures real lag.
    assert max(lags) < 2.0, lags


def test_the_scheduler_command_runs_until_sigterm():
    dag = make_dag(schedule="* * * * * *")
    out = io.StringIO()

    def stop_after_two_runs():
        try:
            _wait_for_runs(dag, 2)
        finally:  # stop the command even when the wait failed, or the test would hang
            connections.close_all()
            os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_after_two_runs)
    previous = signal.getsignal(signal.SIGTERM)
    stopper.start()
    call_command("scheduler", "--threads", "2", "--tick", "0.2", stdout=out)
    stopper.join()
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored
    assert "scheduler starting (executor ThreadPoolTaskExecutor(workers=2))" in out.getvalue()
    assert out.getvalue().rstrip().endswith("scheduler stopped")
    assert DagRun.objects.filter(dag=dag, state="success").count() >= 2
