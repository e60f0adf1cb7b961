"""Per-try task logs: logging and print() captured per thread, read back with offsets
(the live tail the web UI polls)."""

from __future__ import annotations

import time

import pytest

from ingestion.models import TaskInstance, TaskLog
from ingestion.scheduler.executors import ThreadPoolTaskExecutor
from ingestion.selectors import task_log_read
from ingestion.services.runs import run_trigger
from tests.ingestion.conftest import InlineExecutor
from tests.ingestion.factories import dag as make_dag
from tests.ingestion.scheduling import FakeClock, make_loop, settle, tick_until_finished

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_try_log_holds_its_logging_and_printed_output():
    dag = make_dag(schedule="0 0 1 1 *", tasks=({"task_id": "a", "operator_name": "test_ok", "params": {"x": 1}},))
    run, _ = run_trigger(dag_id=dag.dag_id)
    settle(make_loop(InlineExecutor(), FakeClock(run.logical_time)))
    ti = TaskInstance.objects.get()

    text, offset, finished = task_log_read(task_instance_id=ti.pk, try_number=1)

    assert f"hello from {dag.dag_id}.a try 1 params ['x']" in text
    assert "printed by a" in text
    assert text.rstrip().endswith("--- try 1 finished: success")
    assert finished and offset == TaskLog.objects.filter(task_instance=ti).count()
    assert task_log_read(task_instance_id=ti.pk, try_number=1, offset=offset) == ("", offset, True)


def test_each_try_has_its_own_log_with_the_failure_traceback():
    dag = make_dag(
        schedule="0 0 1 1 *",
        tasks=(
            {
                "task_id": "flaky",
                "operator_name": "test_flaky",
                "retries": 1,
                "retry_delay": 0,
                "params": {"fail_times": 1},
            },
        ),
    )
    run, _ = run_trigger(dag_id=dag.dag_id)
    loop = make_loop(InlineExecutor(), FakeClock(run.logical_time))
    settle(loop)
    loop.clock.set(TaskInstance.objects.get().next_try_at.timestamp() + 0.5)
    settle(loop)
    ti = TaskInstance.objects.get()
    assert ti.try_number == 2
    first, _, done1 = task_log_read(task_instance_id=ti.pk, try_number=1)
    second, _, done2 = task_log_read(task_instance_id=ti.pk, try_number=2)
    assert done1 and done2
    assert "TransientError: [sandbox]: flaky failure on try 1" in first and "finished: up_for_retry" in first
    assert "succeeded on try 2" in second and "flaky failure" not in second


def test_concurrent_tries_in_one_process_keep_their_output_apart():
    dag = make_dag(
        schedule="0 0 1 1 *",
        tasks=tuple(
            {"task_id": name, "operator_name": "test_ok", "params": {"sleep": 0.3}}
            for name in ("left", "right", "third")
        ),
    )
    run, _ = run_trigger(dag_id=dag.dag_id)
    executor = ThreadPoolTaskExecutor(workers=3)
    try:
        tick_until_finished(make_loop(executor, FakeClock(run.logical_time)), run)
    finally:
        executor.stop()
    for ti in TaskInstance.objects.all():
        text, _, finished = task_log_read(task_instance_id=ti.pk, try_number=1)
        assert finished and f"printed by {ti.task_id}" in text
        others = {"left", "right", "third"} - {ti.task_id}
        assert not any(f"printed by {o}" in text or f".{o} try" in text for o in others), text


def test_a_running_try_can_be_tailed_by_offset():
    dag = make_dag(
        schedule="0 0 1 1 *", tasks=({"task_id": "slow", "operator_name": "test_sleep", "params": {"seconds": 1.2}},)
    )
    run, _ = run_trigger(dag_id=dag.dag_id)
    executor = ThreadPoolTaskExecutor(workers=1)
    try:
        loop = make_loop(executor, FakeClock(run.logical_time))
        loop.tick()  # dispatches the one task; nothing runs beside it yet
        ti = TaskInstance.objects.get()
        deadline = time.monotonic() + 5
        text = ""
        while "sleeping" not in text and time.monotonic() < deadline:  # heartbeats flush every 0.2 s
            time.sleep(0.1)
            text, offset, finished = task_log_read(task_instance_id=ti.pk, try_number=1)
        assert "sleeping 1.2 s" in text and not finished
        tick_until_finished(loop, run)
    finally:
        executor.stop()
    rest, _end, finished = task_log_read(task_instance_id=ti.pk, try_number=1, offset=offset)
    assert finished and "sleeping" not in rest and "finished: success" in rest
    whole, _, _ = task_log_read(task_instance_id=ti.pk, try_number=1)
    assert whole == text + rest


def test_capture_survives_a_worker_that_replaces_the_root_handlers_and_level():
    import logging

    dag = make_dag(schedule="0 0 1 1 *", tasks=({"task_id": "a", "operator_name": "test_ok"},))
    run, _ = run_trigger(dag_id=dag.dag_id)
    loop = make_loop(InlineExecutor(), FakeClock(run.logical_time))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        settle(loop)  # installs the capture
        run2, _ = run_trigger(dag_id=dag.dag_id, logical_time=run.logical_time.replace(year=2030))
        root.handlers[:] = []  # what Celery's worker_hijack_root_logger does
        root.setLevel(logging.WARNING)
        settle(loop)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    ti = TaskInstance.objects.get(run=run2)
    text, _, _ = task_log_read(task_instance_id=ti.pk, try_number=1)
    assert f"hello from {dag.dag_id}.a try 1" in text
