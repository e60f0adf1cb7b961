"""Reads of the accounts app that pages and the API share (writes are in accounts.services)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import AdAccount, Credential


def credential_unreached_accounts(credential: Credential) -> QuerySet[AdAccount]:
    """The credential's ad accounts its grant did not reach when last authorized or
    discovered (suspended by that authorization, see accounts.services.authorization)."""
    reached = [str(a.get("external_id")) for a in credential.discovered_accounts or []]
    return credential.ad_accounts.exclude(external_id__in=reached).order_by("name", "external_id")


def unreached_message(credential: Credential) -> str:
    """What the authorization pages say about those accounts ("" when there are none)."""
    unreached = list(credential_unreached_accounts(credential))
    if not unreached:
        return ""
    names = ", ".join(f"{a.name or a.external_id} ({a.external_id})" for a in unreached)
    return (
        f"This authorization does not reach {len(unreached)} of credential #{credential.pk}'s ad account"
        f"{'s' if len(unreached) != 1 else ''}: {names}. They are suspended (their DAGs paused); re-authorize "
        "with a user who has access to them on the platform."
    )
