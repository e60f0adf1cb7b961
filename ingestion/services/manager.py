"""The DAG manager: materialize per-account DAGs from templates, pause and resume them.

The accounts app calls `dags_materialize_for_account` when an account is imported or
re-authorized, and its account-state owner (accounts.services.ad_accounts) alone calls
`dags_pause_for_account` / `dags_resume_for_account`, so a DAG's account_paused is always
"its account is not active". Materializing is an upsert keyed on (template, ad account): doing it twice
creates nothing and, when nothing changed, does not even touch the row (so schedulers
watching the change feed see nothing either).

Saving a template materializes it for every account of its platform in one pass
(`dags_materialize_for_template`, bulk inserts and updates), so a template added after the
accounts were imported needs no extra step.

dag_ids are global (Dag.dag_id is unique), while `${account_id}` is the platform's own id of
an account and two platforms may both have an account "123". So: two templates of one
platform may not share a dag_id pattern (checked on save, see templates.template_validate);
the default templates start with `${platform}_`, so their DAGs never meet another
platform's; and every rendered dag_id is checked against the DAGs of other templates before
anything is written (`DagIdConflict`, a TemplateInvalid at `dag_id`).

Every write a scheduler must notice goes through `save()` or sets `updated_at`, which is
the scheduler's change feed; next_run_at bookkeeping by the scheduler itself does not.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ingestion.cron import CronSchedule
from ingestion.dagspec import DagSpec, SpecIssue, TemplateInvalid, render_template, template_renderer
from ingestion.models import Dag, DagTemplate, Pool
from ingestion.operators.registry import operator_names

logger = logging.getLogger(__name__)

DEFAULT_POOL = "default"
BULK_BATCH = 500
# bulk_update writes one CASE per field over its batch: each row costs O(batch), keep it small.
UPDATE_BATCH = 100


class DagIdConflict(TemplateInvalid):
    """A rendered dag_id is taken by a DAG of another template (or by another account of
    the same template). Raised before anything is written."""

    def __init__(self, clashes: list[str]):
        self.clashes = clashes
        shown = "; ".join(clashes[:10]) + (f"; and {len(clashes) - 10} more" if len(clashes) > 10 else "")
        super().__init__(
            [
                SpecIssue(
                    "dag_id",
                    f"the rendered dag_id is already taken: {shown}. Make the pattern "
                    "unique, e.g. start it with ${platform}_${account_id}_",
                )
            ]
        )


def pool_ensure(name: str) -> Pool:
    slots = getattr(settings, "INGESTION_POOL_SLOTS", {}).get(
        name, getattr(settings, "INGESTION_DEFAULT_POOL_SLOTS", 32)
    )
    pool, _ = Pool.objects.get_or_create(name=name, defaults={"slots": slots})
    return pool


def _render_values(template: DagTemplate, ad_account) -> dict:
    values = {"platform": template.platform}
    if ad_account is not None:
        values.update(account_id=ad_account.external_id, account_pk=ad_account.pk, account_name=ad_account.name)
    return values


def dag_render(*, template: DagTemplate, ad_account=None) -> DagSpec:
    return render_template(template.spec, _render_values(template, ad_account), operators=operator_names())


def _dag_fields(template: DagTemplate, spec: DagSpec, ad_account) -> dict:
    return {
        "dag_id": spec.dag_id,
        "template_version": template.version,
        "platform": template.platform,
        "schedule": spec.schedule_interval,
        "timezone": spec.timezone or _account_timezone(ad_account),
        "max_active_runs": spec.max_active_runs,
        "catchup": spec.catchup,
        "pool": spec.pool or template.platform or DEFAULT_POOL,
        "spec": spec.to_dict(),
    }


def _describe_owner(dag: Dag) -> str:
    owner = f"template {dag.template.platform or '-'}/{dag.template.name}" if dag.template else "no template"
    return f"{dag.dag_id!r} belongs to DAG #{dag.pk} ({owner})"


def _taken_dag_ids(dag_ids: dict[str, int | None], template: DagTemplate) -> list[str]:
    """Clashes of `dag_ids` (dag_id -> pk of the DAG that is to carry it, None for a new
    one) with DAGs of other templates or other rows of this one."""
    clashes = []
    wanted = list(dag_ids)
    for start in range(0, len(wanted), BULK_BATCH):
        chunk = wanted[start : start + BULK_BATCH]
        for dag in Dag.objects.filter(dag_id__in=chunk).select_related("template").order_by("dag_id"):
            if dag.pk != dag_ids[dag.dag_id]:
                clashes.append(_describe_owner(dag))
    return clashes


def _account_timezone(ad_account) -> str:
    return (getattr(ad_account, "timezone", "") or "UTC") if ad_account is not None else "UTC"


def _account_is_paused(ad_account) -> bool:
    # A DAG's account_paused is its account's state (accounts.services.ad_accounts keeps
    # them in step): a DAG added to an account that is not active starts paused.
    return ad_account is not None and getattr(ad_account, "status", "active") != "active"


def _changes(dag: Dag, fields: dict, template: DagTemplate) -> dict:
    """The fields of an existing DAG its new rendering changes (an inactive template pauses it)."""
    changed = {k: v for k, v in fields.items() if getattr(dag, k) != v}
    if not template.is_active and not dag.is_paused:
        changed["is_paused"] = True
    return changed


def next_fire_after(dag: Dag, after: datetime) -> datetime:
    return CronSchedule(dag.schedule, dag.timezone).next_after(after)


@transaction.atomic
def dag_upsert(*, template: DagTemplate, ad_account=None, now: datetime | None = None) -> tuple[Dag, bool]:
    """Render `template` for `ad_account` and create or update its DAG. Returns (dag, changed)."""
    now = now or timezone.now()
    spec = dag_render(template=template, ad_account=ad_account)
    fields = _dag_fields(template, spec, ad_account)
    dag = Dag.objects.select_for_update().filter(template=template, ad_account=ad_account).first()
    if dag is None or dag.dag_id != fields["dag_id"]:  # an id the DAG already has is its own
        clashes = _taken_dag_ids({fields["dag_id"]: dag.pk if dag else None}, template)
        if clashes:
            raise DagIdConflict(clashes)
    pool_ensure(fields["pool"])
    for task in spec.tasks:
        if task.pool:
            pool_ensure(task.pool)
    if dag is None:
        dag = Dag(
            template=template,
            ad_account=ad_account,
            is_paused=not template.is_active,
            account_paused=_account_is_paused(ad_account),
            **fields,
        )
        dag.next_run_at = next_fire_after(dag, now)
        dag.save()
        return dag, True
    changed = _changes(dag, fields, template)
    if not changed:
        return dag, False
    for key, value in changed.items():
        setattr(dag, key, value)
    if {"schedule", "timezone"} & set(changed) or dag.next_run_at is None:
        dag.next_run_at = next_fire_after(dag, now)
    dag.save()
    return dag, True


def dags_materialize_for_account(*, ad_account_id: int) -> list[Dag]:
    """Upsert one DAG per active template of the account's platform; idempotent."""
    from ingestion.services.templates import default_templates_enabled, templates_load_defaults

    AdAccount = apps.get_model("accounts", "AdAccount")
    account = AdAccount.objects.get(pk=ad_account_id)
    if default_templates_enabled():
        # The defaults may have been skipped at migrate time (operators not importable then).
        templates_load_defaults(platforms=[account.platform])
    templates = DagTemplate.objects.filter(platform=account.platform, is_active=True).order_by("name")
    dags = []
    for template in templates:
        try:
            dags.append(dag_upsert(template=template, ad_account=account)[0])
        except DagIdConflict as exc:
            # One template whose pattern meets another DAG must not keep the account from
            # its other DAGs (the import goes on); the operator fixes the template.
            logger.error(
                "ad account %s (%s %s): no DAG from template %s/%s: %s",
                account.pk,
                account.platform,
                account.external_id,
                template.platform,
                template.name,
                exc,
            )
    return dags


