"""DAG templates: CRUD. Validation is the engine's (`template_validate`); its issues come
back as 400 errors keyed by the field path inside `spec` (e.g. `tasks[2].downstream_task_ids[0]`).

Templates belong to a platform and are shared by every organization, so reading is open to
every signed-in user and writing needs Django's model permissions on DagTemplate, as in
the admin (accounts.access.may_write_templates).
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from web import selectors
from web.apis.common import filtered, get_scoped, list_parameters, paginated, paginated_schema
from web.filters import DagTemplateFilter


class TemplatePermission(BasePermission):
    """Signed-in users read; POST needs ingestion.add_dagtemplate, PUT/PATCH
    change_dagtemplate, DELETE delete_dagtemplate (the admin's permissions)."""

    ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        action = self.ACTIONS.get(request.method)
        self.message = f"{action or 'changing'} DAG templates needs the permission ingestion.{action}_dagtemplate"
        return action is not None and access.may_write_templates(request.user, action)


def spec_errors(exc) -> dict:
    """TemplateInvalid -> {"spec": {"<path>": ["<message>", ...]}} (every issue, at its field)."""
    by_path: dict[str, list[str]] = {}
    for issue in exc.issues:
        message = f"{issue.message} (task {issue.task_id!r})" if issue.task_id else issue.message
        by_path.setdefault(issue.path, []).append(message)
    return {"spec": by_path}


def save_template(*, platform: str, name: str, spec, is_active: bool):
    from ingestion.dagspec import TemplateInvalid
    from ingestion.services.templates import template_save

    try:
        return template_save(platform=platform, name=name, spec=spec, is_active=is_active)
    except TemplateInvalid as exc:
        raise ValidationError(spec_errors(exc)) from None


class TemplateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    platform = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    is_active = serializers.BooleanField()
    spec = serializers.JSONField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TemplateInput(serializers.Serializer):
    platform = serializers.RegexField(
        r"^[a-z0-9_]{0,50}$",
        allow_blank=True,
        default="",
        help_text="platform slug; empty for a DAG without an account",
    )
    name = serializers.RegexField(r"^[\w.\- ]{1,200}$")
    spec = serializers.JSONField(help_text="the DAG template (dag_id, schedule_interval, tasks, ...)")
    is_active = serializers.BooleanField(default=True)


# What a template looks like (Swagger UI shows it; schemathesis sends it as a valid case).
EXAMPLE_SPEC = {
    "dag_id": "${platform}_${account_id}_campaign_hourly",
    "schedule_interval": "15 * * * *",
    "catchup": False,
    "max_active_runs": 1,
    "tasks": [
        {
            "task_id": "start",
            "is_dummy": True,
            "operator_name": "DummyOperator",
            "downstream_task_ids": ["campaign_meta", "campaign_hourly_insights"],
        },
        {
            "task_id": "campaign_meta",
            "operator_name": "ad_meta_operator",
            "params": {"levels": ["campaign"]},
            "retries": 3,
            "retry_delay": 30,
        },
        {
            "task_id": "campaign_hourly_insights",
            "operator_name": "insight_operator",
            "params": {"granularity": "hour", "level": "campaign"},
            "retries": 5,
            "retry_delay": 60,
            "timeout": 1800,
        },
    ],
}
CREATE_EXAMPLE = OpenApiExample(
    "campaign-level hourly numbers",
    request_only=True,
    value={"platform": "sandbox", "name": "campaign_hourly", "spec": EXAMPLE_SPEC, "is_active": True},
)
UPDATE_EXAMPLE = OpenApiExample("pause a template's DAGs", request_only=True, value={"is_active": False})


class TemplateListApi(APIView):
    permission_classes = [TemplatePermission]

    @extend_schema(
        operation_id="v1_dag_templates_list",
        parameters=list_parameters(DagTemplateFilter),
        responses=paginated_schema(TemplateOutput),
    )
    def get(self, request):
        queryset = filtered(DagTemplateFilter, request, selectors.dag_templates_for_user(request.user))
        return paginated(self, request, queryset.order_by("platform", "name"), TemplateOutput)

    @extend_schema(request=TemplateInput, responses={201: TemplateOutput}, examples=[CREATE_EXAMPLE])
    def post(self, request):
        data = TemplateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if (
            selectors.dag_templates_for_user(request.user)
            .filter(platform=values["platform"], name=values["name"])
            .exists()
        ):
            raise ValidationError(
                {"name": [f"a template named {values['name']!r} exists for platform {values['platform']!r}"]}
            )
        result = save_template(**values)
        return Response(TemplateOutput(result.template).data, status=status.HTTP_201_CREATED)


class TemplateDetailApi(APIView):
    permission_classes = [TemplatePermission]

    class UpdateInput(serializers.Serializer):
        spec = serializers.JSONField(required=False)
        is_active = serializers.BooleanField(required=False)

        class Meta:
            ref_name = "DagTemplateUpdateInput"

    @extend_schema(responses=TemplateOutput)
    def get(self, request, pk: int):
        return Response(TemplateOutput(get_scoped(selectors.dag_templates_for_user(request.user), pk)).data)

    def _update(self, request, pk: int, *, partial: bool):
        template = get_scoped(selectors.dag_templates_for_user(request.user), pk)
        data = self.UpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not partial and "spec" not in values:
            raise ValidationError({"spec": ["This field is required."]})
        # Platform and name identify a template (DAGs are generated from it): renaming is a new template.
        result = save_template(
            platform=template.platform,
            name=template.name,
            spec=values.get("spec", template.spec),
            is_active=values.get("is_active", template.is_active),
        )
        return Response(TemplateOutput(result.template).data)

    @extend_schema(
        request=UpdateInput,
        responses=TemplateOutput,
        examples=[
            OpenApiExample(
                "a new version of the spec", request_only=True, value={"spec": EXAMPLE_SPEC, "is_active": True}
            )
        ],
    )
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=UpdateInput, responses=TemplateOutput, examples=[UPDATE_EXAMPLE])
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    @extend_schema(responses={204: None})
    @transaction.atomic
    def delete(self, request, pk: int):
        template = get_scoped(selectors.dag_templates_for_user(request.user), pk)
        if template.dags.exists():
            raise ValidationError(
                {
                    "non_field_errors": [
                        f"template {template} still has {template.dags.count()} DAG(s); deactivate it "
                        "(is_active=false) instead"
                    ]
                }
            )
        template.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
