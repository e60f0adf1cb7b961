"""Many workers, one expiring credential: the row lock lets exactly one of them refresh
(MariaDB; SQLite has no row locks to test)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AdAccount, Credential
from accounts.services.tokens import credential_refresh, credentials_refresh_expiring, token_for_account
from tests.accounts.factories import CredentialFactory, PlatformAppFactory

THREADS = 20


def _run_at_once(calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(n, call):
        try:
            barrier.wait(timeout=10)
            results[n] = call()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_twenty_workers_one_refresh_everyone_gets_the_new_token(sandbox_server):
    app = PlatformAppFactory()
    token = sandbox_server.authorize(sandbox_server.connector(client_id=app.client_id), profile="5:1:3")
    credential = CredentialFactory.from_token(token, app=app)
    account = AdAccount.objects.create(
        organization=credential.organization, platform="sandbox", external_id="1", credential=credential
    )
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=timezone.now() + timedelta(seconds=20))

    # fetch tasks asking for a token, sweeps and explicit refreshes, all at the same moment
    calls = [lambda: token_for_account(AdAccount.objects.get(pk=account.pk)).access_token] * (THREADS - 6)
    calls += [lambda: credential_refresh(credential_id=credential.pk).access_token] * 3
    calls += [lambda: credentials_refresh_expiring()] * 3
    results = _run_at_once(calls)

    assert sandbox_server.stats["token_refresh"] == 1
    credential.refresh_from_db()
    assert credential.access_token != token.access_token
    assert credential.access_expires_at > timezone.now() + timedelta(hours=23)
    assert results[: THREADS - 3] == [credential.access_token] * (THREADS - 3)
    sweeps = results[THREADS - 3 :]
    assert sum(s["refreshed"] for s in sweeps) + sum(s["skipped"] for s in sweeps) <= 3
    assert all(s["failed"] == 0 and s["needs_reauth"] == 0 for s in sweeps)
    # and the new token works (the spent refresh token would have revoked the grant)
    assert list(sandbox_server.connector(client_id=app.client_id).list_accounts(credential.token_set()))


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_parallel_sweeps_refresh_each_credential_once(sandbox_server):
    from connectors import oauth2
    from connectors.sandbox import authserver
    from connectors.sandbox.world import Profile

    app = PlatformAppFactory()
    soon = timezone.now() + timedelta(minutes=30)
    credentials = []
    for _ in range(30):
        credential = CredentialFactory.from_token(
            oauth2.token_set(authserver.issue_grant(client_id=app.client_id, profile=Profile.parse("1:1:1"))), app=app
        )
        credentials.append(credential)
    Credential.objects.filter(pk__in=[c.pk for c in credentials]).update(access_expires_at=soon)

    # two sweeps with 4 workers each, overlapping completely
    sweeps = _run_at_once([lambda: credentials_refresh_expiring(workers=4)] * 2)

    assert sandbox_server.stats["token_refresh"] == 30
    assert sum(s["refreshed"] for s in sweeps) == 30 and sum(s["skipped"] for s in sweeps) == 30
    assert all(s["failed"] == 0 and s["needs_reauth"] == 0 for s in sweeps)
    assert Credential.objects.filter(access_expires_at__gt=timezone.now() + timedelta(hours=23)).count() == 30
