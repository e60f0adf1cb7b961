"""Issue 4's end-to-end path over HTTP against the sandbox, through the admin pages only
(the test client follows the redirects; the sandbox's consent is auto-approved):
authorize -> import two of three -> the sweep refreshes before expiry -> a spent (rotated)
refresh token coming back gives needs_reauth with paused DAGs -> Re-authorize in the admin
brings the accounts back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import AdAccount, Credential
from accounts.services.tokens import credential_refresh, credentials_refresh_expiring
from connectors.errors import AuthorizationRevoked
from tests.accounts.authflow_helpers import OrganizationFactory, admin_owner, approve
from tests.accounts.factories import dag_template

pytestmark = pytest.mark.django_db


def test_admin_authorize_import_sweep_reuse_and_reauthorize(sandbox_server, client):
    from ingestion.models import Dag

    dag_template()
    org = OrganizationFactory()
    user = admin_owner(org)
    client.force_login(user)
    # an hour of access: inside the sandbox's 2-hour refresh lead, so the next sweep renews it
    sandbox_server.configure(access_lifetime=timedelta(hours=1))

    changelist = client.get(reverse("admin:accounts_adaccount_changelist")).content.decode()
    assert 'href="/accounts/authorize/sandbox/"' in changelist
    to_platform = client.get("/accounts/authorize/sandbox/")
    picker = client.get(
        reverse("accounts:callback", args=["sandbox"]), approve(to_platform["Location"], profile="5:3:4"), follow=True
    )
    assert picker.status_code == 200 and picker.content.decode().count('name="external_ids"') == 3
    credential = Credential.objects.get()
    ids = [a["external_id"] for a in credential.discovered_accounts]
    listing = client.post(reverse("accounts:pick", args=[credential.pk]), {"external_ids": ids[:2]}, follow=True)
    assert "Imported 2 Sandbox" in listing.content.decode()
    accounts = list(AdAccount.objects.order_by("external_id"))
    assert [a.external_id for a in accounts] == sorted(ids[:2])
    assert Dag.objects.filter(ad_account__in=accounts, account_paused=False).count() == 2

    first = credential.token_set()
    sandbox_server.configure(access_lifetime=timedelta(hours=24))  # what the refresh hands out
    assert credentials_refresh_expiring()["refreshed"] == 1
    assert sandbox_server.stats["token_refresh"] == 1
    credential.refresh_from_db()
    assert credential.token_set().refresh_token != first.refresh_token
    assert credentials_refresh_expiring()["refreshed"] == 0  # fresh now: nothing due

    # the rotated-out refresh token comes back (a stale copy): the platform ends the grant
    credential.refresh_token = first.refresh_token
    credential.save()
    with pytest.raises(AuthorizationRevoked, match="invalid_grant"):
        credential_refresh(credential_id=credential.pk, force=True)
    credential.refresh_from_db()
    assert credential.status == "needs_reauth"
    assert set(AdAccount.objects.values_list("status", flat=True)) == {"needs_reauth"}
    assert Dag.objects.filter(ad_account__in=accounts, account_paused=True).count() == 2

    # Re-authorize from the credential changelist: same credential, accounts and DAGs back
    action = client.post(
        reverse("admin:accounts_credential_changelist"), {"action": "reauthorize", "_selected_action": [credential.pk]}
    )
    to_platform = client.get(action["Location"])
    back = client.get(reverse("accounts:callback", args=["sandbox"]), approve(to_platform["Location"], profile="5:3:4"))
    assert back.status_code == 302 and Credential.objects.count() == 1
    credential.refresh_from_db()
    assert credential.status == "active" and credential.last_error == ""
    assert set(AdAccount.objects.values_list("status", flat=True)) == {"active"}
    assert Dag.objects.filter(ad_account__in=accounts, account_paused=False).count() == 2