@dataclass
class MaterializePlan:
    """What materializing a template does: DAGs to create, DAGs whose rendering changed."""

    create: list[Dag] = field(default_factory=list)
    update: list[Dag] = field(default_factory=list)
    update_fields: set[str] = field(default_factory=set)

    @property
    def dags(self) -> list[Dag]:
        return [*self.create, *self.update]


def dags_plan_for_template(
    *, template: DagTemplate, rerender_existing: bool = True, now: datetime | None = None, lock: bool = False
) -> MaterializePlan:
    """Render `template` (saved or not) for every account of its platform, in memory.

    Active template: one DAG per account of the platform (accounts that have one get it
    re-rendered when `rerender_existing`). Inactive, or of no platform: only the DAGs it
    already has are re-rendered (and paused). Raises DagIdConflict, writing nothing, when a
    rendered dag_id is another DAG's."""
    AdAccount = apps.get_model("accounts", "AdAccount")
    now = now or timezone.now()
    plan = MaterializePlan()
    existing: dict[int | None, Dag] = {}
    if template.pk is not None:
        rows = Dag.objects.filter(template=template)
        for dag in rows.select_for_update() if lock else rows:
            existing[dag.ad_account_id] = dag
    accounts: dict[int | None, object] = {None: None} if None in existing else {}
    # A subquery, not a list of ids: a platform's accounts can outnumber SQLite's bound
    # parameters (32,766), and the database has them anyway.
    wanted = Q(pk__in=Dag.objects.filter(template=template).values("ad_account_id")) if template.pk else Q(pk__in=[])
    if template.is_active and template.platform:
        wanted |= Q(platform=template.platform)
    accounts.update((a.pk, a) for a in AdAccount.objects.filter(wanted).order_by("pk"))
    if not accounts:
        return plan
    render = template_renderer(template.spec, operators=operator_names())
    next_fire: dict[tuple[str, str], datetime] = {}  # every DAG of one (cron, zone) fires next at the same time
    renamed: set[int] = set()  # existing DAGs whose rendered dag_id changed
    for account_id, account in accounts.items():
        dag = existing.get(account_id)  # type: ignore[assignment]  # None: an account without its DAG yet
        if dag is not None and not rerender_existing and (template.is_active or dag.is_paused):
            continue
        fields = _dag_fields(template, render(_render_values(template, account)), account)
        key = (fields["schedule"], fields["timezone"])
        if key not in next_fire:
            next_fire[key] = CronSchedule(*key).next_after(now)
        if dag is None:
            dag = Dag(
                template=template,
                ad_account=account,
                is_paused=not template.is_active,
                account_paused=_account_is_paused(account),
                updated_at=now,
                **fields,
            )
            dag.next_run_at = next_fire[key]
            plan.create.append(dag)
            continue
        changed = _changes(dag, fields, template)
        if not changed:
            continue
        if "dag_id" in changed:
            renamed.add(dag.pk)
        for name, value in changed.items():
            setattr(dag, name, value)
        if {"schedule", "timezone"} & set(changed) or dag.next_run_at is None:
            dag.next_run_at = next_fire[key]
            changed["next_run_at"] = dag.next_run_at
        dag.updated_at = now  # bulk_update skips auto_now: the change feed must see it
        plan.update_fields |= {*changed, "updated_at"}
        plan.update.append(dag)

    seen: set[str] = set()
    clashes = []
    for dag in plan.dags:
        if dag.dag_id in seen:
            clashes.append(
                f"{dag.dag_id!r} is rendered for two accounts of this template (the pattern needs "
                "${account_id} or ${account_pk})"
            )
        seen.add(dag.dag_id)
    # Only ids new to their DAG can be taken by another: an id a DAG keeps is its own.
    clashes += _taken_dag_ids({d.dag_id: d.pk for d in plan.dags if d.pk is None or d.pk in renamed}, template)
    if clashes:
        raise DagIdConflict(clashes)
    return plan


