"""Discovering again which ad accounts a credential reaches, without a new authorization.

An advertiser who adds an ad account to an existing grant on the platform (a Business
Center admin ticking one more advertiser, a manager account gaining a client) would
otherwise have to go through the platform's sign-in again only for us to see it. Here
the stored grant asks the platform (its token refreshed on demand, as fetches do), the
answer replaces the credential's `discovered_accounts`, and the picker and the import
API (accounts.services.importing, which materializes DAGs) offer what it found. Like an
authorization it checks the credential's accounts against that answer
(accounts.services.authorization.credential_reach_check): those it no longer reaches are
suspended, suspended ones it reaches are reinstated.

A grant the platform refuses (revoked, refresh refused) is marked needs_reauth through
accounts.services.credentials (its accounts' DAGs paused, the organization told) and
AuthorizationRevoked is raised with a message that says to re-authorize.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import AdAccount, Credential
from accounts.services.authorization import account_record, credential_reach_check
from accounts.services.credentials import credential_mark_needs_reauth
from accounts.services.tokens import connector_for_credential, token_for_credential
from connectors.base import AccountInfo, TokenSet
from connectors.errors import AuthorizationRevoked, TokenExpired

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiscoveredAccount:
    """An account the grant reaches now, and where it stands here."""

    external_id: str
    name: str
    currency: str
    timezone: str
    status: str
    imported: bool  # into the credential's organization
    imported_elsewhere: bool  # into another organization: cannot be imported here


def credential_discover(*, credential_id: int) -> list[DiscoveredAccount]:
    """Ask the platform which accounts the credential reaches now, keep them as its
    discovered accounts (what the picker and the import API accept) and return them,
    marked imported or not. Raises AuthorizationRevoked when the grant no longer works
    (the credential is then needs_reauth) and ConnectorError for anything else the
    platform answers (nothing is changed then)."""
    credential = Credential.objects.select_related("app").get(pk=credential_id)
    # Raises for a credential that is not active, and a refused refresh marks it
    # needs_reauth itself (with its own reason).
    token = token_for_credential(credential_id=credential.pk)
    connector = connector_for_credential(credential)
    try:
        accounts = _list_accounts(connector, credential.pk, token)
    except AuthorizationRevoked as exc:
        # The platform refuses the grant: what the next fetch would hit, so stop it now
        # (a credential marked a moment ago keeps its first reason).
        credential_mark_needs_reauth(credential_id=credential.pk, reason=f"discovering ad accounts: {exc}")
        raise
    records = [account_record(a) for a in accounts]
    Credential.objects.filter(pk=credential.pk).update(discovered_accounts=records, updated_at=timezone.now())
    # The listing is as fresh as an authorization's: accounts it no longer shows are
    # suspended now, suspended ones it shows again are reinstated.
    credential.refresh_from_db()
    credential_reach_check(
        credential=credential,
        accounts=accounts,
        source=f"finding the accounts of credential #{credential.pk} on {timezone.now():%Y-%m-%d %H:%M %Z}",
    )
    logger.info(
        "%s credential %s: %d ad account(s) reachable on discovery", credential.platform, credential.pk, len(records)
    )
    return discovered_accounts_marked(credential.organization_id, credential.platform, records)


def _list_accounts(connector, credential_id: int, token: TokenSet) -> list[AccountInfo]:
    try:
        return list(connector.list_accounts(token))
    except TokenExpired:
        # refused as expired although its expiry said otherwise: refresh it once (unless
        # another worker already did) and ask again; a second refusal is the platform's word
        token = token_for_credential(credential_id=credential_id, rejected=token)
        return list(connector.list_accounts(token))


def discovered_accounts_marked(organization_id: int, platform: str, records: list[dict]) -> list[DiscoveredAccount]:
    """`records` (a credential's discovered_accounts) with where each account is imported."""
    ids = [str(r["external_id"]) for r in records]
    owners = dict(
        AdAccount.objects.filter(platform=platform, external_id__in=ids).values_list("external_id", "organization_id")
    )
    return [
        DiscoveredAccount(
            external_id=str(r["external_id"]),
            name=r.get("name", ""),
            currency=r.get("currency", ""),
            timezone=r.get("timezone") or "UTC",
            status=r.get("status", ""),
            imported=owners.get(str(r["external_id"])) == organization_id,
            imported_elsewhere=str(r["external_id"]) in owners and owners[str(r["external_id"])] != organization_id,
        )
        for r in records
    ]


def discovery_message(credential: Credential, found: list[DiscoveredAccount]) -> str:
    """What the pages tell the user after a discovery."""
    from accounts.selectors import unreached_message

    new = sum(1 for a in found if not a.imported and not a.imported_elsewhere)
    text = f"{credential}: {len(found)} ad account{'s' if len(found) != 1 else ''} reachable, {new} not imported yet."
    credential.refresh_from_db(fields=["discovered_accounts"])  # what the discovery just stored
    unreached = unreached_message(credential)
    return f"{text} {unreached}" if unreached else text
