"""Discovering a credential's ad accounts again with the stored grant (no re-authorization):
the API (`POST credentials/<id>/discover/`, then the import endpoint) and the admin action
leading to the picker, against the sandbox over HTTP, where the user adds advertisers to
the grant after authorizing; the organization boundary; a grant revoked on the platform."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AdAccount, Credential
from accounts.services.discovery import credential_discover
from accounts.services.tokens import connector_for_credential
from connectors.errors import AuthorizationRevoked
from tests.accounts.authflow_helpers import OrganizationFactory, admin_owner, member
from tests.accounts.factories import dag_template
from tests.accounts.test_api_accounts import API, assert_no_secrets, authorize_via_api, session_client, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Organization A (admin, viewer) and B (owner)."""
    a, b = OrganizationFactory(name="A"), OrganizationFactory(name="B")
    return {
        "a": a,
        "b": b,
        "a_admin": member(a, "admin"),
        "a_viewer": member(a, "viewer"),
        "b_owner": member(b, "owner"),
    }


def _authorized(client, organization, import_first: int = 2) -> tuple[Credential, list[str]]:
    """A sandbox grant of 3 advertisers (profile 2:3:4), the first `import_first` imported."""
    body = authorize_via_api(client, organization, profile="2:3:4")
    ids = [a["external_id"] for a in body["discovered_accounts"]]
    if import_first:
        done = client.post(
            f"{API}credentials/{body['id']}/import/", {"external_ids": ids[:import_first]}, format="json"
        )
        assert done.status_code == 201, done.content
    return Credential.objects.get(pk=body["id"]), ids


def test_an_account_added_on_the_platform_is_discovered_and_imported(sandbox_server, world):
    from ingestion.models import Dag

    dag_template()
    client = token_client(world["a_admin"])
    credential, ids = _authorized(client, world["a"])
    assert Dag.objects.count() == 2
    sandbox_server.add_accounts(credential.token_set(), 2)  # the advertiser adds two accounts to the grant

    found = client.post(f"{API}credentials/{credential.pk}/discover/")

    assert found.status_code == 200, found.content
    rows = found.json()
    assert [r["name"] for r in rows] == [f"Sandbox advertiser 2-{i}" for i in (1, 2, 3, 4, 5)]
    assert [r["imported"] for r in rows] == [True, True, False, False, False]
    assert not any(r["imported_elsewhere"] for r in rows)
    assert [r["external_id"] for r in rows][:3] == ids
    assert sandbox_server.stats["token_authorization_code"] == 1  # no new authorization
    assert_no_secrets(found, credential)
    new = [r["external_id"] for r in rows[3:]]

    imported = client.post(f"{API}credentials/{credential.pk}/import/", {"external_ids": new}, format="json")

    assert imported.status_code == 201, imported.content
    assert sorted(a["external_id"] for a in imported.json()) == sorted(new)
    assert AdAccount.objects.filter(organization=world["a"], credential=credential).count() == 4
    assert Dag.objects.count() == 4  # the import materialized the new accounts' DAGs
    listing = client.get(f"{API}credentials/{credential.pk}/").json()
    assert [a["imported"] for a in listing["discovered_accounts"]] == [True, True, False, True, True]


def test_nothing_new_is_an_unchanged_list(sandbox_server, world):
    client = token_client(world["a_admin"])
    credential, ids = _authorized(client, world["a"], import_first=0)
    found = client.post(f"{API}credentials/{credential.pk}/discover/")
    assert found.status_code == 200
    assert [(r["external_id"], r["imported"]) for r in found.json()] == [(i, False) for i in ids]


def test_an_expired_token_is_refreshed_before_listing(sandbox_server, world):
    client = token_client(world["a_admin"])
    credential, _ = _authorized(client, world["a"], import_first=0)
    old_access = credential.access_token
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() - timedelta(minutes=1))

    found = client.post(f"{API}credentials/{credential.pk}/discover/")

    assert found.status_code == 200 and len(found.json()) == 3
    assert sandbox_server.stats["token_refresh"] == 1
    credential.refresh_from_db()
    assert credential.access_token != old_access and credential.access_expires_at > timezone.now()


def test_a_grant_revoked_on_the_platform_is_a_clear_409_and_needs_reauth(sandbox_server, world):
    from ingestion.models import Dag

    dag_template()
    client = token_client(world["a_admin"])
    credential, ids = _authorized(client, world["a"], import_first=1)
    # the user removes the app's access on the platform
    connector_for_credential(credential).revoke(credential.token_set())

    refused = client.post(f"{API}credentials/{credential.pk}/discover/")

    assert refused.status_code == 409, refused.content
    detail = refused.json()["detail"]
    assert "revoked" in detail and f"POST credentials/{credential.pk}/reauthorize/" in detail
    credential.refresh_from_db()
    assert credential.status == "needs_reauth" and credential.last_error.startswith("discovering ad accounts: ")
    assert AdAccount.objects.get(external_id=ids[0]).status == "needs_reauth"
    assert Dag.objects.get().account_paused
    assert len(credential.discovered_accounts) == 3  # what was found before stays as it was
    calls = sandbox_server.stats["api"]

    again = client.post(f"{API}credentials/{credential.pk}/discover/")

    assert again.status_code == 409 and "needs re-authorization" in again.json()["detail"]
    assert sandbox_server.stats["api"] == calls  # the platform is not asked about a grant known to be gone
    with pytest.raises(AuthorizationRevoked, match="needs re-authorization"):
        credential_discover(credential_id=credential.pk)


