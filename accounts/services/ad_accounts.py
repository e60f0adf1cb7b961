"""Pausing and resuming an imported ad account (admin actions, API): its status and its
DAGs change together."""

from __future__ import annotations

from django.db import transaction

from accounts.models import AdAccount


class AccountNotResumable(ValueError):
    """Only a paused account can be resumed (one waiting for re-authorization needs a new grant)."""


@transaction.atomic
def ad_account_pause(*, ad_account_id: int) -> AdAccount:
    """Stop fetching for the account: status paused, its DAGs paused (runs going on finish)."""
    from ingestion.services.manager import dags_pause_for_account

    account = AdAccount.objects.select_for_update().get(pk=ad_account_id)
    if account.status != AdAccount.Status.PAUSED:
        account.status = AdAccount.Status.PAUSED
        account.save(update_fields=["status", "updated_at"])
    dags_pause_for_account(ad_account_id=account.pk)
    return account


@transaction.atomic
def ad_account_resume(*, ad_account_id: int) -> AdAccount:
    """Fetch again: a paused account becomes active and its DAGs resume at their next tick."""
    from ingestion.services.manager import dags_resume_for_account

    account = AdAccount.objects.select_for_update().get(pk=ad_account_id)
    if account.status == AdAccount.Status.ACTIVE:
        return account
    if account.status != AdAccount.Status.PAUSED:
        raise AccountNotResumable(
            f"{account.platform} account {account.external_id} is {account.status}, not paused: "
            + ("re-authorize it first" if account.status == AdAccount.Status.NEEDS_REAUTH else "it cannot be resumed")
        )
    account.status = AdAccount.Status.ACTIVE
    account.save(update_fields=["status", "updated_at"])
    dags_resume_for_account(ad_account_id=account.pk)
    return account
