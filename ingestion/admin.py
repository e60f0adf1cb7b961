"""Admin of the DAG engine: templates (validated and saved through the engine's service,
which versions them and re-generates their DAGs), DAGs, runs, task instances, pools.

The web app replaces the template admin with a subclass that adds a JSON editor and the
graph (web.admin); the validation and saving path stays here. DAGs, runs and task
instances belong to an organization: their pages follow the access rule
(accounts.admin_scoping); scheduler heartbeats describe the whole installation and are
for superusers.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from accounts.admin_scoping import OrganizationScopedAdmin
from ingestion.dagspec import TemplateInvalid
from ingestion.models import Dag, DagRun, DagTemplate, DagTemplateVersion, Pool, SchedulerHeartbeat, TaskInstance
from ingestion.services.templates import template_save, template_validate


class DagTemplateForm(forms.ModelForm):
    class Meta:
        model = DagTemplate
        fields = ["platform", "name", "description", "spec", "is_active"]

    def clean(self):
        cleaned = super().clean() or {}
        spec = cleaned.get("spec")
        if spec is None:
            return cleaned
        # The platform field is read-only once the template exists (web's admin): take the instance's.
        platform = cleaned.get("platform") or getattr(self.instance, "platform", "") or ""
        name = cleaned.get("name") or getattr(self.instance, "name", "") or None
        try:
            template_validate(spec=spec, platform=platform, name=name)
        except TemplateInvalid as exc:
            # Every problem with its path in the spec, not just the first one.
            self.add_error("spec", forms.ValidationError([str(issue) for issue in exc.issues]))
        return cleaned


class DagTemplateVersionInline(admin.TabularInline):
    model = DagTemplateVersion
    extra = 0
    can_delete = False
    fields = ["version", "created_at"]
    readonly_fields = ["version", "created_at"]
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DagTemplate)
class DagTemplateAdmin(admin.ModelAdmin):
    form = DagTemplateForm
    list_display = ["name", "platform", "version", "is_active", "updated_at"]
    list_filter = ["platform", "is_active"]
    search_fields = ["name", "platform"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [DagTemplateVersionInline]

    def save_model(self, request, obj, form, change):
        # Through the service: a changed spec becomes a new version and its DAGs follow.
        data = form.cleaned_data
        platform = obj.platform if change else data["platform"]
        name = obj.name if change else data["name"]
        result = template_save(platform=platform, name=name, spec=data["spec"], is_active=data.get("is_active", True))
        if "description" in data and result.template.description != data["description"]:
            result.template.description = data["description"]
            result.template.save(update_fields=["description", "updated_at"])
        obj.pk = result.template.pk
        obj.refresh_from_db()
        if result.dags:
            created = len(result.created_dags)
            self.message_user(
                request,
                f"{created} DAG(s) created and {len(result.dags) - created} re-generated from version {obj.version}.",
                messages.INFO,
            )


@admin.register(Dag)
class DagAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = ["dag_id", "platform", "schedule", "timezone", "is_paused", "account_paused", "next_run_at"]
    list_filter = ["platform", "is_paused", "account_paused"]
    search_fields = ["dag_id"]
    # Generated from a template for an account: neither can be re-pointed here (nor into
    # another organization).
    readonly_fields = ["ad_account", "template", "spec", "template_version", "next_run_at", "created_at", "updated_at"]


@admin.register(DagRun)
class DagRunAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = ["dag", "logical_time", "run_type", "state", "started_at", "ended_at"]
    list_filter = ["state", "run_type"]
    search_fields = ["dag__dag_id"]
    readonly_fields = ["dag"]  # a run stays in its DAG (and its organization)
    date_hierarchy = "logical_time"


@admin.register(TaskInstance)
class TaskInstanceAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = ["task_id", "run", "operator", "state", "try_number", "max_tries", "started_at", "ended_at"]
    list_filter = ["state", "pool"]
    search_fields = ["task_id", "run__dag__dag_id"]
    readonly_fields = ["run"]  # a task instance stays in its run


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    list_display = ["name", "slots", "description"]


@admin.register(SchedulerHeartbeat)
class SchedulerHeartbeatAdmin(admin.ModelAdmin):
    """Read only: the schedulers write these rows themselves. Superusers only: a
    scheduler serves every organization (its host and DAG count are the installation's)."""

    list_display = ["name", "hostname", "pid", "started_at", "heartbeat_at", "dags"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