def test_a_platform_failure_is_a_502_and_changes_nothing(sandbox_server, world):
    client = token_client(world["a_admin"])
    credential, _ = _authorized(client, world["a"], import_first=0)
    sandbox_server.add_accounts(credential.token_set())
    sandbox_server.inject("malformed", path="advertisers")

    failed = client.post(f"{API}credentials/{credential.pk}/discover/")

    assert failed.status_code == 502, failed.content
    assert failed.json()["detail"].startswith("sandbox did not list the accounts: ")
    credential.refresh_from_db()
    assert credential.status == "active" and len(credential.discovered_accounts) == 3


def test_the_organization_boundary(sandbox_server, world):
    a_admin = token_client(world["a_admin"])
    credential, ids = _authorized(a_admin, world["a"])
    sandbox_server.add_accounts(credential.token_set())
    calls = sandbox_server.stats["api"]

    # B's owner: A's credential does not exist for them
    b = token_client(world["b_owner"])
    hidden = b.post(f"{API}credentials/{credential.pk}/discover/")
    assert hidden.status_code == 404
    # A's viewer reads but may not make the platform be asked (it changes the credential)
    viewer = token_client(world["a_viewer"])
    assert viewer.post(f"{API}credentials/{credential.pk}/discover/").status_code == 403
    assert a_admin.post(f"{API}credentials/987654/discover/").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().post(f"{API}credentials/{credential.pk}/discover/").status_code in (401, 403)
    assert sandbox_server.stats["api"] == calls
    credential.refresh_from_db()
    assert [a["external_id"] for a in credential.discovered_accounts] == ids

    # B's own credential reaching the same advertisers: discovered, marked as A's, not importable
    b_body = authorize_via_api(b, world["b"], profile="2:3:4")
    rows = b.post(f"{API}credentials/{b_body['id']}/discover/").json()
    assert [(r["imported"], r["imported_elsewhere"]) for r in rows] == [(False, True), (False, True), (False, False)]
    taken = b.post(f"{API}credentials/{b_body['id']}/import/", {"external_ids": ids[:1]}, format="json")
    assert taken.status_code == 400 and "another organization" in taken.json()["external_ids"][0]
    assert AdAccount.objects.get(external_id=ids[0]).organization == world["a"]


def test_the_admin_action_discovers_and_opens_the_picker(sandbox_server, client):
    from ingestion.models import Dag

    dag_template()
    org = OrganizationFactory()
    owner = admin_owner(org)
    client.force_login(owner)
    api = session_client(owner)
    credential, ids = _authorized(api, org, import_first=3)
    sandbox_server.add_accounts(credential.token_set())
    changelist = reverse("admin:accounts_credential_changelist")
    assert "Look for new ad accounts of the selected credential" in client.get(changelist).content.decode()

    answer = client.post(changelist, {"action": "discover", "_selected_action": [credential.pk]})

    assert answer.status_code == 302 and answer["Location"] == reverse("accounts:pick", args=[credential.pk])
    picker = client.get(answer["Location"]).content.decode()
    assert "4 ad accounts reachable, 1 not imported yet" in picker
    assert picker.count('name="external_ids"') == 4 and picker.count("already imported") == 3
    new = [
        a["external_id"]
        for a in Credential.objects.get(pk=credential.pk).discovered_accounts
        if a["external_id"] not in ids
    ]
    assert len(new) == 1
    done = client.post(answer["Location"], {"external_ids": new})
    assert done.status_code == 302
    assert AdAccount.objects.filter(credential=credential).count() == 4 and Dag.objects.count() == 4

    # a revoked grant: an error message on the changelist, no picker
    connector_for_credential(credential).revoke(credential.token_set())
    refused = client.post(changelist, {"action": "discover", "_selected_action": [credential.pk]}, follow=True)
    assert "Re-authorize it (the Re-authorize action)" in refused.content.decode()
    assert Credential.objects.get(pk=credential.pk).status == "needs_reauth"


def test_the_schema_documents_discovery():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/credentials/{id}/discover/"]["post"]
    assert set(operation["responses"]) >= {"200", "409", "502"}
    fields = schema["components"]["schemas"]["CredentialDiscoverOutput"]["properties"]
    assert {"external_id", "imported", "imported_elsewhere"} <= set(fields)


def test_the_accounts_page_finds_new_accounts_and_opens_the_picker(sandbox_server, client, world):
    dag_template()
    admin = world["a_admin"]
    credential, _ids = _authorized(session_client(admin), world["a"], import_first=3)
    sandbox_server.add_accounts(credential.token_set())
    discover = reverse("accounts:discover", args=[credential.pk])

    client.force_login(world["a_viewer"])
    assert discover not in client.get(reverse("web:accounts")).content.decode()  # readers get no button
    assert client.post(discover).status_code == 403
    client.force_login(world["b_owner"])
    assert client.post(discover).status_code == 404  # another organization's credential
    client.force_login(admin)
    page = client.get(reverse("web:accounts")).content.decode()
    assert f'action="{discover}"' in page and "Find new accounts" in page
    assert client.get(discover).status_code == 405  # it asks the platform: POST only

    answer = client.post(discover)

    assert answer.status_code == 302 and answer["Location"] == reverse("accounts:pick", args=[credential.pk])
    picker = client.get(answer["Location"]).content.decode()
    assert "4 ad accounts reachable, 1 not imported yet" in picker and "Look for new accounts" in picker
    assert picker.count('name="external_ids"') == 4 and picker.count("already imported") == 3

    connector_for_credential(credential).revoke(credential.token_set())
    refused = client.post(discover, follow=True)
    assert refused.redirect_chain[-1][0] == reverse("web:accounts")
    assert "Authorize it again" in refused.content.decode()
    assert Credential.objects.get(pk=credential.pk).status == "needs_reauth"
    assert f'action="{discover}"' not in refused.content.decode()  # no button for a grant that does not work
