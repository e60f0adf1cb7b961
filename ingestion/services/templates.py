"""DAG templates: validate and save (versioned), diff for `templates sync --dry-run`,
load the connectors' default templates.

An invalid template is never saved. Saving a changed spec bumps the template's version
(the previous spec is kept as a DagTemplateVersion) and re-materializes every DAG made
from it in the same transaction, so DAGs never run a spec their template no longer has;
every save also creates the DAGs that accounts of the platform lack (a new template reaches
accounts imported before it). Two templates of a platform may not share a dag_id pattern.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from ingestion.dagspec import DagSpec, SpecIssue, TemplateInvalid, dag_id_pattern_key, load_template, validate_template
from ingestion.models import Dag, DagTemplate, DagTemplateVersion
from ingestion.operators.registry import operator_class, operator_names


def template_validate(
    *, spec, platform: str | None = None, name: str | None = None, check_dags: bool = True
) -> DagSpec:
    """Raise dagspec.TemplateInvalid (every issue with its field path) or return the parsed spec.

    With a known `platform`, each task's `params` are also checked by its operator's
    `check_params(params, platform_spec)` where the operator has one (a level the platform
    lacks, an unknown param), so such a template is refused on save rather than failing at
    run time. The dag_id pattern must differ from every other template's of the platform
    (`name` is the template being saved), and with `check_dags` the dag_ids it renders for
    the platform's accounts must not be taken by DAGs of other templates (of any platform:
    `${account_id}` of two platforms can be equal)."""
    try:
        parsed = validate_template(spec, operators=operator_names())
    except TemplateInvalid as exc:
        raise TemplateInvalid([_with_plugin_error(issue) for issue in exc.issues]) from None
    issues = _params_issues(parsed, platform) if platform else []
    if platform is not None:
        issues += _dag_id_pattern_issues(parsed, platform, name)
    if issues:
        raise TemplateInvalid(issues)
    if check_dags and platform is not None:
        from ingestion.services.manager import dags_plan_for_template

        dags_plan_for_template(template=_unsaved(platform=platform, name=name, spec=spec, is_active=True))
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


def _with_plugin_error(issue: SpecIssue) -> SpecIssue:
    # "unknown operator 'x'" alone sends people looking for a typo when the plugin that
    # provides x is installed but broken.
    from ingestion.operators.registry import plugin_errors

    for name, reason in plugin_errors.items():
        if issue.message.startswith(f"unknown operator {name!r}"):
            return SpecIssue(issue.path, f"{issue.message} ({reason})", issue.task_id)
    return issue


def _dag_id_pattern_issues(parsed: DagSpec, platform: str, name: str | None) -> list[SpecIssue]:
    # Both templates would make the same dag_id for every account of the platform; the
    # second one's DAGs could never exist (Dag.dag_id is unique).
    key = dag_id_pattern_key(parsed.dag_id)
    others = DagTemplate.objects.filter(platform=platform).order_by("name").only("name", "spec")
    if name is not None:
        others = others.exclude(name=name)
    for other in others:
        pattern = other.spec.get("dag_id") if isinstance(other.spec, dict) else None
        if isinstance(pattern, str) and dag_id_pattern_key(pattern) == key:
            return [
                SpecIssue(
                    "dag_id",
                    f"the pattern {parsed.dag_id!r} is already used by template "
                    f"{platform or '-'}/{other.name}: both would make the same DAG for every "
                    f"account; give this template its own dag_id (e.g. ${{account_id}}_{name or 'name'})",
                )
            ]
    return []


def _unsaved(*, platform: str, name: str | None, spec, is_active: bool) -> DagTemplate:
    """The stored template with `spec` in place (in memory only), or a new unsaved one:
    what saving would materialize."""
    template = DagTemplate.objects.filter(platform=platform, name=name).first() if name is not None else None
    if template is None:
        return DagTemplate(platform=platform, name=name or "", spec=spec, version=1, is_active=is_active)
    if _canonical(template.spec) != _canonical(spec):
        template.spec, template.version = spec, template.version + 1
    template.is_active = is_active
    return template


@dataclass
class TemplateSaveResult:
    template: DagTemplate
    created: bool
    changed: bool
    dags: list[Dag]  # DAGs created or re-rendered by this save
    created_dags: list[Dag] = field(default_factory=list)


@transaction.atomic
def template_save(*, platform: str, name: str, spec, is_active: bool = True) -> TemplateSaveResult:
    """Validate, version and save a template, then materialize it for every account of its
    platform (creating the DAGs accounts lack, re-rendering the others when the spec or
    activity changed). A dag_id clash raises TemplateInvalid and the transaction keeps nothing."""
    from ingestion.services.manager import dags_materialize_for_template

    spec = load_template(spec)
    # The rendered dag_ids are checked by the materialization below, before it writes.
    template_validate(spec=spec, platform=platform, name=name, check_dags=False)
    template = DagTemplate.objects.select_for_update().filter(platform=platform, name=name).first()
    if template is None:
        template = DagTemplate.objects.create(platform=platform, name=name, spec=spec, version=1, is_active=is_active)
        DagTemplateVersion.objects.create(template=template, version=1, spec=spec)
        plan = dags_materialize_for_template(template=template)
        return TemplateSaveResult(template, created=True, changed=True, dags=plan.dags, created_dags=plan.create)
    spec_changed = _canonical(template.spec) != _canonical(spec)
    if not spec_changed and template.is_active == is_active:
        # Nothing to re-render, but accounts imported while the template was missing or
        # inactive (or whose DAG was deleted) still get theirs.
        plan = dags_materialize_for_template(template=template, rerender_existing=False)
        return TemplateSaveResult(template, created=False, changed=False, dags=plan.dags, created_dags=plan.create)
    if spec_changed:
        template.version += 1
        template.spec = spec
        DagTemplateVersion.objects.create(template=template, version=template.version, spec=spec)
    template.is_active = is_active
    template.save()
    plan = dags_materialize_for_template(template=template)
    return TemplateSaveResult(template, created=False, changed=True, dags=plan.dags, created_dags=plan.create)


@dataclass
class TemplateDiff:
    diff: str  # unified diff of the stored spec against the new one ("" when equal)
    changed_dags: list[str]  # dag_ids saving would re-render
    created_dags: list[str]  # dag_ids saving would create (accounts of the platform without one)


def template_diff(*, platform: str, name: str, spec, is_active: bool = True) -> TemplateDiff:
    """What saving `spec` as platform/name would do, computed without writing anything."""
    from ingestion.services.manager import dags_plan_for_template

    spec = load_template(spec)
    template_validate(spec=spec, platform=platform, name=name, check_dags=False)
    stored = DagTemplate.objects.filter(platform=platform, name=name).first()
    old = _canonical(stored.spec) if stored else ""
    new = _canonical(spec)
    diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{platform}/{name} (stored{f' v{stored.version}' if stored else ': new'})",
            tofile=f"{platform}/{name} (file)",
        )
    )
    rerender = stored is None or old != new or stored.is_active != is_active
    plan = dags_plan_for_template(
        template=_unsaved(platform=platform, name=name, spec=spec, is_active=is_active), rerender_existing=rerender
    )
    return TemplateDiff(diff, sorted(d.dag_id for d in plan.update), sorted(d.dag_id for d in plan.create))


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


def templates_load_defaults(*, platforms: list[str] | None = None, platform: str | None = None) -> dict[str, list[str]]:
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
                logger.warning(
                    "default DAG template %s (%s) not loaded: %s. It is loaded once it validates "
                    "(e.g. when its operators are registered; see INGESTION_OPERATOR_MODULES).",
                    key,
                    path,
                    exc,
                )
                result["invalid"].append(key)
                continue
            except IntegrityError:  # created by a concurrent caller meanwhile
                result["existing"].append(key)
                continue
            result["created"].append(key)
    if result["created"]:
        logger.info("default DAG templates created: %s", ", ".join(result["created"]))
    return result