@transaction.atomic
def dags_materialize_for_template(
    *, template: DagTemplate, rerender_existing: bool = True, now: datetime | None = None
) -> MaterializePlan:
    """Create the DAGs `template` lacks for accounts of its platform and re-render those it
    has, in one pass: bulk inserts and updates of BULK_BATCH rows. Idempotent: a second
    call finds nothing to do and touches no row."""
    plan = dags_plan_for_template(template=template, rerender_existing=rerender_existing, now=now, lock=True)
    for pool in sorted({d.pool for d in plan.dags} | {t["pool"] for d in plan.dags for t in d.tasks if t.get("pool")}):
        pool_ensure(pool)
    if plan.create:
        # An account import racing this save may insert the same (template, account) DAG
        # first (dags_materialize_for_account): that row is as good as ours, keep it. Rows
        # taken by other templates were refused above, before anything was written.
        Dag.objects.bulk_create(plan.create, batch_size=BULK_BATCH, ignore_conflicts=True)
        ids: dict[str, int] = {}
        wanted = [d.dag_id for d in plan.create]
        for start in range(0, len(wanted), BULK_BATCH):  # ignore_conflicts returns no ids
            ids.update(
                Dag.objects.filter(template=template, dag_id__in=wanted[start : start + BULK_BATCH]).values_list(
                    "dag_id", "pk"
                )
            )
        for dag in plan.create:
            dag.pk = ids.get(dag.dag_id)
        plan.create = [dag for dag in plan.create if dag.pk is not None]
    if plan.update:
        # A template change mostly sets the same values on every DAG (schedule, version,
        # next fire, updated_at): one UPDATE per chunk of rows for those; bulk_update (one
        # CASE per field, slow to build) only for what differs per row (the rendered spec).
        common, varying = {}, []
        for name in sorted(plan.update_fields):
            first = _hashable(getattr(plan.update[0], name))
            if all(_hashable(getattr(dag, name)) == first for dag in plan.update[1:]):  # stops at the first difference
                common[name] = getattr(plan.update[0], name)
            else:
                varying.append(name)
        pks = [dag.pk for dag in plan.update]
        for start in range(0, len(pks), BULK_BATCH):
            if common:
                Dag.objects.filter(pk__in=pks[start : start + BULK_BATCH]).update(**common)
        if varying:
            Dag.objects.bulk_update(plan.update, varying, batch_size=UPDATE_BATCH)
    return plan


