"""The DAG manager: materialize per-account DAGs from templates, pause and resume them.

The accounts app calls `dags_materialize_for_account` when an account is imported or
re-authorized and `dags_pause_for_account` / `dags_resume_for_account` when it is paused
or resumed. Materializing is an upsert keyed on (template, ad account): doing it twice
creates nothing and, when nothing changed, does not even touch the row (so schedulers
watching the change feed see nothing either).

Every write a scheduler must notice goes through `save()` or sets `updated_at`, which is
the scheduler's change feed; next_run_at bookkeeping by the scheduler itself does not.
"""
from __future__ import annotations

from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ingestion.cron import CronSchedule
from ingestion.dagspec import DagSpec, render_template
from ingestion.models import Dag, DagTemplate, Pool
from ingestion.operators.registry import operator_names

DEFAULT_POOL = "default"


def pool_ensure(name: str) -> Pool:
    slots = getattr(settings, "INGESTION_POOL_SLOTS", {}).get(name, getattr(settings, "INGESTION_DEFAULT_POOL_SLOTS", 32))
    pool, _ = Pool.objects.get_or_create(name=name, defaults={"slots": slots})
    return pool


def dag_render(*, template: DagTemplate, ad_account=None) -> DagSpec:
    values = {"platform": template.platform}
    if ad_account is not None:
        values.update(account_id=ad_account.external_id, account_pk=ad_account.pk, account_name=ad_account.name)
    return render_template(template.spec, values, operators=operator_names())


def _account_timezone(ad_account) -> str:
    return (getattr(ad_account, "timezone", "") or "UTC") if ad_account is not None else "UTC"


def _account_is_paused(ad_account) -> bool:
    # A new template's DAG joins its account's state: an account that is not active, or
    # whose DAGs were paused (a revoked grant pauses them before accounts updates the
    # status), must not start fetching through a DAG that was added meanwhile.
    if ad_account is None:
        return False
    if getattr(ad_account, "status", "active") != "active":
        return True
    return Dag.objects.filter(ad_account=ad_account, account_paused=True).exists()


def next_fire_after(dag: Dag, after: datetime) -> datetime:
    return CronSchedule(dag.schedule, dag.timezone).next_after(after)


@transaction.atomic
def dag_upsert(*, template: DagTemplate, ad_account=None, now: datetime | None = None) -> tuple[Dag, bool]:
    """Render `template` for `ad_account` and create or update its DAG. Returns (dag, changed)."""
    now = now or timezone.now()
    spec = dag_render(template=template, ad_account=ad_account)
    fields = {
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
    pool_ensure(fields["pool"])
    for task in spec.tasks:
        if task.pool:
            pool_ensure(task.pool)
    dag = Dag.objects.select_for_update().filter(template=template, ad_account=ad_account).first()
    if dag is None:
        dag = Dag(template=template, ad_account=ad_account, is_paused=not template.is_active,
                  account_paused=_account_is_paused(ad_account), **fields)
        dag.next_run_at = next_fire_after(dag, now)
        dag.save()
        return dag, True
    changed = {k: v for k, v in fields.items() if getattr(dag, k) != v}
    if not template.is_active and not dag.is_paused:
        changed["is_paused"] = True
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
    return [dag_upsert(template=t, ad_account=account)[0] for t in templates]


def dags_rematerialize_for_template(*, template: DagTemplate) -> list[Dag]:
    """Re-render every DAG made from `template` (its spec or activity changed)."""
    changed = []
    for dag in Dag.objects.filter(template=template).select_related("ad_account"):
        dag, was_changed = dag_upsert(template=template, ad_account=dag.ad_account)
        if was_changed:
            changed.append(dag)
    return changed


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
