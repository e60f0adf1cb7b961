"""DAG runs (list, detail with task instances) and task instances (list, detail, clear, retry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from web import engine, selectors
from web.apis.common import filtered, get_scoped, list_parameters, paginated, paginated_schema
from web.filters import DagRunFilter, TaskInstanceFilter


class TaskInstanceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run = serializers.IntegerField(source="run_id")
    task_id = serializers.CharField()
    operator = serializers.CharField()
    state = serializers.CharField()
    try_number = serializers.IntegerField()
    max_tries = serializers.IntegerField()
    queued_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    next_try_at = serializers.DateTimeField(allow_null=True)
    hostname = serializers.CharField()
    error = serializers.CharField()


class RunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dag = serializers.IntegerField(source="dag_id")
    logical_time = serializers.DateTimeField()
    run_type = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)


class RunDetailOutput(RunOutput):
    task_instances = TaskInstanceOutput(many=True)


class RunListApi(APIView):
    @extend_schema(
        operation_id="v1_runs_list", parameters=list_parameters(DagRunFilter), responses=paginated_schema(RunOutput)
    )
    def get(self, request):
        queryset = filtered(DagRunFilter, request, selectors.dag_runs_for_user(request.user)).order_by(
            "-logical_time", "-pk"
        )
        return paginated(self, request, queryset, RunOutput)


class RunDetailApi(APIView):
    @extend_schema(responses=RunDetailOutput)
    def get(self, request, pk: int):
        run = get_scoped(selectors.dag_runs_for_user(request.user).prefetch_related("task_instances"), pk)
        run.task_instances_sorted = run.task_instances.order_by("task_id")
        data = RunOutput(run).data
        data["task_instances"] = TaskInstanceOutput(run.task_instances_sorted, many=True).data
        return Response(data)


class TaskInstanceListApi(APIView):
    @extend_schema(
        operation_id="v1_task_instances_list",
        parameters=list_parameters(TaskInstanceFilter),
        responses=paginated_schema(TaskInstanceOutput),
    )
    def get(self, request):
        queryset = filtered(TaskInstanceFilter, request, selectors.task_instances_for_user(request.user)).order_by(
            "-pk"
        )
        return paginated(self, request, queryset, TaskInstanceOutput)


class TaskInstanceDetailApi(APIView):
    @extend_schema(responses=TaskInstanceOutput)
    def get(self, request, pk: int):
        return Response(TaskInstanceOutput(get_scoped(selectors.task_instances_for_user(request.user), pk)).data)


class _TaskInstanceActionApi(APIView):
    service: Callable[..., Any]  # each subclass names its engine action

    @extend_schema(request=None, responses=TaskInstanceOutput)
    def post(self, request, pk: int):
        ti = get_scoped(selectors.task_instances_for_user(request.user), pk)
        access.require_manage(request.user, ti, what="clear, retry or mark its tasks")
        try:
            type(self).service(task_instance=ti)
        except engine.EngineError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        ti.refresh_from_db()
        return Response(TaskInstanceOutput(ti).data)


class TaskInstanceClearApi(_TaskInstanceActionApi):
    service = staticmethod(engine.clear)


class TaskInstanceRetryApi(_TaskInstanceActionApi):
    service = staticmethod(engine.retry)


class TaskInstanceMarkSuccessApi(_TaskInstanceActionApi):
    """Mark the task succeeded by hand: its downstream tasks run (refused while it runs)."""

    service = staticmethod(engine.mark_success)


class TaskInstanceMarkFailedApi(_TaskInstanceActionApi):
    """Mark the task failed by hand: its downstream tasks not started become upstream_failed."""

    service = staticmethod(engine.mark_failed)