def _hashable(value):
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) else value


def _set_account_paused(ad_account_id: int, paused: bool) -> int:
    now = timezone.now()
    updated = 0
    with transaction.atomic():
        for dag in Dag.objects.select_for_update().filter(ad_account_id=ad_account_id, account_paused=not paused):
            dag.account_paused = paused
            if not paused and dag.is_active:
                _skip_missed(dag, now)
            dag.save()
            updated += 1
    return updated


def dags_pause_for_account(*, ad_account_id: int) -> int:
    """Pause every DAG of the account (runs already going finish). Returns how many changed."""
    return _set_account_paused(ad_account_id, True)


def dags_resume_for_account(*, ad_account_id: int) -> int:
    """Resume the account's DAGs at their next tick. Returns how many changed."""
    return _set_account_paused(ad_account_id, False)


def _skip_missed(dag: Dag, now: datetime) -> None:
    # A DAG coming back from a pause does not replay the ticks it slept through unless it
    # asks for catchup; it resumes at its next tick.
    if not dag.catchup or dag.next_run_at is None:
        dag.next_run_at = next_fire_after(dag, now)


@transaction.atomic
def dag_set_paused(*, dag_id: str, paused: bool) -> Dag:
    dag = Dag.objects.select_for_update().get(dag_id=dag_id)
    if dag.is_paused != paused:
        dag.is_paused = paused
        if not paused and dag.is_active:
            _skip_missed(dag, timezone.now())
        dag.save()
    return dag
