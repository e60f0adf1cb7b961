"""Many failing tasks of one account at once (every task of a run hits AccountAccessLost
together), racing a re-authorization that reinstates it: the row lock lets exactly one
suspension change the state and tell the organization, and the DAGs always end in step
with the account (MariaDB; SQLite has no row locks to test)."""

import threading

import pytest
from django.db import connection

from accounts.models import AdAccount
from accounts.services.ad_accounts import ad_account_reinstate, ad_account_suspend
from accounts.signals import account_needs_reauth
from ingestion.models import Dag
from ingestion.services.manager import dags_materialize_for_account
from tests.accounts.factories import AdAccountFactory, dag_template

THREADS = 12


def _run_at_once(calls):
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_concurrent_suspensions_change_the_state_once_and_tell_the_organization_once():
    dag_template()
    account = AdAccountFactory()
    dags_materialize_for_account(ad_account_id=account.pk)
    told = []

    def receiver(sender, ad_account_id=None, **kwargs):
        told.append(ad_account_id)

    account_needs_reauth.connect(receiver, dispatch_uid="test-account-state-concurrency")
    try:
        _run_at_once(
            [lambda n=n: ad_account_suspend(ad_account_id=account.pk, reason=f"task {n}") for n in range(THREADS)]
        )
    finally:
        account_needs_reauth.disconnect(dispatch_uid="test-account-state-concurrency")

    assert told == [account.pk]
    account.refresh_from_db()
    assert account.status == AdAccount.Status.NEEDS_REAUTH and account.status_reason.startswith("task ")
    assert list(Dag.objects.filter(ad_account=account).values_list("account_paused", flat=True)) == [True]


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_suspensions_racing_a_reinstatement_leave_the_dags_in_step_with_the_account():
    dag_template()
    accounts = [AdAccountFactory() for _ in range(4)]
    for account in accounts:
        dags_materialize_for_account(ad_account_id=account.pk)
    calls = []
    for account in accounts:
        calls += [lambda a=account: ad_account_suspend(ad_account_id=a.pk, reason="lost")] * 3
        calls += [lambda a=account: ad_account_reinstate(ad_account_id=a.pk)] * 2
    _run_at_once(calls)

    for account in accounts:
        account.refresh_from_db()
        paused = set(Dag.objects.filter(ad_account=account).values_list("account_paused", flat=True))
        assert paused == {account.status != AdAccount.Status.ACTIVE}, account.status
