"""Executors end to end: the in-process thread pool, Celery with a real worker over Redis,
and zombie reaping (a running try whose heartbeat stopped is failed and retried)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from ingestion.models import DagRun, TaskInstance
from ingestion.scheduler.executors import CeleryTaskExecutor, ThreadPoolTaskExecutor
from ingestion.services.execution import zombies_reap
from ingestion.services.runs import run_trigger
from tests.ingestion import scheduling
from tests.ingestion.conftest import RecordingExecutor
from tests.ingestion.factories import dag as make_dag
from tests.ingestion.scheduling import FakeClock, make_loop

pytestmark = pytest.mark.django_db(transaction=True)
TI = TaskInstance.State

FAN = (
    {"task_id": "start", "is_dummy": True, "downstream_task_ids": ["a", "b", "c"]},
    {"task_id": "a", "operator_name": "test_ok", "downstream_task_ids": ["join"], "params": {"sleep": 0.2}},
    {"task_id": "b", "operator_name": "test_ok", "downstream_task_ids": ["join"], "params": {"sleep": 0.2}},
    {"task_id": "c", "operator_name": "test_flaky", "downstream_task_ids": ["join"], "retries": 1, "retry_delay": 0.01},
    {"task_id": "join", "operator_name": "test_ok"},
)


def tick_until_finished(loop, run: DagRun, *, timeout: float = 30.0) -> DagRun:
    return scheduling.tick_until_finished(loop, run, timeout=timeout, wall_clock=True)


def _assert_fan_ran(run: DagRun) -> None:
    tis = {ti.task_id: ti for ti in run.task_instances.all()}
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert {t: ti.try_number for t, ti in tis.items()} == {"start": 0, "a": 1, "b": 1, "c": 2, "join": 1}
    assert tis["join"].started_at >= max(tis[t].ended_at for t in "abc")
    # a and b ran side by side on two workers
    assert tis["a"].started_at < tis["b"].ended_at and tis["b"].started_at < tis["a"].ended_at


def test_thread_pool_executor_runs_a_dag_end_to_end():
    dag = make_dag(schedule="0 0 1 1 *", tasks=FAN)
    run, _ = run_trigger(dag_id=dag.dag_id)
    executor = ThreadPoolTaskExecutor(workers=3)
    try:
        run = tick_until_finished(make_loop(executor, FakeClock(time.time())), run)
    finally:
        executor.stop()
    _assert_fan_ran(run)


@pytest.mark.redis
def test_celery_executor_runs_a_dag_end_to_end_on_a_real_worker():
    if not settings.CELERY_BROKER_URL:
        pytest.skip("needs CELERY_BROKER_URL (service mode)")
    from celery.contrib.testing.worker import start_worker

    from adplatform.celery import app

    app.control.purge()  # nothing left over from an earlier run in this Redis db
    dag = make_dag(schedule="0 0 1 1 *", tasks=FAN)
    run, _ = run_trigger(dag_id=dag.dag_id)
    loop = make_loop(CeleryTaskExecutor(), FakeClock(time.time()))
    assert loop.tick()["dispatched"] == 3
    time.sleep(0.5)
    # Sent to the broker: nothing runs them until a worker is there.
    assert sorted(run.task_instances.values_list("task_id", "state")) == [
        ("a", "queued"),
        ("b", "queued"),
        ("c", "queued"),
        ("join", "none"),
        ("start", "success"),
    ]
    with start_worker(
        app, pool="threads", concurrency=3, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"
    ):
        run = tick_until_finished(loop, run)
    _assert_fan_ran(run)


def test_a_try_whose_heartbeat_stopped_is_retried():
    dag = make_dag(
        schedule="0 0 1 1 *",
        tasks=(
            {"task_id": "a", "operator_name": "test_ok", "retries": 1, "retry_delay": 0, "downstream_task_ids": ["b"]},
            {"task_id": "b", "operator_name": "test_ok"},
        ),
    )
    run, _ = run_trigger(dag_id=dag.dag_id)
    recording = RecordingExecutor()
    loop = make_loop(recording, FakeClock(time.time()))
    loop.tick()
    ((pk, _try_number),) = recording.submitted
    # A worker claimed the try, then died: its heartbeat is two minutes old.
    stale = timezone.now() - timedelta(seconds=120)
    TaskInstance.objects.filter(pk=pk).update(state=TI.RUNNING, heartbeat_at=stale, hostname="gone", pid=4242)

    assert zombies_reap(now=timezone.now()) == 1
    ti = TaskInstance.objects.get(pk=pk)
    assert ti.state == TI.UP_FOR_RETRY and "ZombieTask" in ti.error and "gone pid 4242" in ti.error
    assert zombies_reap(now=timezone.now()) == 0  # reaped once

    executor = ThreadPoolTaskExecutor(workers=1)
    try:
        run = tick_until_finished(make_loop(executor, FakeClock(time.time())), run)
    finally:
        executor.stop()
    assert run.state == "success"
    assert run.task_instances.get(task_id="a").try_number == 2


def test_a_try_that_finishes_after_being_reaped_changes_nothing():
    from ingestion.services.execution import task_instance_finish

    dag = make_dag(schedule="0 0 1 1 *", tasks=({"task_id": "a", "operator_name": "test_ok", "retries": 1},))
    run_trigger(dag_id=dag.dag_id)
    recording = RecordingExecutor()
    make_loop(recording, FakeClock(time.time())).tick()
    ((pk, try_number),) = recording.submitted
    TaskInstance.objects.filter(pk=pk).update(state=TI.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=5))
    zombies_reap()
    # The "dead" worker was only slow; its late finish must not overwrite the retry.
    assert task_instance_finish(task_instance_id=pk, try_number=try_number) is None
    assert TaskInstance.objects.get(pk=pk).state == TI.UP_FOR_RETRY


def test_a_queued_try_that_never_started_is_handed_out_again():
    dag = make_dag(schedule="0 0 1 1 *", tasks=({"task_id": "a", "operator_name": "test_ok"},))
    run_trigger(dag_id=dag.dag_id)
    recording = RecordingExecutor()
    make_loop(recording, FakeClock(time.time())).tick()
    ((pk, try_number),) = recording.submitted
    TaskInstance.objects.filter(pk=pk).update(queued_at=timezone.now() - timedelta(hours=1))
    assert zombies_reap() == 1
    ti = TaskInstance.objects.get(pk=pk)
    assert ti.state == TI.SCHEDULED and ti.try_number == try_number - 1  # the same try again


WORKER = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adplatform.settings")
django.setup()
import tests.ingestion.sample_operators  # the test operators, as in the test process
from adplatform.celery import app
app.worker_main(["worker", "-P", "solo", "--loglevel=WARNING", "-n", "doomed@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


@pytest.mark.mysql
@pytest.mark.redis
def test_a_worker_process_killed_mid_task_leads_to_a_retry_not_a_stuck_run(settings):
    django_settings = settings
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from celery.contrib.testing.worker import start_worker
    from django.db import connection

    from adplatform.celery import app

    if not django_settings.CELERY_BROKER_URL:
        pytest.skip("needs CELERY_BROKER_URL (service mode)")
    app.control.purge()
    dag = make_dag(
        schedule="0 0 1 1 *",
        tasks=(
            {
                "task_id": "slow",
                "operator_name": "test_sleep",
                "retries": 1,
                "retry_delay": 0,
                "params": {"seconds": 60, "only_try": 1},
                "downstream_task_ids": ["after"],
            },
            {"task_id": "after", "operator_name": "test_ok"},
        ),
    )
    run, _ = run_trigger(dag_id=dag.dag_id)
    db = connection.settings_dict
    env = dict(
        os.environ, DATABASE_URL=f"mysql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"
    )
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=Path(__file__).resolve().parents[2], env=env)
    loop = make_loop(CeleryTaskExecutor(), FakeClock(time.time()))
    try:
        loop.tick()
        slow = run.task_instances.get(task_id="slow")
        deadline = time.monotonic() + 60
        while not (slow.state == TI.RUNNING and slow.pid == worker.pid):
            assert time.monotonic() < deadline and worker.poll() is None, (slow.state, slow.pid, worker.pid)
            time.sleep(0.2)
            slow.refresh_from_db()
        os.kill(worker.pid, signal.SIGKILL)  # the machine died mid-task
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    # No heartbeat comes any more (they came every 0.2 s): past the threshold the reaper fails the try.
    django_settings.INGESTION_ZOMBIE_SECONDS = 1.0
    time.sleep(1.2)
    assert zombies_reap() == 1
    slow.refresh_from_db()
    assert slow.state == TI.UP_FOR_RETRY and "the worker died" in slow.error and str(worker.pid) in slow.error

    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"
    ):
        run = tick_until_finished(loop, run)
    assert run.state == "success"
    assert dict(run.task_instances.values_list("task_id", "try_number")) == {"slow": 2, "after": 1}
