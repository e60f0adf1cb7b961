"""Backfills: the runs of a DAG over a past window, executed in the foreground (`dags backfill`).

Resumable: a run that already succeeded is skipped, a failed one gets its failed tasks
cleared and runs again, a missing one is created (run_type backfill). Runs start in
logical-time order within the DAG's max_active_runs; tasks run in this process, one at a
time, and retries wait out their backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from ingestion.cron import CronSchedule
from ingestion.models import Dag, DagRun, TaskInstance
from ingestion.services.execution import retries_promote, task_instance_execute
from ingestion.services.runs import run_clear_failed, run_create, runs_start_queued
from ingestion.services.task_states import Event, task_instances_transition

TI = TaskInstance.State


def backfill_plan(*, dag: Dag, start: datetime, end: datetime) -> list[datetime]:
    return CronSchedule(dag.schedule, dag.timezone).fire_times(start, end)


def dag_backfill(
    *,
    dag_id: str,
    start: datetime,
    end: datetime,
    on_run_done: Callable[[DagRun], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    dag = Dag.objects.get(dag_id=dag_id)
    counts = {"skipped": 0, "created": 0, "cleared": 0, "success": 0, "failed": 0}
    runs: list[int] = []
    for logical_time in backfill_plan(dag=dag, start=start, end=end):
        run, created = run_create(dag=dag, logical_time=logical_time, run_type=DagRun.RunType.BACKFILL, start=False)
        if run.state == DagRun.State.SUCCESS:
            counts["skipped"] += 1
            if on_run_done:
                on_run_done(run)
            continue
        if run.state == DagRun.State.FAILED:
            run_clear_failed(run_id=run.pk)
            counts["cleared"] += 1
        counts["created"] += created
        runs.append(run.pk)
    pending = set(runs)
    while pending:
        runs_start_queued(dag_ids=[dag.pk])
        retries_promote()
        ready = list(
            TaskInstance.objects.filter(run_id__in=pending, state=TI.SCHEDULED)
            .order_by("run__logical_time", "id")
            .values_list("pk", "try_number")
        )
        for pk, try_number in ready:
            if task_instances_transition(Event.CLAIM, ids=pk, try_number=try_number, now=timezone.now()):
                task_instance_execute(task_instance_id=pk, try_number=try_number + 1)
        for run in DagRun.objects.filter(pk__in=pending, state__in=[DagRun.State.SUCCESS, DagRun.State.FAILED]):
            pending.discard(run.pk)
            counts[run.state] += 1
            if on_run_done:
                on_run_done(run)
        if pending and not ready:
            waits = [
                t
                for t in TaskInstance.objects.filter(run_id__in=pending, state=TI.UP_FOR_RETRY).values_list(
                    "next_try_at", flat=True
                )
                if t
            ]
            delay = min((w - timezone.now()).total_seconds() for w in waits) if waits else 0.5
            sleep(min(max(delay, 0.05), 5.0))
    return counts
