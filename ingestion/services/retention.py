"""Retention of run history: finished runs older than INGESTION_RUN_RETENTION_DAYS (default
30; 0 keeps everything) are deleted with their task instances and logs, like Airflow's
`db clean`.

Why: 100,000 hourly DAGs make 2.4 million runs and ten million task instances a day. Left
alone, the metadata tables grow without end, backups and migrations slow down, and so do
the queries the scheduler and the DAG pages make. Report data is not touched: it lives in
ClickHouse.

What is kept whatever its age: runs not finished (queued, running), and each DAG's latest
run, which the DAG list shows as its last state. Deletion goes in batches (children first,
one short transaction per batch), so a large first clean-up never holds long locks that
would stall the scheduler.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ingestion.models import DagRun, TaskInstance, TaskLog

BATCH = 1000
FINISHED = (DagRun.State.SUCCESS, DagRun.State.FAILED)


def retention_cutoff(*, now: datetime | None = None, days: float | None = None) -> datetime | None:
    """The logical time before which finished runs go; None when retention is off."""
    days = getattr(settings, "INGESTION_RUN_RETENTION_DAYS", 30) if days is None else days
    if not days or days <= 0:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def runs_purge(*, older_than: datetime, dry_run: bool = False, batch: int = BATCH) -> dict[str, int]:
    """Delete finished runs whose logical time is before `older_than` (each DAG's latest
    run kept), with their task instances and log chunks. Returns the counts deleted (or,
    with dry_run, that would be)."""
    counts = {"runs": 0, "task_instances": 0, "log_chunks": 0}
    after = 0  # primary-key cursor: kept runs are never looked at twice
    while True:
        candidates = list(
            DagRun.objects.filter(pk__gt=after, state__in=FINISHED, logical_time__lt=older_than)
            .order_by("pk")
            .values_list("pk", "dag_id", "logical_time")[:batch]
        )
        if not candidates:
            return counts
        after = candidates[-1][0]
        latest = dict(
            DagRun.objects.filter(dag_id__in={dag_id for _, dag_id, _ in candidates})
            .values_list("dag_id")
            .annotate(latest=Max("logical_time"))
            .order_by()
        )
        ids = [pk for pk, dag_id, logical_time in candidates if logical_time != latest.get(dag_id)]
        if not ids:
            continue
        tis = TaskInstance.objects.filter(run_id__in=ids)
        logs = TaskLog.objects.filter(task_instance__run_id__in=ids)
        if dry_run:
            counts["runs"] += len(ids)
            counts["task_instances"] += tis.count()
            counts["log_chunks"] += logs.count()
            continue
        with transaction.atomic():
            # Children first: each step is then one DELETE with no cascade left to collect.
            counts["log_chunks"] += logs.delete()[0]
            counts["task_instances"] += tis.delete()[0]
            counts["runs"] += DagRun.objects.filter(pk__in=ids).delete()[0]
