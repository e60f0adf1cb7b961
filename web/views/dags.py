"""DAG pages: the list, one DAG (graph, grid of recent runs, Gantt of a run) and its buttons.

The buttons post to these views, which call the engine's services through `web.engine`
and redirect back (post/redirect/get), so a reload never triggers twice.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import access
from ingestion.models import TaskInstance
from ingestion.scheduler.heartbeat import scheduler_status
from web import engine, selectors
from web.graph_layout import chart_graph


@login_required
def dag_list(request):
    search = request.GET.get("q", "").strip()
    platform = request.GET.get("platform", "").strip()
    paused = {"yes": True, "no": False}.get(request.GET.get("paused", ""))
    rows = selectors.dag_list_rows(request.user, search=search, platform=platform, paused=paused)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "web/dag_list.html",
        {
            "nav": "dags",
            "scheduler": scheduler_status(),
            "page": page,
            "q": search,
            "platform": platform,
            "paused": request.GET.get("paused", ""),
        },
    )


def dag_tasks(dag) -> list[dict]:
    """The DAG's tasks from its rendered spec, with the state of each task's latest instance."""
    states = selectors.dag_task_states(dag)
    return [
        {
            "task_id": t["task_id"],
            "upstream": list(t.get("upstream_task_ids") or []),
            "operator": t.get("operator_name", ""),
            "state": states.get(t["task_id"], "none"),
        }
        for t in (dag.spec or {}).get("tasks", [])
    ]


def gantt_rows(run) -> list[dict]:
    rows = []
    for ti in run.task_instances.order_by("started_at", "task_id"):
        rows.append(
            {
                "task_id": ti.task_id,
                "state": ti.state,
                "try_number": ti.try_number,
                "id": ti.pk,
                "start": ti.started_at.isoformat() if ti.started_at else None,
                "end": ti.ended_at.isoformat() if ti.ended_at else None,
            }
        )
    return rows


def _in_task_order(task_instances, task_ids: list[str]) -> list:
    """The run's task instances in the DAG's own task order (upstream first, as written)."""
    position = {task_id: i for i, task_id in enumerate(task_ids)}
    return sorted(task_instances, key=lambda ti: (position.get(ti.task_id, len(position)), ti.task_id))


@login_required
def dag_detail(request, pk: int):
    dag = get_object_or_404(selectors.dags_for_user(request.user).select_related("ad_account"), pk=pk)
    tasks = dag_tasks(dag)
    grid = selectors.dag_grid(dag)
    runs = grid["runs"]
    selected = None
    if request.GET.get("run"):
        selected = next((r for r in runs if str(r.pk) == request.GET["run"]), None) or get_object_or_404(
            selectors.dag_runs_for_user(request.user).filter(dag=dag), pk=request.GET["run"]
        )
    elif runs:
        selected = runs[0]
    task_ids = [t["task_id"] for t in tasks]
    grid_rows = [
        {"task_id": task_id, "cells": [grid["cells"][run.pk].get(task_id) for run in runs]} for task_id in task_ids
    ]
    return render(
        request,
        "web/dag_detail.html",
        {
            "scheduler": scheduler_status(),
            "nav": "dags",
            "dag": dag,
            "tasks": tasks,
            "graph": chart_graph(tasks),
            "runs": runs,
            "grid_rows": grid_rows,
            "selected_run": selected,
            "selected_tis": _in_task_order(selected.task_instances.all(), task_ids) if selected else [],
            "gantt": gantt_rows(selected) if selected else [],
            "today": timezone.localdate().isoformat(),
            "finished_states": sorted(TaskInstance.FINISHED),
            # The buttons are shown to those who may press them (the views check again).
            "can_manage": access.user_can_manage(request.user, dag),
        },
    )


def _dag_for_post(request, pk):
    dag = get_object_or_404(selectors.dags_for_user(request.user), pk=pk)
    access.require_manage(request.user, dag, what="pause, resume or trigger its DAGs")
    return dag


@login_required
@require_POST
def dag_trigger(request, pk: int):
    dag = _dag_for_post(request, pk)
    start, end = request.POST.get("start") or None, request.POST.get("end") or None
    try:
        run_ids = engine.trigger(dag=dag, start=start, end=end)
    except engine.EngineError as exc:
        messages.error(request, str(exc))
        return redirect("web:dag", pk=dag.pk)
    messages.success(request, f"Triggered {len(run_ids)} run(s) of {dag.dag_id}.")
    return redirect(f"/dags/{dag.pk}/?run={run_ids[0]}" if run_ids else f"/dags/{dag.pk}/")


@login_required
@require_POST
def dag_pause(request, pk: int):
    dag = _dag_for_post(request, pk)
    engine.pause(dag=dag)
    messages.success(request, f"Paused {dag.dag_id}.")
    return redirect("web:dag", pk=dag.pk)


@login_required
@require_POST
def dag_resume(request, pk: int):
    dag = _dag_for_post(request, pk)
    engine.resume(dag=dag)
    messages.success(request, f"Resumed {dag.dag_id}.")
    return redirect("web:dag", pk=dag.pk)


def _task_action(request, pk: int, action, verb: str):
    ti = get_object_or_404(
        selectors.task_instances_for_user(request.user).select_related("run__dag__ad_account__organization"), pk=pk
    )
    access.require_manage(request.user, ti, what="clear, retry or mark its tasks")
    try:
        action(task_instance=ti)
        messages.success(request, f"{verb} {ti.task_id}.")
    except engine.EngineError as exc:
        messages.error(request, str(exc))
    return redirect(f"/dags/{ti.run.dag_id}/?run={ti.run_id}")


@login_required
@require_POST
def task_clear(request, pk: int):
    return _task_action(request, pk, engine.clear, "Cleared")


@login_required
@require_POST
def task_retry(request, pk: int):
    return _task_action(request, pk, engine.retry, "Queued a retry of")


@login_required
@require_POST
def task_mark_success(request, pk: int):
    return _task_action(request, pk, engine.mark_success, "Marked success:")


@login_required
@require_POST
def task_mark_failed(request, pk: int):
    return _task_action(request, pk, engine.mark_failed, "Marked failed:")
