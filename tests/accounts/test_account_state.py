"""One owner of an ad account's state (accounts.services.ad_accounts): suspend and reinstate,
the DAGs' account_paused kept in step, the organization told; walked through the REST API
against the sandbox over HTTP (revoke -> new grant -> import -> resume; credential deleted
-> new grant; a re-authorization that no longer reaches an account) with the scheduler
loop proving the DAGs run again, plus the pages that say why an account is paused."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.urls import reverse

from accounts.models import AdAccount, Credential
from accounts.services.ad_accounts import (
    AccountNotResumable,
    ad_account_resume,
    ad_account_suspend,
)
from ingestion.models import Dag, DagRun
from tests.accounts.authflow_helpers import OrganizationFactory, approve, member
from tests.accounts.factories import dag_template
from tests.accounts.test_api_accounts import API, authorize_via_api, token_client
from tests.ingestion.conftest import InlineExecutor
from tests.ingestion.scheduling import FakeClock, make_loop, settle

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    organization = OrganizationFactory(name="State org")
    return {"org": organization, "admin": member(organization, "admin", email="admin@state.example")}


def _authorized(client, organization, profile: str = "2:3:4", take: int = 2) -> tuple[Credential, list[AdAccount]]:
    body = authorize_via_api(client, organization, profile=profile)
    ids = [a["external_id"] for a in body["discovered_accounts"]][:take]
    done = client.post(f"{API}credentials/{body['id']}/import/", {"external_ids": ids}, format="json")
    assert done.status_code == 201, done.content
    accounts = list(AdAccount.objects.filter(external_id__in=ids).order_by("external_id"))
    return Credential.objects.get(pk=body["id"]), accounts


def _runs_at_next_fire(accounts: list[AdAccount]) -> int:
    """Tick the scheduler at the DAGs' next fire time: how many runs of them it makes."""
    dags = list(Dag.objects.filter(ad_account__in=accounts))
    clock = FakeClock(max(d.next_run_at for d in dags) + timedelta(seconds=1))
    before = DagRun.objects.filter(dag__in=dags).count()
    settle(make_loop(InlineExecutor(), clock))
    return DagRun.objects.filter(dag__in=dags).count() - before


def _state(account: AdAccount) -> tuple[str, bool]:
    account.refresh_from_db()
    paused = set(Dag.objects.filter(ad_account=account).values_list("account_paused", flat=True))
    assert len(paused) == 1, "the account's DAGs disagree about their pause"
    return account.status, paused.pop()


@pytest.mark.django_db(transaction=True)
def test_revoke_new_grant_import_resume_and_the_dags_run_again(sandbox_server, org):
    dag_template()
    client = token_client(org["admin"])
    credential, accounts = _authorized(client, org["org"])
    assert [_state(a) for a in accounts] == [("active", False)] * 2

    assert client.post(f"{API}credentials/{credential.pk}/revoke/").status_code == 200

    assert [_state(a) for a in accounts] == [("needs_reauth", True)] * 2
    assert all(f"credential #{credential.pk} was revoked" in a.status_reason for a in accounts)
    with pytest.raises(AccountNotResumable, match="re-authorize it first"):
        ad_account_resume(ad_account_id=accounts[0].pk)
    assert _runs_at_next_fire(accounts) == 0

    fresh = authorize_via_api(client, org["org"], profile="2:3:4")  # a new grant, a new credential

    assert fresh["id"] != credential.pk and fresh["unreached_accounts"] == []
    assert [_state(a) for a in accounts] == [("active", False)] * 2  # the grant reaches them: reinstated
    assert {a.credential_id for a in accounts} == {fresh["id"]} and all(a.status_reason == "" for a in accounts)
    ids = [a.external_id for a in accounts]
    again = client.post(f"{API}credentials/{fresh['id']}/import/", {"external_ids": ids}, format="json")
    assert again.status_code == 201 and {a["status"] for a in again.json()} == {"active"}
    assert ad_account_resume(ad_account_id=accounts[0].pk).status == "active"  # nothing left to resume
    assert _runs_at_next_fire(accounts) == 2


