"""Tokens nothing can renew (Meta's long-lived user token, a TikTok token with an expiry):
inside the platform's lead time the refresh sweep warns the organization once per expiry
(email, webhook when configured), a re-authorization with a new expiry arms the warning
again, and a credential that can be refreshed is refreshed, never warned."""

import json
import threading
from datetime import timedelta

import pytest
import responses
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.models import AdAccount, Credential
from accounts.services.authorization import DatabaseAuthorizationStore
from accounts.services.tokens import credential_warn_expiring, credentials_refresh_expiring
from connectors.base import TokenSet
from tests.accounts.factories import CredentialFactory, MembershipFactory, PlatformAppFactory, UserFactory


def _unrenewable(platform: str, expires_in: timedelta, **fields) -> tuple[Credential, str]:
    admin = UserFactory()
    credential = CredentialFactory(
        platform=platform,
        refresh_token="",
        refresh_expires_at=None,
        access_expires_at=timezone.now() + expires_in,
        **fields,
    )
    MembershipFactory(user=admin, organization=credential.organization)
    AdAccount.objects.create(
        organization=credential.organization,
        platform=platform,
        external_id=f"act_{credential.pk}",
        name="Shoes",
        credential=credential,
    )
    return credential, admin.email


def _sweep(capture) -> dict:
    with capture(execute=True):
        return credentials_refresh_expiring()


@pytest.mark.django_db
@pytest.mark.parametrize("platform, expires_in", [("meta", timedelta(days=3)), ("tiktok", timedelta(hours=1))])
def test_inside_the_lead_time_two_sweeps_send_one_warning(
    platform, expires_in, celery_eager, django_capture_on_commit_callbacks
):
    credential, email = _unrenewable(platform, expires_in)

    first = _sweep(django_capture_on_commit_callbacks)
    second = _sweep(django_capture_on_commit_callbacks)

    assert first["reauth_due"] == 1 and second["reauth_due"] == 1
    (message,) = mail.outbox
    credential.refresh_from_db()
    day = f"{credential.access_expires_at:%Y-%m-%d}"
    assert message.to == [email]
    assert message.subject == f"[adplatform] re-authorize {platform} credential #{credential.pk} before {day}"
    assert f"expires on {credential.access_expires_at:%Y-%m-%d %H:%M UTC}" in message.body
    assert f"Shoes (act_{credential.pk})" in message.body
    assert message.body.splitlines()[-1] == f"Re-authorize: {settings.PUBLIC_URL}/accounts/"
    assert credential.reauth_warned_for == credential.access_expires_at
    assert credential.status == "active" and credential.last_error.startswith("re-authorize before ")


@pytest.mark.django_db
def test_outside_the_lead_time_nobody_is_warned(celery_eager, django_capture_on_commit_callbacks):
    credential, _ = _unrenewable("meta", timedelta(days=10))  # Meta's lead time is 7 days
    long_term, _ = _unrenewable("tiktok", timedelta(days=400))

    counts = _sweep(django_capture_on_commit_callbacks)

    assert counts["reauth_due"] == 0
    assert mail.outbox == []
    assert Credential.objects.filter(pk__in=[credential.pk, long_term.pk], reauth_warned_for__isnull=False).count() == 0


@pytest.mark.django_db
def test_reauthorizing_with_a_new_expiry_arms_the_warning_again(celery_eager, django_capture_on_commit_callbacks):
    credential, email = _unrenewable("meta", timedelta(days=2))
    _sweep(django_capture_on_commit_callbacks)
    _sweep(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1

    # The database side of a re-authorization (what the callback stores): Meta's new
    # long-lived token lasts 60 days, so the next sweeps have nothing to say ...
    admin = credential.organization.memberships.get().user
    renewed = timezone.now() + timedelta(days=60)
    DatabaseAuthorizationStore().save_credential(
        token=TokenSet(access_token="EAAB-new-long-lived", expires_at=renewed),
        accounts=[],
        context={
            "platform": "meta",
            "organization_id": credential.organization_id,
            "user_id": admin.pk,
            "credential_id": credential.pk,
        },
    )
    _sweep(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1

    # ... until that token too comes within the lead time: one more warning, for it
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() + timedelta(days=6))
    _sweep(django_capture_on_commit_callbacks)
    _sweep(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    credential.refresh_from_db()
    assert mail.outbox[1].to == [email]
    assert f"before {credential.access_expires_at:%Y-%m-%d}" in mail.outbox[1].subject
    assert credential.reauth_warned_for == credential.access_expires_at


@pytest.mark.django_db
def test_a_refreshable_credential_is_refreshed_never_warned(
    sandbox_server, celery_eager, django_capture_on_commit_callbacks
):
    app = PlatformAppFactory()
    token = sandbox_server.authorize(sandbox_server.connector(client_id=app.client_id), profile="4:1:3")
    credential = CredentialFactory.from_token(token, app=app)
    MembershipFactory(organization=credential.organization)
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() + timedelta(minutes=30))

    first = _sweep(django_capture_on_commit_callbacks)
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() + timedelta(minutes=30))
    second = _sweep(django_capture_on_commit_callbacks)

    assert first["refreshed"] == 1 and second["refreshed"] == 1 and first["reauth_due"] == second["reauth_due"] == 0
    assert sandbox_server.stats["token_refresh"] == 2
    assert mail.outbox == []
    assert Credential.objects.get(pk=credential.pk).reauth_warned_for is None


@pytest.mark.django_db
@responses.activate
def test_the_webhook_is_told_too(celery_eager, django_capture_on_commit_callbacks):
    credential, _email = _unrenewable("meta", timedelta(days=1))
    organization = credential.organization
    organization.webhook_url = "https://hooks.example.com/services/T000/B000/XXXX"
    organization.save()
    responses.post(organization.webhook_url, json={"ok": True})

    _sweep(django_capture_on_commit_callbacks)
    _sweep(django_capture_on_commit_callbacks)

    assert len(responses.calls) == 1 and len(mail.outbox) == 1
    text = json.loads(responses.calls[0].request.body)["text"]
    assert f"credential #{credential.pk}" in text and "/accounts/" in text


@pytest.mark.django_db
def test_a_warning_overtaken_by_a_reauthorization_is_not_sent(celery_eager, django_capture_on_commit_callbacks):
    from web.notifications import notify_credential_expiring

    credential, _ = _unrenewable("meta", timedelta(days=2))
    warned_for = credential.access_expires_at
    assert credential_warn_expiring(credential_id=credential.pk, expires_at=warned_for) is True
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() + timedelta(days=60))

    assert notify_credential_expiring(credential_id=credential.pk, expires_at=warned_for.isoformat()) is None
    assert mail.outbox == []
    # and a claim for an expiry the row no longer has changes nothing
    assert credential_warn_expiring(credential_id=credential.pk, expires_at=warned_for) is False


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_warn_once(celery_eager):
    """Eight sweeps at once (each its own connection, as separate workers would be) over
    the same due credentials: the conditional UPDATE lets one claim each expiry."""
    credentials = [_unrenewable("meta", timedelta(days=n + 1))[0] for n in range(3)]
    barrier = threading.Barrier(8)
    errors = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            credentials_refresh_expiring()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"[adplatform] re-authorize meta credential #{c.pk} before {c.access_expires_at:%Y-%m-%d}" for c in credentials
    )
