"""The scheduler loop end to end on the inline executor and a fake clock: due DAGs become
runs, tasks run in dependency order, retries, timeouts, max_active_runs, catchup, pauses
and the change feed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ingestion.models import Dag, DagRun, TaskInstance
from ingestion.services.manager import dag_set_paused
from ingestion.services.runs import run_trigger
from tests.ingestion.conftest import InlineExecutor, RecordingExecutor
from tests.ingestion.factories import dag as make_dag
from tests.ingestion.scheduling import FakeClock, make_loop, settle

pytestmark = pytest.mark.django_db(transaction=True)
TI = TaskInstance.State

FAN = (
    {"task_id": "start", "is_dummy": True, "downstream_task_ids": ["a", "b"]},
    {"task_id": "a", "operator_name": "test_ok", "downstream_task_ids": ["join"]},
    {"task_id": "b", "operator_name": "test_ok", "downstream_task_ids": ["join"], "params": {"sleep": 0.05}},
    {"task_id": "join", "operator_name": "test_ok"},
)


def _states(run: DagRun) -> dict[str, str]:
    return dict(run.task_instances.values_list("task_id", "state"))


def test_a_due_dag_runs_its_tasks_in_dependency_order():
    dag = make_dag(tasks=FAN, schedule="0 * * * *")
    clock = FakeClock(dag.next_run_at - timedelta(seconds=1))
    executor = InlineExecutor()
    loop = make_loop(executor, clock)

    assert settle(loop)[0]["due"] == 0
    assert not DagRun.objects.exists()  # not due yet

    clock.advance(1.5)
    settle(loop)

    run = DagRun.objects.get()
    assert run.logical_time == dag.next_run_at and run.run_type == "scheduled"
    assert run.state == "success"
    assert _states(run) == {"start": "success", "a": "success", "b": "success", "join": "success"}
    tis = {ti.task_id: ti for ti in run.task_instances.all()}
    assert tis["join"].started_at >= max(tis["a"].ended_at, tis["b"].ended_at)
    # The dummy task is never dispatched; each real one exactly once, join last.
    task_of = {ti.pk: ti.task_id for ti in tis.values()}
    dispatched = [(task_of[pk], try_number) for pk, try_number in executor.submitted]
    assert sorted(dispatched[:2]) == [("a", 1), ("b", 1)] and dispatched[2:] == [("join", 1)]
    # The next tick is in the wheel and on the row.
    dag.refresh_from_db()
    assert dag.next_run_at == run.logical_time + timedelta(hours=1)
    assert dag.pk in loop.wheel


def test_retry_with_backoff_then_success():
    dag = make_dag(
        schedule="*/10 * * * * *",
        tasks=(
            {
                "task_id": "flaky",
                "operator_name": "test_flaky",
                "retries": 3,
                "retry_delay": 30,
                "params": {"fail_times": 2},
                "downstream_task_ids": ["after"],
            },
            {"task_id": "after", "operator_name": "test_ok"},
        ),
    )
    clock = FakeClock(dag.next_run_at)
    loop = make_loop(InlineExecutor(), clock)
    settle(loop)

    ti = TaskInstance.objects.get(task_id="flaky")
    assert ti.state == TI.UP_FOR_RETRY and ti.try_number == 1
    assert "TransientError" in ti.error and "backoff 30s" in ti.error
    wait = (ti.next_try_at - ti.ended_at).total_seconds()
    assert 15 <= wait <= 30  # equal jitter: 50-100% of retry_delay * 2**0

    clock.set(ti.next_try_at + timedelta(seconds=1))
    settle(loop)
    ti.refresh_from_db()
    assert ti.state == TI.UP_FOR_RETRY and ti.try_number == 2
    assert 30 <= (ti.next_try_at - ti.ended_at).total_seconds() <= 60  # doubled

    clock.set(ti.next_try_at + timedelta(seconds=1))
    settle(loop)
    ti.refresh_from_db()
    assert ti.state == TI.SUCCESS and ti.try_number == 3
    run = DagRun.objects.get(pk=ti.run_id)
    assert run.state == "success"
    assert _states(run)["after"] == "success"


def test_a_retry_is_not_dispatched_before_its_time():
    dag = make_dag(
        schedule="*/10 * * * * *",
        tasks=({"task_id": "flaky", "operator_name": "test_flaky", "retries": 1, "retry_delay": 60},),
    )
    clock = FakeClock(dag.next_run_at)
    loop = make_loop(InlineExecutor(), clock)
    settle(loop)
    ti = TaskInstance.objects.get()
    clock.set(ti.next_try_at - timedelta(seconds=2))
    settle(loop)
    ti.refresh_from_db()
    assert ti.state == TI.UP_FOR_RETRY and ti.try_number == 1


def test_retries_exhausted_fail_the_task_and_mark_downstream_upstream_failed():
    dag = make_dag(
        schedule="*/10 * * * * *",
        tasks=(
            {
                "task_id": "bad",
                "operator_name": "test_error",
                "retries": 1,
                "retry_delay": 0,
                "downstream_task_ids": ["mid"],
            },
            {"task_id": "mid", "operator_name": "test_ok", "downstream_task_ids": ["last"]},
            {"task_id": "last", "operator_name": "test_ok"},
            {"task_id": "independent", "operator_name": "test_ok"},
        ),
    )
    clock = FakeClock(dag.next_run_at)
    loop = make_loop(InlineExecutor(), clock)
    settle(loop)
    first = TaskInstance.objects.get(task_id="bad")
    if first.state == "up_for_retry":  # a retry_delay of 0 may retry within the first settle
        clock.set(max(clock(), first.next_try_at.timestamp() + 0.5))
        settle(loop)

    run = DagRun.objects.get()
    assert _states(run) == {
        "bad": "failed",
        "mid": "upstream_failed",
        "last": "upstream_failed",
        "independent": "success",
    }
    bad = run.task_instances.get(task_id="bad")
    assert bad.try_number == 2 and "no tries left (2 of 2)" in bad.error
    assert run.state == "failed" and run.ended_at is not None


def test_a_permanent_error_is_not_retried_and_a_rate_limit_waits_as_asked():
    dag = make_dag(
        schedule="*/10 * * * * *",
        tasks=(
            {"task_id": "permanent", "operator_name": "test_error", "retries": 3, "params": {"error": "permanent"}},
            {
                "task_id": "limited",
                "operator_name": "test_error",
                "retries": 3,
                "retry_delay": 1,
                "params": {"error": "rate_limited", "retry_after": 120},
            },
        ),
    )
    loop = make_loop(InlineExecutor(), FakeClock(dag.next_run_at))
    settle(loop)
    tis = {ti.task_id: ti for ti in TaskInstance.objects.all()}
    assert tis["permanent"].state == TI.FAILED and tis["permanent"].try_number == 1
    assert "PermanentError: not retried" in tis["permanent"].error
    assert tis["limited"].state == TI.UP_FOR_RETRY
    assert 120 <= (tis["limited"].next_try_at - tis["limited"].ended_at).total_seconds() <= 132


def test_a_task_over_its_timeout_fails():
    dag = make_dag(
        schedule="*/10 * * * * *",
        tasks=(
            {
                "task_id": "slow",
                "operator_name": "test_sleep",
                "timeout": 0.3,
                "params": {"seconds": 10},
                "downstream_task_ids": ["after"],
            },
            {"task_id": "after", "operator_name": "test_ok"},
        ),
    )
    loop = make_loop(InlineExecutor(), FakeClock(dag.next_run_at))
    started = datetime.now(UTC)
    settle(loop)
    assert (datetime.now(UTC) - started).total_seconds() < 5
    run = DagRun.objects.get()
    assert _states(run) == {"slow": "failed", "after": "upstream_failed"}
    assert "TaskTimeout: timed out after 0.3s" in run.task_instances.get(task_id="slow").error


def test_max_active_runs_and_catchup_replay_missed_ticks_one_run_at_a_time():
    dag = make_dag(schedule="0 * * * *", catchup=True, max_active_runs=1)
    first = dag.next_run_at - timedelta(hours=3)
    Dag.objects.filter(pk=dag.pk).update(next_run_at=first)
    executor = RecordingExecutor()
    clock = FakeClock(dag.next_run_at + timedelta(minutes=1))
    loop = make_loop(executor, clock)
    loop.tick()

    runs = list(DagRun.objects.order_by("logical_time"))
    assert [r.logical_time for r in runs] == [first + timedelta(hours=h) for h in range(4)]
    assert [r.state for r in runs] == ["running", "queued", "queued", "queued"]
    # Finish the dispatched tries by hand; each run starts only when the one before ended.
    from ingestion.services.execution import task_instance_execute

    for _ in range(20):
        pending, executor.submitted = executor.submitted, []
        for pk, try_number in pending:
            task_instance_execute(task_instance_id=pk, try_number=try_number)
        loop.tick()
        assert DagRun.objects.filter(state="running").count() <= 1
        if not executor.submitted and not DagRun.objects.exclude(state="success").exists():
            break
    runs = list(DagRun.objects.order_by("logical_time"))
    assert [r.state for r in runs] == ["success"] * 4
    for earlier, later in itertools.pairwise(runs):
        assert later.started_at >= earlier.ended_at


def test_without_catchup_only_the_latest_missed_tick_runs():
    dag = make_dag(schedule="0 * * * *", catchup=False)
    Dag.objects.filter(pk=dag.pk).update(next_run_at=dag.next_run_at - timedelta(hours=3))
    loop = make_loop(InlineExecutor(), FakeClock(dag.next_run_at + timedelta(minutes=1)))
    settle(loop)
    assert list(DagRun.objects.values_list("logical_time", "state")) == [(dag.next_run_at, "success")]
    dag.refresh_from_db()
    assert dag.next_run_at == DagRun.objects.get().logical_time + timedelta(hours=1)


def test_a_paused_dag_is_not_fired_and_the_change_feed_updates_the_wheel():
    paused = make_dag(schedule="*/10 * * * * *")
    dag_set_paused(dag_id=paused.dag_id, paused=True)
    clock = FakeClock(paused.next_run_at)
    loop = make_loop(InlineExecutor(), clock)
    loop.load()
    assert paused.pk not in loop.wheel

    # Added after the wheel was loaded: picked up by the next tick, no reload.
    added = make_dag(schedule="*/10 * * * * *")
    clock.set(max(clock(), added.next_run_at.timestamp()))
    settle(loop)
    assert list(DagRun.objects.values_list("dag__dag_id", flat=True)) == [added.dag_id]

    # Pausing it (another process) takes it out of the wheel at the next tick.
    dag_set_paused(dag_id=added.dag_id, paused=True)
    loop.tick()
    assert added.pk not in loop.wheel
    clock.advance(60)
    settle(loop)
    assert DagRun.objects.count() == 1

    # Resuming puts it back, at its next tick (the ones it slept through are skipped).
    resumed = dag_set_paused(dag_id=added.dag_id, paused=False)
    loop.tick()
    assert added.pk in loop.wheel
    clock.set(max(clock(), resumed.next_run_at.timestamp()))
    settle(loop)
    assert DagRun.objects.filter(dag=added).count() == 2


def test_a_deleted_dag_is_dropped_when_its_entry_fires():
    dag = make_dag(schedule="*/10 * * * * *")
    clock = FakeClock(dag.next_run_at - timedelta(seconds=5))
    loop = make_loop(InlineExecutor(), clock)
    loop.load()
    Dag.objects.filter(pk=dag.pk).delete()
    clock.advance(10)
    settle(loop)
    assert not DagRun.objects.exists()
    assert dag.pk not in loop.wheel


def test_triggering_twice_makes_one_run_and_the_scheduler_runs_it():
    dag = make_dag(schedule="0 0 1 1 *")
    when = timezone.now().replace(microsecond=0)
    run, created = run_trigger(dag_id=dag.dag_id, logical_time=when)
    again, created_again = run_trigger(dag_id=dag.dag_id, logical_time=when)
    assert created and not created_again and again.pk == run.pk
    assert run.run_type == "manual"
    settle(make_loop(InlineExecutor(), FakeClock(when)))
    run.refresh_from_db()
    assert run.state == "success" and DagRun.objects.count() == 1


def test_retry_a_failed_task_then_clear_a_succeeded_one():
    from ingestion.services.runs import task_instance_clear, task_instance_retry

    dag = make_dag(
        schedule="0 0 1 1 *",
        tasks=(
            {
                "task_id": "flaky",
                "operator_name": "test_flaky",
                "params": {"fail_times": 1},
                "downstream_task_ids": ["after"],
            },
            {"task_id": "after", "operator_name": "test_ok"},
        ),
    )
    run, _ = run_trigger(dag_id=dag.dag_id)
    loop = make_loop(InlineExecutor(), FakeClock(timezone.now()))
    settle(loop)
    run.refresh_from_db()
    assert run.state == "failed" and _states(run) == {"flaky": "failed", "after": "upstream_failed"}

    flaky = task_instance_retry(task_instance_id=run.task_instances.get(task_id="flaky").pk)
    assert flaky.state == TI.SCHEDULED and flaky.max_tries == 2
    settle(loop)
    run.refresh_from_db()
    assert run.state == "success" and _states(run) == {"flaky": "success", "after": "success"}
    assert run.task_instances.get(task_id="flaky").try_number == 2

    cleared = task_instance_clear(task_instance_id=run.task_instances.get(task_id="flaky").pk)
    assert cleared.state == TI.NONE
    settle(loop)
    run.refresh_from_db()
    assert run.state == "success"
    assert dict(run.task_instances.values_list("task_id", "try_number")) == {"flaky": 3, "after": 2}
