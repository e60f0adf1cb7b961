"""The accounts admin: secrets never rendered (write-only, blank keeps), credential actions
against the sandbox, pause/resume of ad accounts with their DAGs, organization scoping."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import AdAccount, Credential, PlatformApp
from accounts.services.importing import ad_accounts_import
from ingestion.models import Dag
from tests.accounts.factories import (
    AdAccountFactory,
    CredentialFactory,
    MembershipFactory,
    PlatformAppFactory,
    UserFactory,
    dag_template,
)

pytestmark = pytest.mark.django_db


def _change(model, pk):
    return reverse(f"admin:accounts_{model._meta.model_name}_change", args=[pk])


def _changelist(model):
    return reverse(f"admin:accounts_{model._meta.model_name}_changelist")


def test_platform_app_secrets_are_write_only(admin_client):
    app = PlatformAppFactory(client_secret="the-client-secret", extra={"developer_token": "the-dev-token"})
    page = admin_client.get(_change(PlatformApp, app.pk)).content.decode()
    assert "developer_token" in page  # the names of stored settings, not their values
    assert "the-client-secret" not in page and "the-dev-token" not in page
    assert "the-client-secret" not in admin_client.get(_changelist(PlatformApp)).content.decode()

    form = {
        "platform": "sandbox",
        "name": app.name,
        "client_id": "renamed",
        "redirect_uri": app.redirect_uri,
        "endpoints": "{}",
        "is_active": "on",
        "new_client_secret": "",
        "new_extra": "",
    }
    assert admin_client.post(_change(PlatformApp, app.pk), form).status_code == 302
    app.refresh_from_db()
    assert (app.client_id, app.client_secret, app.extra) == (
        "renamed",
        "the-client-secret",
        {"developer_token": "the-dev-token"},
    )

    form.update(new_client_secret="new-secret", new_extra='{"developer_token": "new-token"}')
    assert admin_client.post(_change(PlatformApp, app.pk), form).status_code == 302
    app.refresh_from_db()
    assert (app.client_secret, app.extra) == ("new-secret", {"developer_token": "new-token"})

    form.update(new_extra="[1, 2]")
    page = admin_client.post(_change(PlatformApp, app.pk), form)
    assert page.status_code == 200 and "Extra settings must be a JSON object" in page.content.decode()


def test_credential_pages_show_no_token(admin_client):
    credential = CredentialFactory(
        access_token="secret-access-1",
        refresh_token="secret-refresh-1",
        secrets={"password": "secret-password-1"},
        last_error="refresh failed: 503",
    )
    pages = admin_client.get(_change(Credential, credential.pk)).content.decode()
    pages += admin_client.get(_changelist(Credential)).content.decode()
    assert "refresh failed: 503" in pages and "needs_reauth" in pages  # status filter
    assert not any(s in pages for s in ("secret-access-1", "secret-refresh-1", "secret-password-1"))
    assert admin_client.get(reverse("admin:accounts_credential_add")).status_code == 403


def test_refresh_and_revoke_actions(admin_client, sandbox_server):
    app = PlatformAppFactory()
    connector = sandbox_server.connector(client_id=app.client_id)
    credential = CredentialFactory.from_token(sandbox_server.authorize(connector, profile="8:2:3"), app=app)
    dag_template("sandbox")
    accounts = ad_accounts_import(credential=credential, accounts=list(connector.list_accounts(credential.token_set())))
    before = credential.access_token

    response = admin_client.post(
        _changelist(Credential), {"action": "refresh_now", "_selected_action": [credential.pk]}, follow=True
    )
    assert "1 credential(s) refreshed." in response.content.decode()
    assert sandbox_server.stats["token_refresh"] == 1
    credential.refresh_from_db()
    assert credential.access_token != before

    response = admin_client.post(
        _changelist(Credential), {"action": "revoke", "_selected_action": [credential.pk]}, follow=True
    )
    assert "1 credential(s) revoked." in response.content.decode()
    assert sandbox_server.stats["token_revoke"] == 1
    credential.refresh_from_db()
    assert credential.status == "revoked" and credential.access_token == credential.refresh_token == ""
    assert Dag.objects.filter(ad_account__in=accounts, account_paused=True).count() == 2


def test_revoke_when_the_platform_fails_still_forgets_the_tokens(admin_client, sandbox_server):
    app = PlatformAppFactory()
    credential = CredentialFactory.from_token(
        sandbox_server.authorize(sandbox_server.connector(client_id=app.client_id)), app=app
    )
    app.client_secret = "no-longer-valid"  # the platform refuses the app (invalid_client)
    app.save()
    response = admin_client.post(
        _changelist(Credential), {"action": "revoke", "_selected_action": [credential.pk]}, follow=True
    )
    assert "revoking at sandbox failed" in response.content.decode()
    credential.refresh_from_db()
    assert credential.status == "revoked" and credential.refresh_token == ""


def test_pause_and_resume_ad_accounts(admin_client):
    dag_template("sandbox")
    account = AdAccountFactory()
    from ingestion.services.manager import dags_materialize_for_account

    dags_materialize_for_account(ad_account_id=account.pk)
    admin_client.post(_changelist(AdAccount), {"action": "pause_accounts", "_selected_action": [account.pk]})
    account.refresh_from_db()
    assert account.status == "paused" and Dag.objects.get(ad_account=account).account_paused is True

    admin_client.post(_changelist(AdAccount), {"action": "resume_accounts", "_selected_action": [account.pk]})
    account.refresh_from_db()
    assert account.status == "active" and Dag.objects.get(ad_account=account).account_paused is False

    AdAccount.objects.filter(pk=account.pk).update(status="needs_reauth")
    response = admin_client.post(
        _changelist(AdAccount), {"action": "resume_accounts", "_selected_action": [account.pk]}, follow=True
    )
    assert "is needs_reauth, not paused: re-authorize it first" in response.content.decode()
    assert AdAccount.objects.get(pk=account.pk).status == "needs_reauth"


def test_staff_see_only_their_organizations(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="accounts", codename__startswith="view_")
    )
    mine = AdAccountFactory(name="Mine advertiser")
    MembershipFactory(user=user, organization=mine.organization)
    theirs = AdAccountFactory(name="Theirs advertiser")
    client.force_login(user)

    listing = client.get(_changelist(AdAccount)).content.decode()
    assert "Mine advertiser" in listing and "Theirs advertiser" not in listing
    assert client.get(_change(AdAccount, mine.pk)).status_code == 200
    assert client.get(_change(AdAccount, theirs.pk)).status_code == 302  # "does not exist" -> admin index
    credentials = client.get(_changelist(Credential)).content.decode()
    assert str(mine.credential) in credentials and str(theirs.credential) not in credentials
    assert client.get(_change(Credential, theirs.credential.pk)).status_code == 302
    organizations = client.get(reverse("admin:accounts_organization_changelist")).content.decode()
    assert mine.organization.name in organizations and theirs.organization.name not in organizations
