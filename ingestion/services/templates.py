"""DAG templates: validate and save (versioned), diff for `templates sync --dry-run`.

An invalid template is never saved. Saving a changed spec bumps the template's version
(the previous spec is kept as a DagTemplateVersion) and re-materializes every DAG made
from it in the same transaction, so DAGs never run a spec their template no longer has.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from django.db import transaction

from ingestion.dagspec import DagSpec, load_template, validate_template
from ingestion.models import Dag, DagTemplate, DagTemplateVersion
from ingestion.operators.registry import operator_names


def template_validate(*, spec) -> DagSpec:
    """Raise dagspec.TemplateInvalid (every issue with its field path) or return the parsed spec."""
    return validate_template(spec, operators=operator_names())


@dataclass
class TemplateSaveResult:
    template: DagTemplate
    created: bool
    changed: bool
    dags: list[Dag]


@transaction.atomic
def template_save(*, platform: str, name: str, spec, is_active: bool = True) -> TemplateSaveResult:
    from ingestion.services.manager import dags_rematerialize_for_template

    spec = load_template(spec)
    template_validate(spec=spec)
    template = DagTemplate.objects.select_for_update().filter(platform=platform, name=name).first()
    if template is None:
        template = DagTemplate.objects.create(platform=platform, name=name, spec=spec, version=1, is_active=is_active)
        DagTemplateVersion.objects.create(template=template, version=1, spec=spec)
        return TemplateSaveResult(template, created=True, changed=True, dags=[])
    spec_changed = _canonical(template.spec) != _canonical(spec)
    if not spec_changed and template.is_active == is_active:
        return TemplateSaveResult(template, created=False, changed=False, dags=[])
    if spec_changed:
        template.version += 1
        template.spec = spec
        DagTemplateVersion.objects.create(template=template, version=template.version, spec=spec)
    template.is_active = is_active
    template.save()
    return TemplateSaveResult(template, created=False, changed=True, dags=dags_rematerialize_for_template(template=template))


def template_diff(*, platform: str, name: str, spec) -> tuple[str, list[str]]:
    """(unified diff of the stored spec against `spec`, dag_ids that saving would change)."""
    spec = load_template(spec)
    template_validate(spec=spec)
    template = DagTemplate.objects.filter(platform=platform, name=name).first()
    old = _canonical(template.spec) if template else ""
    new = _canonical(spec)
    diff = "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"{platform}/{name} (stored{f' v{template.version}' if template else ': new'})",
        tofile=f"{platform}/{name} (file)"))
    affected = list(template.dags.values_list("dag_id", flat=True)) if template and old != new else []
    return diff, affected


def _canonical(spec) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
