"""`POST /api/v1/fetch/`: fetch an ad account's data now; answers the run id(s) to poll.

A real-time fetch is a manual run of the account's DAG(s): the same operators, retries,
pools and logs as a scheduled run, so it cannot overload a platform beyond the pools'
caps and its progress is visible in the DAG views. `level` and `granularity` pick the
DAGs whose insight tasks fetch them. A date range names the days of DATA wanted: each
data day D gets one run (logical day D + 1) whose report tasks fetch exactly D, without
the look-back a scheduled run adds, so a range asks the platform for each day once
(ingestion.services.fetch explains the choice). Owners and admins only; rate-limited
per organization (settings.FETCH_RATE, web.throttles).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from connectors.base import GRANULARITIES, LEVELS
from web import engine, selectors
from web.apis.common import get_scoped
from web.throttles import fetch_throttle


def _task_params(task: dict, platform: str) -> dict:
    """The params the task runs with: its operator's defaults filled in (the insight task
    of a template that names no granularity fetches days), as the operator resolves them."""
    from connectors.registry import UnknownPlatform, platform_spec
    from reports.operators import PARAMS, ParamsInvalid, operator_params

    params = task.get("params") or {}
    if task.get("operator_name") not in PARAMS:  # a plugin's: its params as written
        return params
    try:
        return operator_params(task["operator_name"], params, platform_spec(platform))
    except (UnknownPlatform, ParamsInvalid):
        return params


def _dag_fetches(dag, *, level: str | None, granularity: str | None) -> bool:
    """Does one of the DAG's tasks fetch this level/granularity? (no filter: any DAG)"""
    if not level and not granularity:
        return True
    for task in (dag.spec or {}).get("tasks", []):
        if task.get("is_dummy"):
            continue  # fetches nothing
        params = _task_params(task, dag.platform)
        if granularity and params.get("granularity") != granularity:
            continue
        # A task naming no level (account metadata) fetches the account level.
        levels = params.get("levels") or [params.get("level", "account")]
        if level and level not in levels:
            continue
        return True
    return False


class FetchApi(APIView):
    class InputSerializer(serializers.Serializer):
        ad_account = serializers.IntegerField(min_value=1, max_value=2**62)
        level = serializers.ChoiceField(choices=LEVELS, required=False)
        granularity = serializers.ChoiceField(choices=GRANULARITIES, required=False)
        start = serializers.DateField(required=False, help_text="first local day of data wanted")
        end = serializers.DateField(required=False, help_text="last local day of data wanted (inclusive)")

        def validate(self, attrs):
            if attrs.get("start") and attrs.get("end") and attrs["end"] < attrs["start"]:
                raise ValidationError({"end": [f"the range ends ({attrs['end']}) before it starts ({attrs['start']})"]})
            return attrs

        class Meta:
            ref_name = "FetchInput"

    class OutputSerializer(serializers.Serializer):
        run_id = serializers.IntegerField(help_text="the first run; poll GET /api/v1/runs/{run_id}/")
        run_ids = serializers.ListField(child=serializers.IntegerField())
        dags = serializers.ListField(child=serializers.CharField())

        class Meta:
            ref_name = "FetchOutput"

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        account = get_scoped(selectors.ad_accounts_for_user(request.user), values["ad_account"])
        access.require_manage(request.user, account, what="fetch its ad accounts' data")
        dags = [
            d
            for d in selectors.dags_for_user(request.user).filter(ad_account=account).order_by("dag_id")
            if _dag_fetches(d, level=values.get("level"), granularity=values.get("granularity"))
        ]
        if not dags:
            raise ValidationError(
                {
                    "ad_account": [
                        f"account {account.pk} has no DAG that fetches "
                        f"{values.get('granularity') or 'any granularity'} reports at {values.get('level') or 'any'} "
                        "level"
                    ]
                }
            )
        fetch_throttle(self, request, organization_id=account.organization_id)
        run_ids: list[int] = []
        try:
            for dag in dags:
                run_ids += engine.fetch(dag=dag, start=values.get("start"), end=values.get("end"))
        except engine.EngineError as exc:
            field, _, message = str(exc).partition(": ")
            raise ValidationError({field if message else "non_field_errors": [message or str(exc)]}) from None
        return Response(
            self.OutputSerializer({"run_id": run_ids[0], "run_ids": run_ids, "dags": [d.dag_id for d in dags]}).data,
            status=status.HTTP_201_CREATED,
        )
