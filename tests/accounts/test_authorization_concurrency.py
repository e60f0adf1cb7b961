"""The same callback delivered twice at once (a double click, a replay racing the user):
on MariaDB the row lock on the pending authorization lets exactly one of them through."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import Credential, PendingAuthorization
from accounts.services.authorization import authorization_finish, authorization_start
from connectors.errors import AuthorizationFailed
from tests.accounts.authflow_helpers import OrganizationFactory, approve, member

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]


def test_concurrent_callbacks_store_one_credential(sandbox_server):
    org = OrganizationFactory()
    user = member(org, "admin")
    start = authorization_start(platform="sandbox", organization=org, user=user, session_key="s")
    params = approve(start.url)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def finish():
        try:
            barrier.wait()
            authorization_finish(platform="sandbox", params=params, session_key="s", user=user)
            result = "ok"
        except AuthorizationFailed as exc:
            result = str(exc)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=finish) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count("ok") == 1, outcomes
    assert all("unknown or already used state" in o for o in outcomes if o != "ok")
    assert Credential.objects.count() == 1 and not PendingAuthorization.objects.exists()
    assert sandbox_server.stats["token_authorization_code"] == 1
