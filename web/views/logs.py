"""Task log pages: each try of a task instance, live tail while it runs, download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from web import engine, selectors


def _task_instance(request, pk: int):
    return get_object_or_404(selectors.task_instances_for_user(request.user).select_related("run__dag"), pk=pk)


@login_required
def task_log(request, pk: int, try_number: int | None = None):
    ti = _task_instance(request, pk)
    tries = list(range(1, max(ti.try_number, 1) + 1))
    try_number = try_number or max(ti.try_number, 1)
    if try_number not in tries:
        raise Http404("no such try")
    return render(
        request,
        "web/task_log.html",
        {
            "nav": "dags",
            "ti": ti,
            "run": ti.run,
            "dag": ti.run.dag,
            "tries": tries,
            "try_number": try_number,
        },
    )


@login_required
def task_log_download(request, pk: int, try_number: int):
    ti = _task_instance(request, pk)
    chunk = engine.read_log(task_instance=ti, try_number=try_number, offset=0)
    response = HttpResponse(chunk.text, content_type="text/plain; charset=utf-8")
    name = f"{ti.run.dag.dag_id}__{ti.task_id}__{ti.run.logical_time:%Y%m%dT%H%M%S}__try{try_number}.log"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
