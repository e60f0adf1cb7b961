"""accounts.services.tokens against the sandbox over HTTP: on-demand and forced refresh,
rotation, a reused (spent) refresh token -> needs_reauth with DAGs paused and the signal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AdAccount, Credential
from accounts.services.importing import ad_accounts_import
from accounts.services.tokens import credential_refresh, token_for_account
from accounts.signals import account_needs_reauth
from connectors.errors import AuthorizationRevoked, TransientError
from ingestion.models import Dag
from tests.accounts.factories import CredentialFactory, PlatformAppFactory, dag_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def granted(sandbox_server):
    """(app, connector, credential) of a real sandbox grant made through a platform app."""
    app = PlatformAppFactory()
    connector = sandbox_server.connector(client_id=app.client_id)
    token = sandbox_server.authorize(connector, profile="3:2:5")
    credential = CredentialFactory.from_token(token, app=app)
    return app, connector, credential


def _expire_soon(credential, seconds=30):
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() + timedelta(seconds=seconds))


def test_token_for_account_uses_a_valid_token_without_refreshing(sandbox_server, granted):
    _, _connector, credential = granted
    account = AdAccount.objects.create(
        organization=credential.organization, platform="sandbox", external_id="1", credential=credential
    )
    token = token_for_account(account)
    assert token.access_token == credential.access_token
    assert sandbox_server.stats["token_refresh"] == 0


def test_token_for_account_refreshes_an_expiring_token_once_and_rotates(sandbox_server, granted):
    _, connector, credential = granted
    old = credential.token_set()
    account = AdAccount.objects.create(
        organization=credential.organization, platform="sandbox", external_id="1", credential=credential
    )
    _expire_soon(credential)

    token = token_for_account(account)
    again = token_for_account(account)

    assert sandbox_server.stats["token_refresh"] == 1
    assert token.access_token != old.access_token and token.refresh_token != old.refresh_token
    assert again.access_token == token.access_token
    credential.refresh_from_db()
    assert credential.access_expires_at - timezone.now() > timedelta(hours=23)
    assert credential.last_refreshed_at is not None and credential.last_error == ""
    # the new token works at the platform; the old refresh token is spent
    assert list(connector.list_accounts(token))
    with pytest.raises(AuthorizationRevoked, match="invalid_grant"):
        connector.refresh(old)


def test_credential_refresh_does_nothing_when_not_due_unless_forced(sandbox_server, granted):
    _, _, credential = granted
    before = credential.access_token
    assert credential_refresh(credential_id=credential.pk).access_token == before
    assert sandbox_server.stats["token_refresh"] == 0
    assert credential_refresh(credential_id=credential.pk, force=True).access_token != before
    assert sandbox_server.stats["token_refresh"] == 1


def test_reused_refresh_token_marks_needs_reauth_pauses_dags_and_signals(
    sandbox_server, granted, django_capture_on_commit_callbacks
):
    _, connector, credential = granted
    dag_template("sandbox")
    accounts = ad_accounts_import(credential=credential, accounts=list(connector.list_accounts(credential.token_set())))
    assert len(accounts) == 2 and Dag.objects.filter(ad_account__in=accounts, account_paused=False).count() == 2
    spent = credential.refresh_token
    credential_refresh(credential_id=credential.pk, force=True)
    # a stale copy of the spent refresh token comes back (e.g. restored from a backup)
    Credential.objects.filter(pk=credential.pk).update(refresh_token="")
    credential.refresh_from_db()
    credential.refresh_token = spent
    credential.save()

    seen = []

    def receiver(sender, ad_account_id, **kwargs):
        seen.append(ad_account_id)

    account_needs_reauth.connect(receiver)
    try:
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(AuthorizationRevoked, match="invalid_grant"),
        ):
            credential_refresh(credential_id=credential.pk, force=True)
    finally:
        account_needs_reauth.disconnect(receiver)

    credential.refresh_from_db()
    assert credential.status == Credential.Status.NEEDS_REAUTH
    assert "refresh refused" in credential.last_error and "invalid_grant" in credential.last_error
    assert sorted(seen) == sorted(a.pk for a in accounts)
    assert set(AdAccount.objects.filter(credential=credential).values_list("status", flat=True)) == {"needs_reauth"}
    assert Dag.objects.filter(ad_account__in=accounts, account_paused=True).count() == 2
    # fetches are told to re-authorize, without another call to the platform
    refreshes = sandbox_server.stats["token_refresh"]
    with pytest.raises(
        AuthorizationRevoked, match=r"\[sandbox\] \(account \d+\): credential #\d+ needs re-authorization"
    ):
        token_for_account(accounts[0])
    assert sandbox_server.stats["token_refresh"] == refreshes


def test_reimport_after_reauthorization_resumes_the_accounts(sandbox_server, granted):
    _, connector, credential = granted
    dag_template("sandbox")
    infos = list(connector.list_accounts(credential.token_set()))
    accounts = ad_accounts_import(credential=credential, accounts=infos)
    from accounts.services.credentials import credential_mark_needs_reauth

    credential_mark_needs_reauth(credential_id=credential.pk, reason="test: refused")
    assert Dag.objects.filter(ad_account__in=accounts, account_paused=True).count() == 2
    new = CredentialFactory.from_token(
        sandbox_server.authorize(connector, profile="3:2:5"), app=credential.app, organization=credential.organization
    )
    again = ad_accounts_import(credential=new, accounts=infos, external_ids=[infos[0].external_id])
    assert [a.pk for a in again] == [accounts[0].pk]
    assert AdAccount.objects.get(pk=accounts[0].pk).status == "active"
    assert AdAccount.objects.get(pk=accounts[0].pk).credential_id == new.pk
    assert AdAccount.objects.get(pk=accounts[1].pk).status == "needs_reauth"
    assert Dag.objects.get(ad_account=accounts[0]).account_paused is False
    assert Dag.objects.get(ad_account=accounts[1]).account_paused is True
    assert Dag.objects.count() == 2


def test_transient_failure_is_recorded_and_raised(sandbox_server, granted):
    _, _, credential = granted
    sandbox_server.inject("500", times=10, path="/oauth/token")
    with pytest.raises(TransientError):
        credential_refresh(credential_id=credential.pk, force=True)
    credential.refresh_from_db()
    assert credential.status == Credential.Status.ACTIVE
    assert credential.last_error.startswith("refresh failed at ") and "[sandbox]" in credential.last_error


def test_no_credential_or_revoked_credential_says_reauthorize(db):
    credential = CredentialFactory(status=Credential.Status.REVOKED)
    account = AdAccount.objects.create(
        organization=credential.organization, platform="sandbox", external_id="9", credential=credential
    )
    with pytest.raises(AuthorizationRevoked, match="was revoked; re-authorize"):
        token_for_account(account)
    orphan = AdAccount.objects.create(organization=credential.organization, platform="sandbox", external_id="10")
    with pytest.raises(AuthorizationRevoked, match=r"\(account 10\): the ad account has no credential"):
        token_for_account(orphan)


def test_a_token_the_platform_refused_is_refreshed_once(sandbox_server, granted):
    _, _, credential = granted
    account = AdAccount.objects.create(
        organization=credential.organization, platform="sandbox", external_id="1", credential=credential
    )
    refused = token_for_account(account)  # valid for ~24 h as far as its expiry says
    fresh = token_for_account(account, rejected=refused)
    assert fresh.access_token != refused.access_token and sandbox_server.stats["token_refresh"] == 1
    # a second worker that saw the same refusal finds the token already replaced
    assert token_for_account(account, rejected=refused).access_token == fresh.access_token
    assert sandbox_server.stats["token_refresh"] == 1


def test_password_platform_signs_in_again_and_a_changed_password_needs_reauth(sandbox_server):
    connector = sandbox_server.connector(
        client_id="sandbox-demo",
        cls=__import__("connectors.sandbox.connector", fromlist=["SandboxPasswordConnector"]).SandboxPasswordConnector,
    )
    token = connector.login(username="demo", password="sandbox-password")
    credential = CredentialFactory.from_token(token, platform="sandbox_password")
    account = AdAccount.objects.create(
        organization=credential.organization, platform="sandbox_password", external_id="1", credential=credential
    )
    _expire_soon(credential)
    assert token_for_account(account).access_token != token.access_token
    assert sandbox_server.stats["token_password"] == 2 and sandbox_server.stats["token_refresh"] == 0

    credential.refresh_from_db()
    credential.secrets = {"username": "demo", "password": "changed-elsewhere"}
    credential.save()
    _expire_soon(credential)
    with pytest.raises(AuthorizationRevoked):
        token_for_account(account)
    credential.refresh_from_db()
    assert credential.status == "needs_reauth" and "wrong user name or password" in credential.last_error
