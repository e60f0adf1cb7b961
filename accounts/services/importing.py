"""Importing discovered ad accounts into an organization and handing them to the DAG manager.

Idempotent: importing the same accounts again updates their names, currencies, time
zones and credential and creates no duplicates. Re-authorization is an import too: an
account that was waiting for a grant (suspended, needs_reauth) is reinstated through
accounts.services.ad_accounts when the importing credential works: active, DAGs resume.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from accounts.models import AdAccount, Credential
from connectors.base import AccountInfo


class AccountOfOtherOrganization(ValueError):
    """The platform account is already imported into another organization."""


@transaction.atomic
def ad_accounts_import(
    *, credential: Credential, accounts: list[AccountInfo], external_ids: Iterable[str] | None = None
) -> list[AdAccount]:
    """Create or update an AdAccount (organization = the credential's) for each of
    `accounts` (only those in `external_ids` when given) and materialize its DAGs."""
    from accounts.services.ad_accounts import ad_account_reinstate
    from ingestion.services.manager import dags_materialize_for_account

    wanted = {str(x) for x in external_ids} if external_ids is not None else None
    imported = []
    for info in accounts:
        external_id = str(info.external_id)
        if wanted is not None and external_id not in wanted:
            continue
        account = (
            AdAccount.objects.select_for_update().filter(platform=credential.platform, external_id=external_id).first()
        )
        if account is not None and account.organization_id != credential.organization_id:
            # One row per platform account (its DAG ids are global): moving it silently
            # would hand one organization's data to another.
            raise AccountOfOtherOrganization(
                f"{credential.platform} account {external_id} ({info.name}) is imported into another organization; "
                "remove it there first"
            )
        fields = {
            "name": info.name[:300],
            "currency": info.currency or "",
            "timezone": info.timezone or "UTC",
            "platform_status": (info.status or "")[:32],
            "credential": credential,
            "raw": dict(info.raw or {}),
        }
        if account is None:
            account = AdAccount.objects.create(
                organization=credential.organization, platform=credential.platform, external_id=external_id, **fields
            )
        else:
            for key, value in fields.items():
                setattr(account, key, value)
            account.save(update_fields=[*fields, "updated_at"])
        dags_materialize_for_account(ad_account_id=account.pk)
        if credential.status == Credential.Status.ACTIVE:
            # A grant that reaches the account brings back one that waited for one (and
            # brings its DAGs in step); one a user paused or disabled stays as they left it.
            account = ad_account_reinstate(ad_account_id=account.pk)
        imported.append(account)
    return imported
