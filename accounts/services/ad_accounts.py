"""The one owner of an ad account's state: every change of `AdAccount.status` goes
through this module, which writes the status, why (status_reason) and when, keeps the
DAGs' `account_paused` equal to "the account is not active" and tells the organization
when an account is suspended.

  active        fetching.
  paused        a user paused it (admin, API); `ad_account_resume` brings it back.
  needs_reauth  suspended: no grant we hold reaches it (grant revoked, credential deleted,
                access to this one advertiser removed on the platform, a re-authorization
                by a user who cannot see it). `ad_account_suspend(reason=)` puts it there,
                from any fetch, refresh, revoke or re-authorization; a grant that reaches it
                again (re-authorization, a new authorization, an import) calls
                `ad_account_reinstate`.
  disabled      an operator's choice; nothing here changes it.

Suspending leaves paused and disabled accounts as a user left them (their DAGs are paused
already); resuming one checks that its credential still works.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import AdAccount, Credential

logger = logging.getLogger(__name__)

# status_reason is shown on pages and in mails; platform messages can be long
_REASON_LIMIT = 2000
Status = AdAccount.Status


class AccountNotResumable(ValueError):
    """Only a paused account whose credential works can be resumed (a suspended one needs a grant)."""


def _set_state(account: AdAccount, status: str, reason: str) -> bool:
    """Write `status` and `reason` on the locked `account` and bring its DAGs in step.
    Returns whether the status changed. The DAGs are synced even when it did not, so an
    account whose DAGs drifted (an older release paused DAGs behind its back) heals on
    the next action."""
    from ingestion.services.manager import dags_pause_for_account, dags_resume_for_account

    changed = account.status != status
    if changed or account.status_reason != reason:
        account.status = status
        account.status_reason = reason[:_REASON_LIMIT]
        if changed:
            account.status_changed_at = timezone.now()
        account.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    if status == Status.ACTIVE:
        dags_resume_for_account(ad_account_id=account.pk)
    else:
        dags_pause_for_account(ad_account_id=account.pk)
    return changed


def _credential_problem(account: AdAccount) -> str:
    """Why the account's credential cannot fetch for it ("" when it can)."""
    credential = account.credential
    if credential is None:
        return "it has no credential (deleted?): authorize a grant that reaches it, then import it"
    if credential.status != Credential.Status.ACTIVE:
        return f"its credential #{credential.pk} is {credential.status}: re-authorize it"
    # Credentials made before discovery was stored have none: no evidence either way.
    reached = {str(a.get("external_id")) for a in credential.discovered_accounts or []}
    if reached and str(account.external_id) not in reached:
        return (
            f"its credential #{credential.pk} does not reach it: re-authorize with a user who has access to "
            "this account, or find new accounts"
        )
    return ""


def ad_account_suspend(*, ad_account_id: int, reason: str, notify: bool = True) -> AdAccount:
    """No grant reaches the account any more: status needs_reauth with `reason` (what
    happened and what to do), its DAGs paused (runs going on finish), the organization
    told once (signal on commit) when the account was active, unless `notify` is False (a
    user revoking the grant themselves). A suspended account gets the newer reason and no
    second notification; a paused or disabled one is left alone."""
    from accounts.signals import account_needs_reauth, send_logged

    with transaction.atomic():
        account = AdAccount.objects.select_for_update().get(pk=ad_account_id)
        if account.status not in (Status.ACTIVE, Status.NEEDS_REAUTH):
            return account
        changed = _set_state(account, Status.NEEDS_REAUTH, reason)
        if changed and notify:
            transaction.on_commit(lambda: send_logged(account_needs_reauth, AdAccount, ad_account_id=ad_account_id))
    if changed:
        logger.warning(
            "%s ad account %s suspended (DAGs paused): %s", account.platform, account.external_id, account.status_reason
        )
    return account


def ad_account_reinstate(*, ad_account_id: int) -> AdAccount:
    """A grant reaches the suspended account again: active, reason cleared, its DAGs resume
    at their next tick. Paused and disabled accounts stay as they are (their DAGs stay
    paused); an active one only has its DAGs brought in step."""
    with transaction.atomic():
        account = AdAccount.objects.select_for_update().get(pk=ad_account_id)
        if account.status in (Status.ACTIVE, Status.NEEDS_REAUTH):
            changed = _set_state(account, Status.ACTIVE, "")
        else:
            changed = False
            _set_state(account, account.status, account.status_reason)
    if changed:
        logger.info("%s ad account %s reinstated (DAGs resume)", account.platform, account.external_id)
    return account


@transaction.atomic
def ad_account_pause(*, ad_account_id: int, reason: str = "paused by a user: resume it to fetch again") -> AdAccount:
    """Stop fetching for the account: status paused, its DAGs paused (runs going on finish).
    A suspended account is paused too (resuming it later checks its grant)."""
    account = AdAccount.objects.select_for_update().get(pk=ad_account_id)
    if account.status == Status.DISABLED:
        _set_state(account, account.status, account.status_reason)
        return account
    _set_state(account, Status.PAUSED, account.status_reason if account.status == Status.PAUSED else reason)
    return account


@transaction.atomic
def ad_account_resume(*, ad_account_id: int) -> AdAccount:
    """Fetch again: a paused account whose credential works becomes active and its DAGs
    resume at their next tick. Raises AccountNotResumable (nothing changed) for a suspended
    or disabled account, or one whose credential no longer reaches it."""
    account = AdAccount.objects.select_for_update().select_related("credential").get(pk=ad_account_id)
    if account.status == Status.ACTIVE:
        _set_state(account, Status.ACTIVE, "")  # heals DAGs left paused behind the account's back
        return account
    name = f"{account.platform} account {account.external_id}"
    if account.status == Status.NEEDS_REAUTH:
        raise AccountNotResumable(
            f"{name} is needs_reauth, not paused: re-authorize it first (suspended: {account.status_reason or '-'})"
        )
    if account.status != Status.PAUSED:
        raise AccountNotResumable(f"{name} is {account.status}, not paused: it cannot be resumed")
    if problem := _credential_problem(account):
        raise AccountNotResumable(f"{name} cannot be resumed: {problem}")
    _set_state(account, Status.ACTIVE, "")
    return account