@pytest.mark.django_db(transaction=True)
def test_a_deleted_credential_suspends_its_accounts_and_a_new_grant_brings_them_back(sandbox_server, org, celery_eager):
    dag_template()
    client = token_client(org["admin"])
    credential, accounts = _authorized(client, org["org"])

    Credential.objects.filter(pk=credential.pk).delete()  # the admin's bulk delete takes this path too

    assert [_state(a) for a in accounts] == [("needs_reauth", True)] * 2
    assert all(a.credential_id is None and "was deleted" in a.status_reason for a in accounts)
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"[adplatform] sandbox account {a.name} needs re-authorization" for a in accounts
    )
    assert all("was deleted" in m.body for m in mail.outbox)
    assert _runs_at_next_fire(accounts) == 0

    fresh = authorize_via_api(client, org["org"], profile="2:3:4")

    assert [_state(a) for a in accounts] == [("active", False)] * 2
    assert {a.credential_id for a in accounts} == {fresh["id"]}
    assert _runs_at_next_fire(accounts) == 2


def test_reauthorization_says_which_accounts_it_no_longer_reaches_and_suspends_them(sandbox_server, org):
    dag_template()
    client = token_client(org["admin"])
    credential, accounts = _authorized(client, org["org"], take=3)
    start = client.post(f"{API}credentials/{credential.pk}/reauthorize/", {}, format="json")

    # the user who re-authorizes sees only the first two advertisers
    done = client.post(f"{API}platforms/sandbox/callback/", approve(start.json()["authorization_url"], "2:2:4"))

    assert done.status_code == 201, done.content
    lost = accounts[2]
    (unreached,) = done.json()["unreached_accounts"]
    assert unreached["external_id"] == lost.external_id and unreached["status"] == "needs_reauth"
    assert "does not reach this account" in unreached["status_reason"]
    assert f"by {org['admin'].username}" in unreached["status_reason"]
    assert [_state(a) for a in accounts] == [("active", False), ("active", False), ("needs_reauth", True)]
    listed = client.get(f"{API}ad-accounts/{lost.pk}/")
    assert listed.status_code == 200 and "does not reach this account" in listed.json()["status_reason"]


def test_the_browser_flow_names_the_accounts_a_reauthorization_does_not_reach(sandbox_server, org, client):
    dag_template()
    credential, accounts = _authorized(token_client(org["admin"]), org["org"], take=3)
    client.force_login(org["admin"])
    start = client.get(f"/accounts/authorize/sandbox/?organization={org['org'].pk}&credential={credential.pk}")
    assert start.status_code == 302

    page = client.get("/accounts/callback/sandbox/", approve(start["Location"], "2:1:4"), follow=True)

    text = page.content.decode()
    assert "does not reach 2 of credential" in text
    assert all(f"({a.external_id})" in text for a in accounts[1:]) and f"({accounts[0].external_id})" not in text


def test_the_dag_page_and_the_accounts_page_say_why_and_what_to_do(sandbox_server, org, client):
    dag_template()
    _, accounts = _authorized(token_client(org["admin"]), org["org"])
    ad_account_suspend(ad_account_id=accounts[0].pk, reason="the platform removed this advertiser from the grant")
    client.force_login(org["admin"])
    dag = Dag.objects.get(ad_account=accounts[0])

    page = client.get(f"/dags/{dag.pk}/").content.decode()

    assert 'id="why-paused"' in page and "is suspended, so its DAGs are paused" in page
    assert "the platform removed this advertiser from the grant" in page and "re-authorize" in page
    other = client.get(f"/dags/{Dag.objects.get(ad_account=accounts[1]).pk}/").content.decode()
    assert 'id="why-paused"' not in other
    listing = client.get("/accounts/").content.decode()
    assert listing.count('data-field="reason"') == 1 and "removed this advertiser from the grant" in listing


