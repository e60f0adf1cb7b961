"""Reads of the ingestion app for views, the API and the CLI (no writes here)."""

from __future__ import annotations

from django.db.models import QuerySet

from ingestion.models import Dag, DagRun, TaskInstance, TaskLog


def dags_list(*, ad_account_id: int | None = None, platform: str | None = None) -> QuerySet[Dag]:
    qs = Dag.objects.select_related("template").order_by("dag_id")
    if ad_account_id is not None:
        qs = qs.filter(ad_account_id=ad_account_id)
    if platform:
        qs = qs.filter(platform=platform)
    return qs


def dag_runs_for_dag(*, dag_id: str) -> QuerySet[DagRun]:
    return DagRun.objects.filter(dag__dag_id=dag_id).order_by("-logical_time")


def dag_runs_for_account(*, ad_account_id: int) -> QuerySet[DagRun]:
    return DagRun.objects.filter(dag__ad_account_id=ad_account_id).select_related("dag").order_by("-logical_time")


def task_instances_for_run(*, run_id: int) -> QuerySet[TaskInstance]:
    return TaskInstance.objects.filter(run_id=run_id).order_by("id")


def task_log_read(*, task_instance_id: int, try_number: int, offset: int = 0) -> tuple[str, int, bool]:
    """Read a try's log from `offset` (a chunk number; 0 = the start).

    Returns (text, next_offset, finished): pass next_offset back to read only what came
    since (live tail); `finished` says the try ended and nothing more will come.
    """
    chunks = list(
        TaskLog.objects.filter(task_instance_id=task_instance_id, try_number=try_number, seq__gte=offset)
        .order_by("seq")
        .values_list("seq", "text", "is_final")
    )
    text = "".join(c[1] for c in chunks)
    next_offset = chunks[-1][0] + 1 if chunks else offset
    finished = any(c[2] for c in chunks) or (
        offset > 0
        and TaskLog.objects.filter(
            task_instance_id=task_instance_id, try_number=try_number, is_final=True, seq__lt=offset
        ).exists()
    )
    return text, next_offset, finished


def dag_graph_text(*, dag: Dag) -> str:
    """Tasks and edges as text, for `dags show`."""
    from ingestion.dagspec import topological_order

    tasks = {t["task_id"]: t for t in dag.spec["tasks"]}
    order = topological_order({tid: t["upstream_task_ids"] for tid, t in tasks.items()})
    lines = [
        f"DAG {dag.dag_id}  schedule {dag.schedule!r} ({dag.timezone})  pool {dag.pool}  "
        f"max_active_runs {dag.max_active_runs}  catchup {dag.catchup}  "
        f"{'paused' if not dag.is_active else 'active'}  "
        f"next run {dag.next_run_at.isoformat() if dag.next_run_at else '-'}",
        "tasks (in dependency order):",
    ]
    for tid in order:
        t = tasks[tid]
        kind = "dummy" if t["is_dummy"] else t["operator_name"]
        extra = f" retries={t['retries']}" + (f" timeout={t['timeout']:g}s" if t.get("timeout") else "")
        lines.append(f"  {tid}  [{kind}]{extra}")
    lines.append("edges:")
    edges = [f"  {tid} -> {d}" for tid in order for d in tasks[tid]["downstream_task_ids"]]
    lines.extend(edges or ["  (none)"])
    return "\n".join(lines)
