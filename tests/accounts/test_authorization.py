"""accounts.services.authorization against the sandbox over HTTP: the OAuth2 code flow
with PKCE, the state's guarantees (single use, expiring, bound to a session and user),
denial and wrong passwords storing nothing, re-authorization updating the credential."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from accounts.models import Credential, PendingAuthorization
from accounts.services.authorization import (
    authorization_finish,
    authorization_password,
    authorization_start,
    default_redirect_uri,
)
from connectors.errors import AuthorizationFailed
from tests.accounts.authflow_helpers import OrganizationFactory, approve, deny, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory()


@pytest.fixture
def admin_user(org):
    return member(org, "admin")


def _start(org, user, session_key="s-1", **kwargs):
    return authorization_start(platform="sandbox", organization=org, user=user, session_key=session_key, **kwargs)


def _raw_column(credential, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM accounts_credential WHERE id = %s", [credential.pk])
        return cursor.fetchone()[0]


def test_code_flow_stores_an_encrypted_credential(sandbox_server, org, admin_user, settings):
    settings.PUBLIC_URL = "https://ads.example.com"
    start = _start(org, admin_user)
    query = parse_qs(urlsplit(start.url).query)
    assert query["redirect_uri"] == ["https://ads.example.com/accounts/callback/sandbox/"]
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [start.state]
    assert PendingAuthorization.objects.filter(state=start.state).count() == 1

    params = approve(start.url, profile="4:3:5")
    credential = authorization_finish(platform="sandbox", params=params, session_key="s-1", user=admin_user)

    credential.refresh_from_db()
    assert credential.organization == org and credential.platform == "sandbox" and credential.granted_by == admin_user
    assert credential.status == "active" and credential.last_error == ""
    assert credential.scopes == ["reports"]
    assert credential.access_expires_at > timezone.now() + timedelta(hours=23)
    assert [a["name"] for a in credential.discovered_accounts] == [f"Sandbox advertiser 4-{i}" for i in (1, 2, 3)]
    token = credential.token_set()
    assert token.access_token and token.refresh_token
    # encrypted at rest: the column holds neither token
    for column in ("access_token", "refresh_token"):
        stored = _raw_column(credential, column)
        assert stored and token.access_token not in stored and token.refresh_token not in stored
    assert not PendingAuthorization.objects.exists()  # spent
    assert sandbox_server.stats["token_authorization_code"] == 1


def test_state_is_single_use(sandbox_server, org, admin_user):
    start = _start(org, admin_user)
    params = approve(start.url)
    authorization_finish(platform="sandbox", params=params, session_key="s-1", user=admin_user)
    with pytest.raises(AuthorizationFailed, match="unknown or already used state"):
        authorization_finish(platform="sandbox", params=params, session_key="s-1", user=admin_user)
    assert Credential.objects.count() == 1


def test_state_from_another_session_or_user_is_rejected_and_spent(sandbox_server, org, admin_user):
    start = _start(org, admin_user)
    params = approve(start.url)
    with pytest.raises(AuthorizationFailed, match="issued to another session"):
        authorization_finish(platform="sandbox", params=params, session_key="attacker", user=admin_user)
    # the replay spent the state: even the right session cannot use it now
    with pytest.raises(AuthorizationFailed, match="unknown or already used"):
        authorization_finish(platform="sandbox", params=params, session_key="s-1", user=admin_user)

    other = member(org, "owner")
    start = _start(org, admin_user)
    with pytest.raises(AuthorizationFailed, match="issued to another session"):
        authorization_finish(platform="sandbox", params=approve(start.url), session_key="s-1", user=other)
    assert not Credential.objects.exists()
    assert sandbox_server.stats["token_authorization_code"] == 0


def test_expired_state_is_rejected(sandbox_server, org, admin_user):
    start = _start(org, admin_user)
    params = approve(start.url)
    PendingAuthorization.objects.filter(state=start.state).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthorizationFailed, match="expired; start it again"):
        authorization_finish(platform="sandbox", params=params, session_key="s-1", user=admin_user)
    assert not Credential.objects.exists() and not PendingAuthorization.objects.exists()


def test_expired_rows_are_purged_when_new_ones_are_written(sandbox_server, org, admin_user):
    old = _start(org, admin_user)
    PendingAuthorization.objects.filter(state=old.state).update(expires_at=timezone.now() - timedelta(minutes=1))
    new = _start(org, admin_user)
    assert list(PendingAuthorization.objects.values_list("state", flat=True)) == [new.state]


def test_denial_stores_nothing(sandbox_server, org, admin_user):
    start = _start(org, admin_user)
    params = deny(start.url)
    assert params["error"] == "access_denied"
    with pytest.raises(
        AuthorizationFailed, match=r"\[sandbox\]: the platform refused the authorization: access_denied"
    ):
        authorization_finish(platform="sandbox", params=params, session_key="s-1", user=admin_user)
    assert not Credential.objects.exists() and not PendingAuthorization.objects.exists()


def test_state_of_another_platform_is_rejected(sandbox_server, org, admin_user):
    start = _start(org, admin_user)
    params = approve(start.url)
    with pytest.raises(AuthorizationFailed, match=r"unknown or already used|another platform"):
        authorization_finish(platform="sandbox_password", params=params, session_key="s-1", user=admin_user)
    assert not Credential.objects.exists()


def test_only_owners_and_admins_may_start(sandbox_server, org):
    for role in ("member", "viewer"):
        with pytest.raises(PermissionDenied, match="only an owner or admin"):
            _start(org, member(org, role))
    outsider = member(OrganizationFactory(), "owner")
    with pytest.raises(PermissionDenied):
        _start(org, outsider)
    assert not PendingAuthorization.objects.exists()


def test_password_flow(sandbox_server, org, admin_user):
    with pytest.raises(AuthorizationFailed, match="wrong user name or password"):
        authorization_password(
            platform="sandbox_password", organization=org, user=admin_user, username="demo", password="guess"
        )
    assert not Credential.objects.exists()

    credential = authorization_password(
        platform="sandbox_password",
        organization=org,
        user=admin_user,
        username="user-2-2-5",
        password="sandbox-password",
    )
    assert credential.platform == "sandbox_password" and credential.subject == "user-2-2-5"
    assert credential.secrets == {"username": "user-2-2-5", "password": "sandbox-password"}
    assert "sandbox-password" not in str(_raw_column(credential, "secrets"))
    assert [a["external_id"] for a in credential.discovered_accounts] and len(credential.discovered_accounts) == 2

    with pytest.raises(AuthorizationFailed, match="password form"):
        authorization_start(platform="sandbox_password", organization=org, user=admin_user, session_key="s")


def test_reauthorization_updates_the_same_credential(sandbox_server, org, admin_user):
    start = _start(org, admin_user)
    first = authorization_finish(platform="sandbox", params=approve(start.url), session_key="s-1", user=admin_user)
    old_access = first.token_set().access_token
    Credential.objects.filter(pk=first.pk).update(status="needs_reauth", last_error="invalid_grant")

    start = _start(org, admin_user, credential=first)
    again = authorization_finish(platform="sandbox", params=approve(start.url), session_key="s-1", user=admin_user)
    assert again.pk == first.pk and Credential.objects.count() == 1
    again.refresh_from_db()
    assert again.status == "active" and again.last_error == "" and again.token_set().access_token != old_access

    # a credential of another organization cannot be re-authorized through this one
    other_org = OrganizationFactory()
    with pytest.raises(AuthorizationFailed, match="belongs to another organization"):
        authorization_start(
            platform="sandbox",
            organization=other_org,
            user=member(other_org, "owner"),
            session_key="x",
            credential=first,
        )


def test_default_redirect_uri_prefers_the_app(org, settings):
    from accounts.models import PlatformApp

    settings.PUBLIC_URL = "http://platform.local:8000/"
    assert default_redirect_uri("meta") == "http://platform.local:8000/accounts/callback/meta/"
    app = PlatformApp.objects.create(platform="meta", name="m", client_id="c", redirect_uri="https://x.example/cb")
    assert default_redirect_uri("meta", app) == "https://x.example/cb"


def test_redirect_uri_must_come_back_to_us(sandbox_server, org, admin_user, settings):
    settings.PUBLIC_URL = "https://ads.example.com"
    with pytest.raises(AuthorizationFailed, match=r"redirect_uri 'https://evil.example/cb' is not on this platform"):
        _start(org, admin_user, redirect_uri="https://evil.example/cb")
    assert not PendingAuthorization.objects.exists()
    assert _start(org, admin_user, redirect_uri="https://ads.example.com/app/callback").state
    settings.AUTHORIZATION_REDIRECT_ORIGINS = ["https://console.example.com"]
    assert _start(org, admin_user, redirect_uri="https://console.example.com/oauth/done").state


def test_reauthorizing_a_deleted_credential_stores_nothing(sandbox_server, org, admin_user):
    first = authorization_finish(
        platform="sandbox", params=approve(_start(org, admin_user).url), session_key="s-1", user=admin_user
    )
    start = _start(org, admin_user, credential=first)
    Credential.objects.all().delete()
    with pytest.raises(AuthorizationFailed, match=f"credential #{first.pk} being re-authorized was deleted"):
        authorization_finish(platform="sandbox", params=approve(start.url), session_key="s-1", user=admin_user)
    assert not Credential.objects.exists()


def test_the_platform_app_is_used_and_kept_for_reauthorization(sandbox_server, org, admin_user):
    from tests.accounts.factories import PlatformAppFactory

    other = PlatformAppFactory(client_id="other-app", is_active=False)
    app = PlatformAppFactory(client_id="agency-app", redirect_uri="http://127.0.0.1:9/agency/callback")
    start = _start(org, admin_user)
    query = parse_qs(urlsplit(start.url).query)
    assert query["client_id"] == ["agency-app"] and query["redirect_uri"] == ["http://127.0.0.1:9/agency/callback"]
    credential = authorization_finish(platform="sandbox", params=approve(start.url), session_key="s-1", user=admin_user)
    assert credential.app == app

    # another app becomes the platform's default; the grant stays with its own client
    # (its code and refresh tokens are only good for that client)
    other.is_active = True
    other.save()
    assert parse_qs(urlsplit(_start(org, admin_user).url).query)["client_id"] == ["other-app"]
    start = _start(org, admin_user, credential=credential)
    assert parse_qs(urlsplit(start.url).query)["client_id"] == ["agency-app"]
    again = authorization_finish(platform="sandbox", params=approve(start.url), session_key="s-1", user=admin_user)
    assert again.pk == credential.pk and again.app == app


def test_pending_authorization_keeps_the_pkce_verifier_encrypted(sandbox_server, org, admin_user):
    start = _start(org, admin_user, session_key="session-secret-key")
    row = PendingAuthorization.objects.get(state=start.state)
    verifier = row.data["code_verifier"]
    assert len(verifier) >= 43 and row.data["context"]["session_key"] == "session-secret-key"
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM accounts_pendingauthorization WHERE id = %s", [row.pk])
        stored = cursor.fetchone()[0]
    assert verifier not in stored and "session-secret-key" not in stored
