"""DAG templates: validate and save (versioned), diff for `templates sync --dry-run`,
load the connectors' default templates.

An invalid template is never saved. Saving a changed spec bumps the template's version
(the previous spec is kept as a DagTemplateVersion) and re-materializes every DAG made
from it in the same transaction, so DAGs never run a spec their template no longer has.
"""
from __future__ import annotations

import difflib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from ingestion.dagspec import DagSpec, SpecIssue, TemplateInvalid, load_template, validate_template
from ingestion.models import Dag, DagTemplate, DagTemplateVersion
from ingestion.operators.registry import operator_class, operator_names


def template_validate(*, spec, platform: str | None = None) -> DagSpec:
    """Raise dagspec.TemplateInvalid (every issue with its field path) or return the parsed spec.

    With a known `platform`, each task's `params` are also checked by its operator's
    `check_params(params, platform_spec)` where the operator has one (a level the platform
    lacks, an unknown param), so such a template is refused on save rather than failing at
    run time."""
    parsed = validate_template(spec, operators=operator_names())
    issues = _params_issues(parsed, platform) if platform else []
    if issues:
        raise TemplateInvalid(issues)
    return parsed


def _params_issues(parsed: DagSpec, platform: str) -> list[SpecIssue]:
    from connectors.registry import UnknownPlatform, platform_spec

    try:
        spec = platform_spec(platform)
    except UnknownPlatform:
        return []  # a template of no (or a plugin's unregistered) platform: nothing to check against
    issues = []
    for index, task in enumerate(parsed.tasks):
        check = getattr(operator_class(task.operator_name), "check_params", None)
        if task.is_dummy or check is None:
            continue
        try:
            check(dict(task.params or {}), spec)
        except ValueError as exc:
            issues.append(SpecIssue(f"tasks[{index}].params", str(exc), task.task_id))
    return issues


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
    template_validate(spec=spec, platform=platform)
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
    template_validate(spec=spec, platform=platform)
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


logger = logging.getLogger(__name__)


def default_templates_enabled() -> bool:
    """Whether migrate and account imports load the connectors' defaults on their own
    (setting INGESTION_DEFAULT_TEMPLATES, or env INGESTION_DEFAULT_TEMPLATES=0; the test
    runs turn it off so every suite starts from an empty template table)."""
    configured = getattr(settings, "INGESTION_DEFAULT_TEMPLATES", None)
    if configured is not None:
        return bool(configured)
    return os.environ.get("INGESTION_DEFAULT_TEMPLATES", "1").lower() not in ("0", "false", "no", "off")


def default_template_files(platform: str) -> list[Path]:
    from connectors.registry import PLATFORMS, platform_spec

    if platform not in PLATFORMS:
        return []
    folder = platform_spec(platform).templates_dir
    return sorted(Path(folder).glob("*.json")) if folder and Path(folder).is_dir() else []


def templates_load_defaults(
    *, platforms: list[str] | None = None, platform: str | None = None
) -> dict[str, list[str]]:
    """Create every default template (connectors/<platform>/templates/<name>.json) that does
    not exist yet; never changes an existing one, so edits made in the admin or through
    `templates sync` stay. (A deleted default comes back: deactivate it to retire it.)

    A default that does not validate (its operators' module is not loaded in this process)
    is skipped with a warning and loaded by a later call: account imports call this too.
    Returns {"created": [...], "existing": [...], "invalid": [...]} as "platform/name".
    """
    from connectors.registry import PLATFORMS

    result: dict[str, list[str]] = {"created": [], "existing": [], "invalid": []}
    if platform is not None:
        platforms = [*(platforms or []), platform]
    for platform in platforms or list(PLATFORMS):
        files = default_template_files(platform)
        if not files:
            continue
        existing = set(DagTemplate.objects.filter(platform=platform).values_list("name", flat=True))
        for path in files:
            key = f"{platform}/{path.stem}"
            if path.stem in existing:
                result["existing"].append(key)
                continue
            try:
                spec = json.loads(path.read_text())
                with transaction.atomic():
                    if DagTemplate.objects.filter(platform=platform, name=path.stem).exists():
                        result["existing"].append(key)
                        continue
                    template_save(platform=platform, name=path.stem, spec=spec)
            except (json.JSONDecodeError, TemplateInvalid) as exc:
                logger.warning("default DAG template %s (%s) not loaded: %s. It is loaded once it validates "
                               "(e.g. when its operators are registered; see INGESTION_OPERATOR_MODULES).",
                               key, path, exc)
                result["invalid"].append(key)
                continue
            except IntegrityError:  # created by a concurrent caller meanwhile
                result["existing"].append(key)
                continue
            result["created"].append(key)
    if result["created"]:
        logger.info("default DAG templates created: %s", ", ".join(result["created"]))
    return result
