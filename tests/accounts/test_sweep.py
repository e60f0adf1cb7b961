"""The refresh sweep picks each platform's credentials by its own lead time and refreshes
exactly the due ones (sandbox over HTTP; other platforms are never called: their
credentials here are either not due or cannot be refreshed)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AdAccount, Credential
from accounts.services.tokens import credentials_refresh_expiring
from tests.accounts.factories import CredentialFactory, PlatformAppFactory

pytestmark = pytest.mark.django_db


def _sandbox_credential(sandbox_server, app, **fields):
    token = sandbox_server.authorize(sandbox_server.connector(client_id=app.client_id), profile="4:1:3")
    credential = CredentialFactory.from_token(token, app=app)
    Credential.objects.filter(pk=credential.pk).update(**fields)
    credential.refresh_from_db()
    return credential


def test_sweep_refreshes_only_what_each_platform_lead_makes_due(sandbox_server):
    now = timezone.now()
    app = PlatformAppFactory()
    # sandbox: lead 2 h, refresh tokens rotate (an expiring refresh token is due too)
    in_1h = _sandbox_credential(sandbox_server, app, access_expires_at=now + timedelta(hours=1))
    in_3h = _sandbox_credential(sandbox_server, app, access_expires_at=now + timedelta(hours=3))
    refresh_soon = _sandbox_credential(
        sandbox_server, app, access_expires_at=now + timedelta(hours=20), refresh_expires_at=now + timedelta(minutes=30)
    )
    needs_reauth = _sandbox_credential(
        sandbox_server, app, access_expires_at=now + timedelta(minutes=5), status=Credential.Status.NEEDS_REAUTH
    )
    # google_ads: lead 5 min, so an hour away is not due (and Google is never called)
    google = CredentialFactory(platform="google_ads", access_expires_at=now + timedelta(hours=1))
    # meta: no refresh, lead 7 days: inside it re-authorization is due; expired = needs_reauth
    meta_due = CredentialFactory(platform="meta", refresh_token="", access_expires_at=now + timedelta(days=3))
    meta_expired = CredentialFactory(platform="meta", refresh_token="", access_expires_at=now - timedelta(minutes=1))
    meta_account = AdAccount.objects.create(
        organization=meta_expired.organization, platform="meta", external_id="act_1", credential=meta_expired
    )
    # tiktok: long-term token, no expiry
    tiktok = CredentialFactory(platform="tiktok", refresh_token="", access_expires_at=None, refresh_expires_at=None)
    # a platform whose connector this deployment no longer has: skipped, not fatal
    gone = CredentialFactory(platform="retired_platform", access_expires_at=now + timedelta(minutes=1))
    tokens = {c.pk: c.access_token for c in (in_1h, in_3h, refresh_soon, needs_reauth, google, meta_due, tiktok, gone)}

    counts = credentials_refresh_expiring(now=now)

    assert counts == {"refreshed": 2, "skipped": 0, "needs_reauth": 1, "reauth_due": 1, "failed": 0}
    assert sandbox_server.stats["token_refresh"] == 2
    fresh = {c.pk: c for c in Credential.objects.all()}
    assert fresh[in_1h.pk].access_token != tokens[in_1h.pk]
    assert fresh[in_1h.pk].access_expires_at > now + timedelta(hours=23)
    assert fresh[refresh_soon.pk].access_token != tokens[refresh_soon.pk]
    assert fresh[refresh_soon.pk].refresh_expires_at > now + timedelta(days=29)
    for untouched in (in_3h, needs_reauth, google, tiktok, meta_due, gone):
        assert fresh[untouched.pk].access_token == tokens[untouched.pk]
    assert fresh[meta_due.pk].status == "active" and fresh[meta_due.pk].last_error.startswith("re-authorize before ")
    assert fresh[meta_expired.pk].status == "needs_reauth"
    assert "issues no refresh token" in fresh[meta_expired.pk].last_error
    assert AdAccount.objects.get(pk=meta_account.pk).status == "needs_reauth"

    # a second sweep right after finds nothing to refresh
    again = credentials_refresh_expiring(now=now)
    assert again["refreshed"] == 0 and again["reauth_due"] == 1
    assert sandbox_server.stats["token_refresh"] == 2


def test_sweep_counts_a_refused_refresh_and_goes_on(sandbox_server):
    now = timezone.now()
    app = PlatformAppFactory()
    spent = _sandbox_credential(sandbox_server, app, access_expires_at=now + timedelta(minutes=10))
    sandbox_server.connector(client_id=app.client_id).refresh(spent.token_set())  # spends its refresh token
    ok = _sandbox_credential(sandbox_server, app, access_expires_at=now + timedelta(minutes=20))

    counts = credentials_refresh_expiring(now=now)

    assert counts["needs_reauth"] == 1 and counts["refreshed"] == 1
    assert Credential.objects.get(pk=spent.pk).status == "needs_reauth"
    assert Credential.objects.get(pk=ok.pk).status == "active"


def test_the_due_query_has_one_condition_per_platform():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.services.tokens import _expiring

    now = timezone.now()
    for _ in range(30):  # many credentials of one platform, each created at its own moment
        CredentialFactory(platform="google_ads", access_expires_at=now + timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        list(Credential.objects.filter(_expiring(now)))
    assert queries.captured_queries[-1]["sql"].count("google_ads") == 1
