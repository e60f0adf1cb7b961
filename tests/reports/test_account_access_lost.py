"""One lost account never revokes a whole grant (issue 13, point 3): the sandbox, over HTTP,
takes one advertiser out of a grant that reaches two; that account's fetch fails with
AccountAccessLost, the account alone is suspended (its DAGs paused, the organization
told), the credential stays active and its other account keeps fetching. Transactional:
tasks run in their own thread with their own connection, notifications go on commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from accounts.models import AdAccount, Credential, Organization, PlatformApp
from connectors.registry import platform_spec
from ingestion.models import Dag, TaskInstance
from ingestion.services.backfill import dag_backfill
from ingestion.services.manager import dag_upsert
from ingestion.services.templates import template_save
from reports.models import AdEntity
from tests.accounts.authflow_helpers import member

pytestmark = pytest.mark.django_db(transaction=True)


def _metadata_dag(account: AdAccount) -> Dag:
    spec = json.loads((platform_spec("sandbox").templates_dir / "metadata.json").read_text())
    template = template_save(platform="sandbox", name="metadata", spec=spec).template
    return dag_upsert(template=template, ad_account=account)[0]


def _no_sleep(seconds):
    raise AssertionError(f"waited {seconds}s for a retry: a lost account must not be retried")


@pytest.fixture
def two_accounts(sandbox_server):
    """One sandbox grant (profile 3:2:4) and both of its advertisers imported on one credential."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    sandbox_server.configure(now=now, access_lifetime=timedelta(days=10))
    connector = sandbox_server.connector(client_id="test-app")
    token = sandbox_server.authorize(connector, profile="3:2:4")
    infos = list(connector.list_accounts(token))
    organization = Organization.objects.create(name="Lost account org")
    member(organization, "admin", email="admin@lost.example")
    app = PlatformApp.objects.create(
        platform="sandbox", name="test app", client_id="test-app", client_secret="test-app-secret"
    )
    credential = Credential(organization=organization, platform="sandbox", app=app, subject="tester")
    credential.store(token)
    credential.discovered_accounts = [{"external_id": i.external_id, "name": i.name} for i in infos]
    credential.save()
    accounts = [
        AdAccount.objects.create(
            organization=organization,
            platform="sandbox",
            external_id=i.external_id,
            name=i.name,
            timezone=i.timezone,
            credential=credential,
        )
        for i in infos
    ]
    return {"token": token, "credential": credential, "accounts": accounts, "now": now}


def test_one_advertiser_removed_from_the_grant_suspends_only_that_account(sandbox_server, two_accounts, celery_eager):
    lost, kept = two_accounts["accounts"]
    now = two_accounts["now"]
    lost_dag, kept_dag = _metadata_dag(lost), _metadata_dag(kept)
    sandbox_server.remove_account(two_accounts["token"], lost.external_id)

    failed = dag_backfill(dag_id=lost_dag.dag_id, start=now - timedelta(hours=6), end=now, sleep=_no_sleep)

    assert failed["failed"] == 1
    errors = list(TaskInstance.objects.filter(run__dag=lost_dag, state="failed").values_list("error", flat=True))
    assert errors and all(e.startswith("AccountAccessLost: [sandbox]") for e in errors)
    assert all(f"does not reach advertiser {lost.external_id}" in e for e in errors)
    lost.refresh_from_db()
    assert lost.status == AdAccount.Status.NEEDS_REAUTH
    assert f"credential #{two_accounts['credential'].pk}" in lost.status_reason
    assert "no longer reaches this account" in lost.status_reason
    assert Dag.objects.get(pk=lost_dag.pk).account_paused is True
    (told,) = [m for m in mail.outbox if "needs re-authorization" in m.subject]  # besides the task failures
    assert told.subject == f"[adplatform] sandbox account {lost.name} needs re-authorization"
    assert told.to == ["admin@lost.example"] and f"does not reach advertiser {lost.external_id}" in told.body

    # the grant itself still works: the other account is untouched and keeps fetching
    assert Credential.objects.get(pk=two_accounts["credential"].pk).status == Credential.Status.ACTIVE
    kept.refresh_from_db()
    assert kept.status == AdAccount.Status.ACTIVE and Dag.objects.get(pk=kept_dag.pk).account_paused is False
    done = dag_backfill(dag_id=kept_dag.dag_id, start=now - timedelta(hours=6), end=now, sleep=_no_sleep)
    assert done["success"] == 1 and done["failed"] == 0
    assert AdEntity.objects.filter(ad_account=kept, level="ad").count() == 4
    assert not AdEntity.objects.filter(ad_account=lost).exists()
    assert len([m for m in mail.outbox if "needs re-authorization" in m.subject]) == 1
