"""DAG templates in the admin: a JSON editor that validates on save with the engine's
validation (every issue shown at the spec field, with its path) and draws the graph.

This REPLACES the DAG engine's basic DagTemplate admin registration (unregister, then
register ours): saving goes through `ingestion.services.templates.template_save`, which
versions the template and re-generates the DAGs made from it.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from ingestion.admin import DagTemplateAdmin as EngineDagTemplateAdmin
from ingestion.admin import DagTemplateForm as EngineDagTemplateForm
from ingestion.models import DagTemplate
from web.graph_layout import chart_graph


class DagTemplateForm(EngineDagTemplateForm):
    """The engine's form (engine validation at the spec field) with a JSON editor widget."""

    spec = forms.JSONField(
        widget=forms.Textarea(
            attrs={"rows": 28, "cols": 100, "class": "vLargeTextField dag-spec-editor", "spellcheck": "false"}
        ),
        help_text="The DAG template as JSON. Checked as you type; validated by the engine on save.",
    )


def spec_graph(spec) -> dict:
    tasks = []
    for task in (spec or {}).get("tasks", []) if isinstance(spec, dict) else []:
        if not isinstance(task, dict) or not isinstance(task.get("task_id"), str):
            continue
        upstream = set(task.get("upstream_task_ids") or [])
        tasks.append({"task_id": task["task_id"], "upstream": upstream, "operator": task.get("operator_name", "")})
    # Edges may be written on either end: fold downstream lists into upstream sets.
    by_id = {t["task_id"]: t for t in tasks}
    for task in (spec or {}).get("tasks", []) if isinstance(spec, dict) else []:
        if isinstance(task, dict):
            for down in task.get("downstream_task_ids") or []:
                if down in by_id:
                    by_id[down]["upstream"].add(task.get("task_id"))
    for t in tasks:
        t["upstream"] = sorted(u for u in t["upstream"] if isinstance(u, str))
    return chart_graph(tasks)


if admin.site.is_registered(DagTemplate):
    admin.site.unregister(DagTemplate)


@admin.register(DagTemplate)
class DagTemplateAdmin(EngineDagTemplateAdmin):
    """The engine's template admin (saving through `template_save`, version inline) plus the
    JSON editor, the graph and identity fields that cannot change once DAGs exist."""

    form = DagTemplateForm
    list_display = ["name", "platform", "version", "is_active", "dag_count", "updated_at"]
    readonly_fields = ["version", "graph", "created_at", "updated_at"]
    change_form_template = "admin/ingestion/dagtemplate/change_form.html"

    class Media:
        css = {"all": ["web/template_admin.css"]}
        js = ["web/vendor/echarts/echarts.min.js", "web/template_admin.js"]

    def get_readonly_fields(self, request, obj=None):
        # platform + name identify the template its DAGs were generated from.
        return [*self.readonly_fields, *(["platform", "name"] if obj else [])]

    @admin.display(description="DAGs")
    def dag_count(self, obj):
        return obj.dags.count()

    @admin.display(description="graph")
    def graph(self, obj):
        data = json.dumps(spec_graph(obj.spec if obj and obj.pk else {}))
        return format_html('<div id="template-graph" class="template-graph" data-graph="{}"></div>', data)
