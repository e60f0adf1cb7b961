"""The accounts REST API: platforms, authorization through the API against the sandbox
over HTTP, credentials without secrets, import, revoke, and the boundaries between two
organizations (other organizations' objects are 404, read-only members get 403)."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AdAccount, Credential, PendingAuthorization
from tests.accounts.authflow_helpers import OrganizationFactory, approve, deny, member
from tests.accounts.factories import dag_template

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


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


def assert_no_secrets(response, *credentials: Credential):
    body = response.content.decode()
    for credential in credentials:
        credential.refresh_from_db()
        token = credential.token_set()
        for secret in (token.access_token, token.refresh_token, *token.secrets.values()):
            if secret and secret != token.secrets.get("username"):
                assert secret not in body, "a secret leaked into an API response"
    for key in ("access_token", "refresh_token", '"secrets"', 'password":'):
        assert key not in body


def authorize_via_api(client, organization, profile="2:3:4", **extra) -> dict:
    start = client.post(f"{API}platforms/sandbox/authorize/", {"organization": organization.pk, **extra}, format="json")
    assert start.status_code == 201, start.content
    params = approve(start.json()["authorization_url"], profile=profile)
    assert params["state"] == start.json()["state"]
    done = client.post(f"{API}platforms/sandbox/callback/", params, format="json")
    assert done.status_code == 201, done.content
    return done.json()


def test_platforms(world):
    response = session_client(world["a_viewer"]).get(f"{API}platforms/")
    rows = {p["slug"]: p for p in response.json()}
    assert rows["sandbox"]["auth_type"] == "oauth2" and rows["sandbox"]["supports_pkce"] is True
    assert rows["sandbox"]["levels"] == ["account", "campaign", "ad_group", "ad", "creative"]
    assert rows["sandbox"]["granularities"] == ["hour", "day"]
    assert rows["baidu"]["auth_type"] == "password" and rows["baidu"]["password_fields"] == ["developer_token"]
    assert {"meta", "google_ads", "tiktok", "oceanengine", "kuaishou"} <= set(rows)
    assert APIClient().get(f"{API}platforms/").status_code in (401, 403)


def test_oauth_flow_import_and_no_secrets(sandbox_server, world):
    dag_template()
    client = token_client(world["a_admin"])
    body = authorize_via_api(client, world["a"])
    credential = Credential.objects.get(pk=body["id"])
    assert body["organization"] == world["a"].pk and body["status"] == "active" and body["scopes"] == ["reports"]
    assert [a["name"] for a in body["discovered_accounts"]] == [f"Sandbox advertiser 2-{i}" for i in (1, 2, 3)]
    assert not any(a["imported"] for a in body["discovered_accounts"])
    assert credential.token_set().access_token and credential.token_set().refresh_token

    ids = [a["external_id"] for a in body["discovered_accounts"]]
    imported = client.post(f"{API}credentials/{credential.pk}/import/", {"external_ids": ids[1:]}, format="json")
    assert imported.status_code == 201, imported.content
    assert sorted(a["external_id"] for a in imported.json()) == sorted(ids[1:])
    assert AdAccount.objects.filter(organization=world["a"], credential=credential).count() == 2

    listing = client.get(f"{API}credentials/")
    assert listing.json()["count"] == 1
    row = listing.json()["results"][0]
    assert [a["imported"] for a in row["discovered_accounts"]] == [False, True, True]
    assert row["access_expires_at"] and row["refresh_expires_at"] and row["last_error"] == ""
    accounts = client.get(f"{API}ad-accounts/", {"organization": world["a"].pk})
    assert accounts.json()["count"] == 2
    for response in (listing, accounts, imported, client.get(f"{API}credentials/{credential.pk}/")):
        assert_no_secrets(response, credential)


def test_state_is_bound_to_the_session(sandbox_server, world):
    browser = session_client(world["a_admin"])
    start = browser.post(f"{API}platforms/sandbox/authorize/", {"organization": world["a"].pk}, format="json").json()
    params = approve(start["authorization_url"])
    replay = token_client(world["a_admin"]).post(f"{API}platforms/sandbox/callback/", params, format="json")
    assert replay.status_code == 400 and "issued to another session" in replay.json()["detail"]
    again = browser.post(f"{API}platforms/sandbox/callback/", params, format="json")
    assert again.status_code == 400 and "unknown or already used state" in again.json()["detail"]
    assert not Credential.objects.exists()


def test_denial_and_validation_errors_name_the_field(sandbox_server, world):
    client = token_client(world["a_admin"])
    start = client.post(f"{API}platforms/sandbox/authorize/", {"organization": world["a"].pk}, format="json").json()
    denied = client.post(f"{API}platforms/sandbox/callback/", deny(start["authorization_url"]), format="json")
    assert denied.status_code == 400 and "refused the authorization: access_denied" in denied.json()["detail"]
    assert not Credential.objects.exists() and not PendingAuthorization.objects.exists()

    assert client.post(f"{API}platforms/sandbox/authorize/", {}, format="json").json() == {
        "organization": ["This field is required."]
    }
    bad_uri = client.post(
        f"{API}platforms/sandbox/authorize/", {"organization": world["a"].pk, "redirect_uri": "nope"}, format="json"
    )
    assert bad_uri.status_code == 400 and set(bad_uri.json()) == {"redirect_uri"}
    evil = client.post(
        f"{API}platforms/sandbox/authorize/",
        {"organization": world["a"].pk, "redirect_uri": "https://evil.example/cb"},
        format="json",
    )
    assert evil.status_code == 400 and "is not on this platform" in evil.json()["redirect_uri"][0]
    no_code = client.post(f"{API}platforms/sandbox/callback/", {"state": "x"}, format="json")
    assert no_code.status_code == 400 and "either code" in no_code.json()["code"][0]
    assert (
        client.post(f"{API}platforms/nowhere/authorize/", {"organization": world["a"].pk}, format="json").status_code
        == 404
    )
    wrong_kind = client.post(
        f"{API}platforms/sandbox_password/authorize/", {"organization": world["a"].pk}, format="json"
    )
    assert wrong_kind.status_code == 400 and "platforms/sandbox_password/password/" in wrong_kind.json()["detail"]
    extra = client.post(
        f"{API}platforms/sandbox_password/password/",
        {"organization": world["a"].pk, "username": "demo", "password": "p", "extra": {"color": "red"}},
        format="json",
    )
    assert extra.status_code == 400 and "unknown field(s) color" in extra.json()["extra"][0]


def test_password_flow(sandbox_server, world):
    client = token_client(world["a_admin"])
    url = f"{API}platforms/sandbox_password/password/"
    wrong = client.post(url, {"organization": world["a"].pk, "username": "demo", "password": "guess"}, format="json")
    assert wrong.status_code == 400 and "wrong user name or password" in wrong.json()["password"][0]
    assert "guess" not in wrong.content.decode() and not Credential.objects.exists()

    ok = client.post(
        url, {"organization": world["a"].pk, "username": "user-3-2-2", "password": "sandbox-password"}, format="json"
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["platform"] == "sandbox_password" and ok.json()["subject"] == "user-3-2-2"
    assert len(ok.json()["discovered_accounts"]) == 2
    assert "sandbox-password" not in ok.content.decode()
    assert_no_secrets(ok, Credential.objects.get())


def test_reauthorize_and_revoke(sandbox_server, world):
    client = token_client(world["a_admin"])
    body = authorize_via_api(client, world["a"])
    Credential.objects.filter(pk=body["id"]).update(status="needs_reauth", last_error="invalid_grant: re-authorize")
    start = client.post(f"{API}credentials/{body['id']}/reauthorize/", {}, format="json")
    assert start.status_code == 201
    again = client.post(f"{API}platforms/sandbox/callback/", approve(start.json()["authorization_url"]), format="json")
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert again.json()["status"] == "active" and again.json()["last_error"] == ""
    assert Credential.objects.count() == 1

    revoked = client.post(f"{API}credentials/{body['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert sandbox_server.stats["token_revoke"] == 1
    credential = Credential.objects.get()
    assert credential.status == "revoked" and not credential.access_token


def test_organization_boundaries(sandbox_server, world):
    dag_template()
    a_admin = token_client(world["a_admin"])
    body = authorize_via_api(a_admin, world["a"])
    cred_id = body["id"]
    ids = [x["external_id"] for x in body["discovered_accounts"]]
    a_admin.post(f"{API}credentials/{cred_id}/import/", {"external_ids": ids[:1]}, format="json")
    account_id = AdAccount.objects.get().pk

    # B's owner sees none of A and cannot act on it: 404s, and A is not an organization of theirs
    b = token_client(world["b_owner"])
    assert [o["name"] for o in b.get(f"{API}organizations/").json()] == ["B"]
    assert b.get(f"{API}credentials/").json()["count"] == 0
    assert b.get(f"{API}ad-accounts/").json()["count"] == 0
    assert b.get(f"{API}credentials/", {"organization": world["a"].pk}).json()["count"] == 0
    assert b.get(f"{API}credentials/{cred_id}/").status_code == 404
    assert b.get(f"{API}ad-accounts/{account_id}/").status_code == 404
    for action, data in (("reauthorize", {}), ("revoke", {}), ("import", {"external_ids": ids})):
        assert b.post(f"{API}credentials/{cred_id}/{action}/", data, format="json").status_code == 404, action
    into_a = b.post(f"{API}platforms/sandbox/authorize/", {"organization": world["a"].pk}, format="json")
    assert into_a.status_code == 400 and "no organization" in into_a.json()["organization"][0]
    password_into_a = b.post(
        f"{API}platforms/sandbox_password/password/",
        {"organization": world["a"].pk, "username": "demo", "password": "sandbox-password"},
        format="json",
    )
    assert password_into_a.status_code == 400 and set(password_into_a.json()) == {"organization"}
    # re-authorizing A's credential through B's organization does not work either
    via_b = b.post(
        f"{API}platforms/sandbox/authorize/", {"organization": world["b"].pk, "credential": cred_id}, format="json"
    )
    assert via_b.status_code == 400 and set(via_b.json()) == {"credential"}

    # A's viewer reads but may not write
    viewer = token_client(world["a_viewer"])
    assert viewer.get(f"{API}credentials/").json()["count"] == 1
    assert viewer.get(f"{API}ad-accounts/").json()["count"] == 1
    assert [(o["name"], o["role"], o["can_manage"]) for o in viewer.get(f"{API}organizations/").json()] == [
        ("A", "viewer", False)
    ]
    assert viewer.post(f"{API}credentials/{cred_id}/revoke/").status_code == 403
    assert viewer.post(f"{API}credentials/{cred_id}/import/", {"external_ids": ids}, format="json").status_code == 403
    assert (
        viewer.post(f"{API}platforms/sandbox/authorize/", {"organization": world["a"].pk}, format="json").status_code
        == 403
    )

    assert Credential.objects.get().status == "active" and AdAccount.objects.count() == 1
    assert sandbox_server.stats["token_revoke"] == 0


def test_import_rejects_unknown_accounts(sandbox_server, world):
    client = token_client(world["a_admin"])
    body = authorize_via_api(client, world["a"])
    response = client.post(f"{API}credentials/{body['id']}/import/", {"external_ids": ["999"]}, format="json")
    assert response.status_code == 400 and "not reachable through credential" in response.json()["external_ids"][0]
    empty = client.post(f"{API}credentials/{body['id']}/import/", {"external_ids": []}, format="json")
    assert empty.status_code == 400 and set(empty.json()) == {"external_ids"}
    assert not AdAccount.objects.exists()
    json.dumps(body)  # plain JSON all the way


def test_ids_beyond_64_bits_are_404_or_field_errors_not_500(world):
    client = token_client(world["a_admin"])
    huge = 10**30
    assert client.get(f"{API}credentials/{huge}/").status_code == 404
    assert client.post(f"{API}credentials/{huge}/revoke/").status_code == 404
    assert client.get(f"{API}ad-accounts/{huge}/").status_code == 404
    assert set(client.get(f"{API}credentials/", {"organization": huge}).json()) == {"organization"}
    response = client.post(f"{API}platforms/sandbox/authorize/", {"organization": huge}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"organization"}
    session = APIClient()
    session.force_login(world["a_admin"])
    assert session.get("/accounts/authorize/sandbox/", {"organization": huge}).status_code == 404
    assert session.get("/accounts/authorize/sandbox/", {"credential": huge}).status_code == 404


def test_schema_documents_the_accounts_api():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = set(schema["paths"])
    assert {
        "/api/v1/platforms/",
        "/api/v1/platforms/{platform}/authorize/",
        "/api/v1/platforms/{platform}/callback/",
        "/api/v1/platforms/{platform}/password/",
        "/api/v1/credentials/",
        "/api/v1/credentials/{id}/reauthorize/",
        "/api/v1/credentials/{id}/revoke/",
        "/api/v1/credentials/{id}/import/",
        "/api/v1/ad-accounts/",
        "/api/v1/organizations/",
    } <= paths
    components = schema["components"]["schemas"]
    for name in (
        "PlatformAuthorizeInputRequest",
        "PlatformPasswordInputRequest",
        "CredentialImportInputRequest",
        "PlatformListOutput",
        "OrganizationListOutput",
    ):
        assert name in components, name
    credential_fields = set(components["CredentialOutput"]["properties"])
    assert {"status", "access_expires_at", "scopes", "last_error"} <= credential_fields
    assert not credential_fields & {"access_token", "refresh_token", "secrets"}
    # the password is write-only: it is in the request, never in a response component
    assert "password" in components["PlatformPasswordInputRequest"]["properties"]


def test_accounts_prefix_still_reaches_the_web_page():
    from django.urls import resolve

    assert resolve("/accounts/authorize/sandbox/").view_name == "accounts:authorize"
    assert resolve("/accounts/").view_name == "web:accounts"


def test_session_start_in_the_api_finishes_on_the_browser_callback_page(sandbox_server, world):
    """A front end signed in with the session starts through the API; the platform sends the
    browser to /accounts/callback/<platform>/, which finishes in the same session."""
    browser = session_client(world["a_admin"])
    start = browser.post(f"{API}platforms/sandbox/authorize/", {"organization": world["a"].pk}, format="json").json()
    params = approve(start["authorization_url"])
    page = browser.get("/accounts/callback/sandbox/", params)
    credential = Credential.objects.get()
    assert page.status_code == 302 and page["Location"] == f"/accounts/credentials/{credential.pk}/accounts/"
