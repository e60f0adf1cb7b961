"""The demo hook of `manage.py bootstrap`: a working sandbox grant, accounts and DAGs; twice = once."""

import io

import pytest
from django.core.management import call_command

from accounts.bootstrap import demo_accounts
from accounts.models import AdAccount, Credential, Membership, Organization, PlatformApp
from accounts.services.tokens import credential_refresh
from ingestion.models import Dag, DagRun, DagTemplate
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_demo_accounts_is_idempotent_and_the_grant_works(sandbox_server, settings):
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    user = UserFactory(is_staff=True, is_superuser=True)
    out = io.StringIO()
    demo_accounts(user=user, stdout=out)
    demo_accounts(user=user, stdout=out)

    organization = Organization.objects.get(name="Demo")
    assert Membership.objects.get(organization=organization).role == "owner"
    app = PlatformApp.objects.get(platform="sandbox")
    assert (app.client_id, app.redirect_uri) == ("sandbox-demo", "http://127.0.0.1:8000/accounts/callback/sandbox/")
    credential = Credential.objects.get(organization=organization)
    assert credential.status == "active" and credential.app == app and credential.granted_by == user
    accounts = AdAccount.objects.filter(organization=organization)
    assert accounts.count() == 3 and {a.credential_id for a in accounts} == {credential.pk}
    templates = DagTemplate.objects.filter(platform="sandbox", is_active=True).count()
    assert templates == 3  # metadata, hourly_today, daily_lookback of connectors/sandbox/templates
    assert Dag.objects.filter(ad_account__in=accounts).count() == 3 * templates
    assert "Demo organization: 3 sandbox ad accounts (existing grant)" in out.getvalue()
    # first runs queued once (the second call queued none): 7 daily ticks + the latest
    # hourly and metadata tick per account, so data arrives without waiting for cron
    runs = DagRun.objects.filter(dag__ad_account__in=accounts)
    assert runs.count() == 3 * (7 + 1 + 1)
    assert runs.filter(dag__dag_id__endswith="_daily_insights").values("dag").distinct().count() == 3
    assert out.getvalue().count("first runs queued") == 1

    # the grant is real: the sandbox (same SECRET_KEY) refreshes it and lists its advertisers
    fresh = credential_refresh(credential_id=credential.pk, force=True)
    assert sandbox_server.stats["token_refresh"] == 1
    listed = list(sandbox_server.connector(client_id=app.client_id).list_accounts(fresh.token_set()))
    assert sorted(a.external_id for a in listed) == sorted(accounts.values_list("external_id", flat=True))


def test_bootstrap_command_runs_the_demo_hook_by_default(settings):
    assert "accounts.bootstrap.demo_accounts" in settings.BOOTSTRAP_HOOKS
    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    call_command("bootstrap", stdout=out)
    assert out.getvalue().count("Demo organization: 3 sandbox ad accounts") == 2
    assert Credential.objects.filter(organization__name="Demo").count() == 1
    assert AdAccount.objects.filter(organization__name="Demo").count() == 3
