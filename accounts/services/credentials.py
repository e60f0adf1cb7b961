"""Credential state changes that end or suspend a grant: needs re-authorization, revoked.

Both pause the DAGs of the ad accounts the credential reaches (through the DAG manager)
so the scheduler stops running fetches that can only fail; re-importing the accounts
after a new authorization (accounts.services.importing) resumes them.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import AdAccount, Credential
from accounts.signals import account_needs_reauth, send_logged

logger = logging.getLogger(__name__)

# last_error is shown in the admin; platform messages can be long
_ERROR_LIMIT = 2000


def _pause_accounts(accounts) -> list[int]:
    """Set the working accounts of `accounts` (a queryset) to needs_reauth and pause their
    DAGs. Accounts a user paused or disabled keep their status (their DAGs are paused
    already or must stay so). Returns the ids of the accounts that changed."""
    from ingestion.services.manager import dags_pause_for_account

    changed = list(accounts.select_for_update().filter(status=AdAccount.Status.ACTIVE).values_list("pk", flat=True))
    AdAccount.objects.filter(pk__in=changed).update(status=AdAccount.Status.NEEDS_REAUTH, updated_at=timezone.now())
    for account_id in changed:
        dags_pause_for_account(ad_account_id=account_id)
    return changed


def _notify_needs_reauth(account_ids: list[int]) -> None:
    for account_id in account_ids:
        send_logged(account_needs_reauth, AdAccount, ad_account_id=account_id)


def credential_mark_needs_reauth(*, credential_id: int, reason: str) -> Credential:
    """The grant no longer works (invalid_grant, revoked at the platform, password changed):
    status needs_reauth, the reason kept for the admin, the accounts' DAGs paused and the
    organization told (signal on commit). A credential already not active (revoked, or
    marked by a refresh refused a moment ago) keeps its status and its first reason."""
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential_id)
        if credential.status != Credential.Status.ACTIVE:
            return credential
        credential.status = Credential.Status.NEEDS_REAUTH
        credential.last_error = reason[:_ERROR_LIMIT]
        credential.save(update_fields=["status", "last_error", "updated_at"])
        changed = _pause_accounts(AdAccount.objects.filter(credential=credential))
        transaction.on_commit(lambda: _notify_needs_reauth(changed))
    logger.warning(
        "%s credential %s needs re-authorization (%d ad accounts paused): %s",
        credential.platform,
        credential.pk,
        len(changed),
        reason,
    )
    return credential


def ad_account_mark_needs_reauth(*, ad_account_id: int, reason: str) -> AdAccount:
    """The grant works but no longer reaches this one account (access removed on the
    platform): only this account waits for a grant that reaches it (its DAGs paused, the
    organization told); the credential's other accounts keep fetching."""
    with transaction.atomic():
        changed = _pause_accounts(AdAccount.objects.filter(pk=ad_account_id))
        transaction.on_commit(lambda: _notify_needs_reauth(changed))
    account = AdAccount.objects.get(pk=ad_account_id)
    if changed:
        logger.warning(
            "%s ad account %s lost its access (DAGs paused): %s", account.platform, account.external_id, reason
        )
    return account


def credential_revoke(*, credential_id: int) -> Credential:
    """Revoke a grant: at the platform where it supports revocation (a failure there is
    noted, not fatal: we forget the tokens either way), then wipe the tokens, set status
    revoked and pause the accounts' DAGs."""
    from accounts.services.tokens import connector_for_credential
    from connectors.registry import platform_spec

    credential = Credential.objects.select_related("app").get(pk=credential_id)
    note = "revoked"
    # The platform call happens outside the row lock: a slow platform must not block
    # refreshes of other rows or the admin.
    if (
        credential.status != Credential.Status.REVOKED
        and platform_spec(credential.platform).supports_revoke
        and (credential.access_token or credential.refresh_token)
    ):
        try:
            connector_for_credential(credential).revoke(credential.token_set())
        except Exception as exc:
            note = f"revoked here; revoking at {credential.platform} failed ({exc}); remove the app's access there too"
            logger.warning(
                "%s credential %s: revoke at the platform failed: %s", credential.platform, credential.pk, exc
            )
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential_id)
        credential.status = Credential.Status.REVOKED
        credential.access_token = credential.refresh_token = ""
        credential.secrets = {}
        credential.access_expires_at = credential.refresh_expires_at = None
        credential.last_error = note[:_ERROR_LIMIT]
        credential.save()
        _pause_accounts(AdAccount.objects.filter(credential=credential))
    logger.info("%s credential %s revoked", credential.platform, credential.pk)
    return credential
