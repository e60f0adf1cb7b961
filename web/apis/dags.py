"""DAGs: list, detail (tasks with their latest state), pause, resume, trigger."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from web import engine, selectors
from web.apis.common import filtered, get_scoped, list_parameters, paginated, paginated_schema
from web.filters import DagFilter


class DagOutput(serializers.Serializer):
    id = serializers.IntegerField()
    dag_id = serializers.CharField()
    platform = serializers.CharField()
    ad_account = serializers.IntegerField(source="ad_account_id", allow_null=True)
    template = serializers.IntegerField(source="template_id", allow_null=True)
    template_version = serializers.IntegerField()
    schedule = serializers.CharField()
    timezone = serializers.CharField()
    is_paused = serializers.BooleanField()
    account_paused = serializers.BooleanField()
    next_run_at = serializers.DateTimeField(allow_null=True)
    last_run_state = serializers.CharField(allow_null=True, required=False)
    last_run_at = serializers.DateTimeField(allow_null=True, required=False)


class TaskOutput(serializers.Serializer):
    task_id = serializers.CharField()
    operator = serializers.CharField()
    upstream = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField()


class DagDetailOutput(DagOutput):
    max_active_runs = serializers.IntegerField()
    catchup = serializers.BooleanField()
    pool = serializers.CharField()
    tasks = TaskOutput(many=True)


class DagListApi(APIView):
    @extend_schema(
        operation_id="v1_dags_list", parameters=list_parameters(DagFilter), responses=paginated_schema(DagOutput)
    )
    def get(self, request):
        queryset = filtered(DagFilter, request, selectors.dag_list_rows(request.user))
        return paginated(self, request, queryset, DagOutput)


def _managed_dag(request, pk: int):
    """The DAG (404 when not the user's to see), if the user manages it (403 otherwise)."""
    dag = get_scoped(selectors.dags_for_user(request.user), pk)
    access.require_manage(request.user, dag, what="pause, resume or trigger its DAGs")
    return dag


def _detail(request, dag) -> dict:
    from web.views.dags import dag_tasks

    # Dag.tasks is the spec's task list; the output's tasks also carry each latest state.
    data = DagOutput(dag).data
    data.update(
        max_active_runs=dag.max_active_runs,
        catchup=dag.catchup,
        pool=dag.pool,
        tasks=TaskOutput(dag_tasks(dag), many=True).data,
    )
    return data


class DagDetailApi(APIView):
    @extend_schema(responses=DagDetailOutput)
    def get(self, request, pk: int):
        dag = get_scoped(selectors.dag_list_rows(request.user), pk)
        return Response(_detail(request, dag))


class DagPauseApi(APIView):
    @extend_schema(request=None, responses=DagDetailOutput)
    def post(self, request, pk: int):
        dag = _managed_dag(request, pk)
        engine.pause(dag=dag)
        return Response(_detail(request, get_scoped(selectors.dag_list_rows(request.user), pk)))


class DagResumeApi(APIView):
    @extend_schema(request=None, responses=DagDetailOutput)
    def post(self, request, pk: int):
        dag = _managed_dag(request, pk)
        engine.resume(dag=dag)
        return Response(_detail(request, get_scoped(selectors.dag_list_rows(request.user), pk)))


class DagTriggerApi(APIView):
    class InputSerializer(serializers.Serializer):
        start = serializers.DateField(required=False, allow_null=True, help_text="first local day of a manual backfill")
        end = serializers.DateField(required=False, allow_null=True, help_text="last local day (inclusive)")

        class Meta:
            ref_name = "DagTriggerInput"

    class OutputSerializer(serializers.Serializer):
        run_ids = serializers.ListField(child=serializers.IntegerField())

        class Meta:
            ref_name = "DagTriggerOutput"

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, pk: int):
        dag = _managed_dag(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run_ids = engine.trigger(
                dag=dag, start=data.validated_data.get("start"), end=data.validated_data.get("end")
            )
        except engine.EngineError as exc:
            field, _, message = str(exc).partition(": ")
            raise ValidationError({field if message else "non_field_errors": [message or str(exc)]}) from None
        return Response(self.OutputSerializer({"run_ids": run_ids}).data, status=status.HTTP_201_CREATED)
