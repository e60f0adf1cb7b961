"""Credential state changes that end or suspend a grant: needs re-authorization, revoked,
deleted.

Each suspends the credential's ad accounts through accounts.services.ad_accounts (the one
owner of an account's state: status, reason, the DAGs' pause, the notification) so the
scheduler stops running fetches that can only fail; a grant that reaches them again
(re-authorization, a new authorization, an import) reinstates them.
"""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.models import AdAccount, Credential

logger = logging.getLogger(__name__)

# last_error is shown in the admin; platform messages can be long
_ERROR_LIMIT = 2000


def _suspend_accounts(credential: Credential, reason: str, *, notify: bool = True) -> list[int]:
    """Suspend the credential's working accounts (accounts.services.ad_accounts, which
    pauses their DAGs); paused and disabled ones keep their status. Returns the ids of the
    accounts that were active."""
    from accounts.services.ad_accounts import ad_account_suspend

    ids = list(
        AdAccount.objects.filter(
            credential=credential, status__in=[AdAccount.Status.ACTIVE, AdAccount.Status.NEEDS_REAUTH]
        )
        .order_by("pk")
        .values_list("pk", "status")
    )
    for account_id, _ in ids:
        ad_account_suspend(ad_account_id=account_id, reason=reason, notify=notify)
    return [account_id for account_id, status in ids if status == AdAccount.Status.ACTIVE]


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
        changed = _suspend_accounts(
            credential, f"credential #{credential.pk} needs re-authorization ({reason}): re-authorize it"
        )
    logger.warning(
        "%s credential %s needs re-authorization (%d ad accounts paused): %s",
        credential.platform,
        credential.pk,
        len(changed),
        reason,
    )
    return credential


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
        _suspend_accounts(
            credential,
            f"its credential #{credential.pk} was revoked: authorize a new grant that reaches it",
            notify=False,
        )
    logger.info("%s credential %s revoked", credential.platform, credential.pk)
    return credential


def credential_deleting(*, credential: Credential) -> list[int]:
    """A credential is about to be deleted (admin, API, an organization's clean-up): its
    accounts lose their grant with it (the foreign key is SET_NULL), so they are suspended
    now, in the deleting transaction, and the organization told; a grant that reaches them
    reinstates them. Connected to pre_delete (accounts.apps), so every way of deleting
    one, bulk deletes included, goes through here."""
    changed = _suspend_accounts(
        credential,
        f"its credential #{credential.pk} was deleted: authorize a grant that reaches this account, then import it",
    )
    if changed:
        logger.warning(
            "%s credential %s deleted: %d ad account(s) suspended", credential.platform, credential.pk, len(changed)
        )
    return changed