def test_suspending_twice_tells_the_organization_once_and_keeps_the_newer_reason(
    org, celery_eager, django_capture_on_commit_callbacks
):
    from tests.accounts.factories import AdAccountFactory

    dag_template()
    account = AdAccountFactory(organization=org["org"])
    from ingestion.services.manager import dags_materialize_for_account

    dags_materialize_for_account(ad_account_id=account.pk)
    with django_capture_on_commit_callbacks(execute=True):
        ad_account_suspend(ad_account_id=account.pk, reason="first")
        ad_account_suspend(ad_account_id=account.pk, reason="second")
    # one mail; it is made after the commit, so it gives the reason the account has then
    assert len(mail.outbox) == 1 and "Why: second" in mail.outbox[0].body
    assert _state(account) == ("needs_reauth", True) and account.status_reason == "second"


def test_a_paused_account_whose_grant_is_gone_is_not_resumed(org):
    from accounts.services.ad_accounts import ad_account_pause
    from tests.accounts.factories import AdAccountFactory

    dag_template()
    account = AdAccountFactory(organization=org["org"], credential=None)
    from ingestion.services.manager import dags_materialize_for_account

    dags_materialize_for_account(ad_account_id=account.pk)
    ad_account_pause(ad_account_id=account.pk)
    with pytest.raises(AccountNotResumable, match="has no credential"):
        ad_account_resume(ad_account_id=account.pk)
    assert _state(account) == ("paused", True)


def test_the_migration_brings_drifted_dags_in_step(org):
    """Before this change a revoked grant could pause DAGs without touching the account."""
    from tests.accounts.factories import AdAccountFactory, CredentialFactory

    dag_template()
    orphan = AdAccountFactory(organization=org["org"], credential=None)
    working = AdAccountFactory(organization=org["org"], credential=CredentialFactory(organization=org["org"]))
    from ingestion.services.manager import dags_materialize_for_account

    for account in (orphan, working):
        dags_materialize_for_account(ad_account_id=account.pk)
    Dag.objects.update(account_paused=True)  # what the engine's old rule left behind
    migration = importlib.import_module("accounts.migrations.0004_ad_account_status_reason")

    migration.bring_in_step(django_apps, None)

    assert _state(orphan) == ("needs_reauth", True) and "authorize a grant" in orphan.status_reason
    assert _state(working) == ("active", False)


def test_finding_new_accounts_suspends_one_the_grant_no_longer_reaches_and_reinstates_it_later(sandbox_server, org):
    dag_template()
    client = token_client(org["admin"])
    credential, (lost, kept) = _authorized(client, org["org"])
    sandbox_server.remove_account(credential.token_set(), lost.external_id)

    found = client.post(f"{API}credentials/{credential.pk}/discover/")

    assert found.status_code == 200 and lost.external_id not in [r["external_id"] for r in found.json()]
    assert _state(lost) == ("needs_reauth", True) and "does not reach this account" in lost.status_reason
    assert _state(kept) == ("active", False)
    listed = client.get(f"{API}credentials/{credential.pk}/").json()
    assert [a["external_id"] for a in listed["unreached_accounts"]] == [lost.external_id]

    sandbox_server.state.reset()  # the advertiser is given back to the grant on the platform
    client.post(f"{API}credentials/{credential.pk}/discover/")
    assert _state(lost) == ("active", False) and lost.status_reason == ""


def test_the_find_new_accounts_page_names_the_account_the_grant_lost(sandbox_server, org, client):
    dag_template()
    credential, (lost, _kept) = _authorized(token_client(org["admin"]), org["org"])
    sandbox_server.remove_account(credential.token_set(), lost.external_id)
    client.force_login(org["admin"])

    page = client.post(reverse("accounts:discover", args=[credential.pk]), follow=True)

    text = page.content.decode()
    assert "2 ad accounts reachable" in text and f"({lost.external_id})" in text and "They are suspended" in text
