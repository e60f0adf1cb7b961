"""The demo setup `manage.py bootstrap` makes (settings.BOOTSTRAP_HOOKS): a "Demo"
organization owned by the admin user, a sandbox platform app, a sandbox grant and its
advertisers imported, so a fresh `make run` fetches data at once.

Idempotent: run again, it creates nothing new (one active demo credential at most) and
only imports again, which materializes DAGs of templates added since.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import Credential, Membership, Organization, PlatformApp
from accounts.services.importing import ad_accounts_import
from connectors.base import AccountInfo

DEMO_ORGANIZATION = "Demo"
DEMO_APP = "Demo sandbox app"
PLATFORM = "sandbox"
DEMO_HISTORY_DAYS = 7


def demo_accounts(*, user, stdout) -> Credential | None:
    if not getattr(settings, "SANDBOX_ENABLED", True):
        stdout.write("Demo accounts skipped: the built-in sandbox is off (ADPLATFORM_SANDBOX=false).")
        return None
    _load_default_templates(PLATFORM, stdout)
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(name=DEMO_ORGANIZATION)
        Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": Membership.Role.OWNER})
        app = _demo_app()
        credential = (
            Credential.objects.filter(organization=organization, platform=PLATFORM, status=Credential.Status.ACTIVE)
            .order_by("pk")
            .first()
        )
        if credential is None:
            credential, accounts = _demo_credential(organization, app, user)
            created = True
        else:
            accounts = [
                AccountInfo(
                    external_id=a["external_id"],
                    name=a["name"],
                    currency=a["currency"],
                    timezone=a["timezone"],
                    status=a["status"],
                    raw=a.get("raw") or {},
                )
                for a in credential.discovered_accounts
            ]
            created = False
        imported = ad_accounts_import(credential=credential, accounts=accounts)
    from ingestion.models import Dag

    dags = list(Dag.objects.filter(ad_account__in=imported))
    runs = _first_runs(dags)
    stdout.write(
        f"Demo organization: {len(imported)} sandbox ad accounts "
        f"({'new grant' if created else 'existing grant'}), {len(dags)} DAGs"
        f"{f', {runs} first runs queued' if runs else ''}."
    )
    return credential


def _first_runs(dags, *, days: int = DEMO_HISTORY_DAYS) -> int:
    """Queue the demo DAGs' recent ticks (the last `days` days for daily DAGs, the latest tick
    otherwise) so the dashboard has numbers minutes after `make run`, not after the next
    cron tick. Only DAGs that never ran: running bootstrap again queues nothing."""
    from datetime import timedelta

    from django.utils import timezone

    from ingestion.cron import CronSchedule
    from ingestion.models import DagRun
    from ingestion.services.runs import run_trigger

    now = timezone.now()
    queued = 0
    for dag in dags:
        if dag.runs.exists():
            continue
        schedule = CronSchedule(dag.schedule, dag.timezone)
        ticks = schedule.fire_times(now - timedelta(days=days), now)
        if len(ticks) > days:  # sub-daily schedule: its latest tick covers the recent window
            ticks = ticks[-1:]
        for logical_time in ticks:
            run_trigger(dag_id=dag.dag_id, logical_time=logical_time, run_type=DagRun.RunType.BACKFILL)
            queued += 1
    return queued


def _demo_app() -> PlatformApp:
    from connectors.sandbox.connector import DEMO_CLIENT_ID

    app, _ = PlatformApp.objects.get_or_create(
        platform=PLATFORM,
        name=DEMO_APP,
        defaults={
            "client_id": DEMO_CLIENT_ID,
            # the sandbox's documented rule for any client: the secret is `<client_id>-secret`
            "client_secret": f"{DEMO_CLIENT_ID}-secret",
            "redirect_uri": f"{settings.PUBLIC_URL.rstrip('/')}/accounts/callback/{PLATFORM}/",
        },
    )
    return app


def _demo_credential(organization, app, user) -> tuple[Credential, list[AccountInfo]]:
    from connectors.sandbox.demo import demo_grant

    token, accounts = demo_grant(client_id=app.client_id)
    credential = Credential(
        organization=organization,
        platform=PLATFORM,
        app=app,
        granted_by=user,
        subject="demo",
        discovered_accounts=[
            {
                "external_id": a.external_id,
                "name": a.name,
                "currency": a.currency,
                "timezone": a.timezone,
                "status": a.status,
                "raw": a.raw,
            }
            for a in accounts
        ],
    )
    credential.store(token)
    credential.save()
    return credential, accounts


def _load_default_templates(platform: str, stdout) -> None:
    """The platform's default DAG templates, so the demo accounts get DAGs (the engine's
    loader creates the missing ones only: templates edited in the admin stay as edited)."""
    from ingestion.services.templates import templates_load_defaults

    result = templates_load_defaults(platform=platform)
    for key in result["invalid"]:
        stdout.write(f"Default DAG template {key} not loaded (its operators are not registered); see the log.")
