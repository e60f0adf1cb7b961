"""Runs without the loop: created once per logical time with one task instance per task,
the run's state machine (run_evaluate), clearing a failed run (backfill resume)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingestion.models import DagRun, TaskInstance
from ingestion.services.runs import run_clear_failed, run_create, run_evaluate, runs_create_batch
from tests.ingestion.factories import dag as make_dag

pytestmark = pytest.mark.django_db
TI = TaskInstance.State
T = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)

DIAMOND = (
    {"task_id": "start", "is_dummy": True, "downstream_task_ids": ["left", "right"]},
    {
        "task_id": "left",
        "operator_name": "test_ok",
        "downstream_task_ids": ["join"],
        "retries": 2,
        "retry_delay": 5,
        "timeout": 30,
        "pool": "narrow",
    },
    {"task_id": "right", "operator_name": "test_ok", "downstream_task_ids": ["join"]},
    {"task_id": "join", "operator_name": "test_ok", "params": {"level": "ad"}},
)


def _set(run, **states):
    for task_id, state in states.items():
        TaskInstance.objects.filter(run=run, task_id=task_id).update(state=state)


def test_run_create_is_once_per_logical_time_with_a_task_instance_per_task():
    dag = make_dag(tasks=DIAMOND, pool="wide")
    run, created = run_create(dag=dag, logical_time=T)
    again, created_again = run_create(dag=dag, logical_time=T)
    assert created and not created_again and again.pk == run.pk
    assert DagRun.objects.count() == 1
    tis = {ti.task_id: ti for ti in run.task_instances.all()}
    assert set(tis) == {"start", "left", "right", "join"}
    left = tis["left"]
    assert (left.max_tries, left.retry_delay, left.timeout, left.pool) == (3, 5.0, 30.0, "narrow")
    assert tis["right"].pool == "wide" and tis["join"].params == {"level": "ad"}
    assert sorted(tis["join"].upstream_task_ids) == ["left", "right"]
    # started at once: the dummy succeeded, its downstream tasks are ready
    assert run.state == "running"
    assert {t: ti.state for t, ti in tis.items()} == {
        "start": "success",
        "left": "scheduled",
        "right": "scheduled",
        "join": "none",
    }


def test_fan_in_waits_for_every_upstream_task():
    run, _ = run_create(dag=make_dag(tasks=DIAMOND), logical_time=T)
    _set(run, left=TI.SUCCESS, right=TI.RUNNING)
    run_evaluate(run_id=run.pk)
    assert run.task_instances.get(task_id="join").state == TI.NONE
    _set(run, right=TI.SUCCESS)
    run_evaluate(run_id=run.pk)
    assert run.task_instances.get(task_id="join").state == TI.SCHEDULED
    _set(run, join=TI.SUCCESS)
    assert run_evaluate(run_id=run.pk).state == "success"


def test_one_failed_branch_fails_the_join_and_the_run_once_everything_ended():
    run, _ = run_create(dag=make_dag(tasks=DIAMOND), logical_time=T)
    _set(run, left=TI.FAILED, right=TI.RUNNING)
    run = run_evaluate(run_id=run.pk)
    assert run.task_instances.get(task_id="join").state == TI.UPSTREAM_FAILED
    assert run.state == "running"  # right is still running
    _set(run, right=TI.SUCCESS)
    assert run_evaluate(run_id=run.pk).state == "failed"


def test_a_second_run_waits_queued_under_max_active_runs():
    dag = make_dag(max_active_runs=1)
    first, _ = run_create(dag=dag, logical_time=T)
    second, _ = run_create(dag=dag, logical_time=T.replace(hour=8))
    assert (first.state, second.state) == ("running", "queued")
    assert not second.task_instances.exclude(state=TI.NONE).exists()


def test_batch_creation_matches_run_create_skips_existing_runs_and_respects_max_active_runs():
    diamond, single = make_dag(tasks=DIAMOND, pool="wide"), make_dag(max_active_runs=1)
    only_dummies = make_dag(
        tasks=({"task_id": "a", "is_dummy": True, "downstream_task_ids": ["b"]}, {"task_id": "b", "is_dummy": True})
    )
    existing, _ = run_create(dag=single, logical_time=T)
    existing_tis = existing.task_instances.count()
    later = T.replace(hour=8)
    items = [(diamond, T), (single, T), (single, later), (single, T.replace(hour=9)), (only_dummies, T), (diamond, T)]
    assert runs_create_batch(items) == 4  # the existing run and the duplicate pair are skipped
    assert runs_create_batch(items) == 0  # a second scheduler's batch creates nothing
    run = DagRun.objects.get(dag=diamond, logical_time=T)
    tis = {ti.task_id: ti for ti in run.task_instances.all()}
    assert run.state == "running"
    assert {t: ti.state for t, ti in tis.items()} == {
        "start": "success",
        "left": "scheduled",
        "right": "scheduled",
        "join": "none",
    }
    assert (tis["left"].max_tries, tis["left"].pool, tis["right"].pool) == (3, "narrow", "wide")
    # max_active_runs=1 and a run already running: the new ones wait queued, untouched
    states = dict(DagRun.objects.filter(dag=single).values_list("logical_time", "state"))
    assert states == {T: "running", later: "queued", T.replace(hour=9): "queued"}
    assert existing.task_instances.count() == existing_tis
    assert not TaskInstance.objects.filter(run__dag=single, run__state="queued").exclude(state=TI.NONE).exists()
    # a DAG of dummy tasks only is done at once
    assert DagRun.objects.get(dag=only_dummies).state == "success"


def test_clearing_a_failed_run_keeps_successes_and_gives_failures_fresh_tries():
    run, _ = run_create(dag=make_dag(tasks=DIAMOND), logical_time=T)
    TaskInstance.objects.filter(run=run, task_id="left").update(state=TI.FAILED, try_number=3, error="boom")
    _set(run, right=TI.SUCCESS)
    run = run_evaluate(run_id=run.pk)
    assert run.state == "failed"

    run = run_clear_failed(run_id=run.pk)
    tis = {ti.task_id: ti for ti in run.task_instances.all()}
    assert run.state == "queued"
    assert (tis["left"].state, tis["left"].max_tries, tis["left"].error) == (TI.NONE, 6, "")  # 3 more tries
    assert tis["right"].state == TI.SUCCESS and tis["join"].state == TI.NONE


def _states(run):
    return dict(run.task_instances.values_list("task_id", "state"))


def test_marking_a_failed_task_success_lets_its_downstream_run_and_the_run_finish():
    from ingestion.services.runs import task_instance_mark

    dag = make_dag(tasks=DIAMOND)
    run, _ = run_create(dag=dag, logical_time=T)
    _set(run, left="failed", right="success", join="none")
    run_evaluate(run_id=run.pk)  # join upstream_failed, the run failed
    run.refresh_from_db()
    assert run.state == DagRun.State.FAILED and _states(run)["join"] == TI.UPSTREAM_FAILED

    left = task_instance_mark(task_instance_id=run.task_instances.get(task_id="left").pk, state=TI.SUCCESS)

    run.refresh_from_db()
    assert left.state == TI.SUCCESS and left.ended_at is not None and left.error == ""
    assert _states(run) == {"start": TI.SUCCESS, "left": TI.SUCCESS, "right": TI.SUCCESS, "join": TI.SCHEDULED}
    assert run.state == DagRun.State.RUNNING and run.ended_at is None
    task_instance_mark(task_instance_id=run.task_instances.get(task_id="join").pk, state=TI.SUCCESS)
    run.refresh_from_db()
    assert run.state == DagRun.State.SUCCESS  # every task ended well: the run ends


def test_marking_a_task_failed_stops_its_downstream_and_fails_the_run():
    from ingestion.services.runs import task_instance_mark

    dag = make_dag(tasks=DIAMOND)
    run, _ = run_create(dag=dag, logical_time=T)
    _set(run, left="success", right="success", join="success")
    run_evaluate(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == DagRun.State.SUCCESS
    _set(run, join="none")
    DagRun.objects.filter(pk=run.pk).update(state=DagRun.State.RUNNING)

    task_instance_mark(task_instance_id=run.task_instances.get(task_id="right").pk, state=TI.FAILED)

    run.refresh_from_db()
    assert _states(run)["right"] == TI.FAILED and _states(run)["join"] == TI.UPSTREAM_FAILED
    assert run.state == DagRun.State.FAILED
    assert run.task_instances.get(task_id="right").error == "marked failed by hand"


def test_marking_is_refused_while_a_task_runs_and_for_other_states():
    from ingestion.services.runs import task_instance_mark

    run, _ = run_create(dag=make_dag(tasks=DIAMOND), logical_time=T)
    _set(run, left="running")
    left = run.task_instances.get(task_id="left").pk
    with pytest.raises(ValueError, match="left is running; wait for it"):
        task_instance_mark(task_instance_id=left, state=TI.SUCCESS)
    with pytest.raises(ValueError, match="marked success or failed, not 'skipped'"):
        task_instance_mark(task_instance_id=left, state="skipped")
    assert _states(run)["left"] == TI.RUNNING
