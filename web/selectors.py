"""Reads the web pages and the API need, scoped to the organizations of a user.

Who sees what is accounts.access's one rule (members see their organizations' objects,
superusers every organization's); these reads call it for the engine's objects.
Objects of other organizations are absent from them, which the views turn into 404s.
"""

from __future__ import annotations

from django.db.models import Max, OuterRef, QuerySet, Subquery

from accounts import access
from ingestion.models import Dag, DagRun, DagTemplate, TaskInstance

# The accounts app's rule, re-exported: the pages and the API read accounts through here.
ad_accounts_for_user = access.ad_accounts_for_user


def dags_for_user(user) -> QuerySet:
    return access.visible(Dag, user)


def dag_runs_for_user(user) -> QuerySet:
    return access.visible(DagRun, user)


def task_instances_for_user(user) -> QuerySet:
    return access.visible(TaskInstance, user)


def dag_templates_for_user(user) -> QuerySet:
    """Templates are shared across organizations (they belong to a platform): every
    signed-in user reads them; writing them needs Django's model permissions
    (accounts.access.may_write_templates)."""
    if not getattr(user, "is_authenticated", False):
        return DagTemplate.objects.none()
    return DagTemplate.objects.all()


def dag_list_rows(user, *, search: str = "", platform: str = "", paused: bool | None = None) -> QuerySet:
    """DAGs for the list page and API, each with its last run's state and logical time."""
    latest = DagRun.objects.filter(dag=OuterRef("pk")).order_by("-logical_time")
    queryset = (
        dags_for_user(user)
        .select_related("ad_account")
        .annotate(
            last_run_state=Subquery(latest.values("state")[:1]),
            last_run_at=Subquery(latest.values("logical_time")[:1]),
        )
    )
    if search:
        queryset = queryset.filter(dag_id__icontains=search)
    if platform:
        queryset = queryset.filter(platform=platform)
    if paused is not None:
        queryset = queryset.filter(is_paused=paused)
    return queryset.order_by("dag_id")


def dag_task_states(dag) -> dict[str, str]:
    """task_id -> state of its latest task instance (the graph's colours)."""
    states: dict[str, str] = {}
    rows = (
        TaskInstance.objects.filter(run__dag=dag)
        .order_by("task_id", "-run__logical_time")
        .values_list("task_id", "state")
    )
    # Bounded: the latest runs are enough to find each task's newest state.
    for task_id, state in rows[:5000]:
        states.setdefault(task_id, state)
    return states


def dag_grid(dag, *, runs: int = 25) -> dict:
    """The grid of recent runs x tasks: {"runs": [...], "tasks": [...], "cells": {run_pk: {task_id: ti}}}."""
    recent = list(dag.runs.order_by("-logical_time")[:runs])
    cells: dict[int, dict[str, object]] = {run.pk: {} for run in recent}
    for ti in TaskInstance.objects.filter(run__in=recent).only(
        "pk", "run_id", "task_id", "state", "try_number", "started_at", "ended_at"
    ):
        cells[ti.run_id][ti.task_id] = ti
    return {"runs": recent, "cells": cells}


def task_instance_context(*, task_instance_id: int) -> dict | None:
    """What a failure notification says about a task instance (None when it is gone)."""
    ti = TaskInstance.objects.select_related("run__dag__ad_account__organization").filter(pk=task_instance_id).first()
    run = ti.run if ti is not None else None
    account = run.dag.ad_account if run is not None else None
    if ti is None or run is None or account is None:
        return None  # gone, or a DAG of no account: no organization to tell
    return {
        "organization": account.organization,
        "dag_id": run.dag.dag_id,
        "task_id": ti.task_id,
        "try_number": ti.try_number,
        "account": f"{account.platform} {account.name or account.external_id}",
        "logical_time": run.logical_time.isoformat() if run.logical_time else "",
        "error": ti.error[:500],
        "log_path": f"/task-instances/{ti.pk}/log/{ti.try_number}/",
    }


def last_successful_fetch(account_ids: list[int]) -> dict[int, object]:
    """account pk -> end time of its DAGs' latest successful run (one grouped query)."""
    if not account_ids:
        return {}
    rows = (
        DagRun.objects.filter(dag__ad_account__in=account_ids, state="success")
        .values("dag__ad_account")
        .annotate(last=Max("ended_at"))
    )
    return {row["dag__ad_account"]: row["last"] for row in rows}
