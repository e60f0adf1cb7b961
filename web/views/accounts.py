"""The accounts page: every ad account of the user's organizations with its platform,
status, token expiry (its credential's) and last successful fetch, plus re-authorize,
revoke, "Find new accounts" (the grant's accounts listed again, then the picker) and
"Authorize account" per platform.

The flows themselves are the accounts app's: its browser pages start and finish an
authorization (/accounts/authorize/<platform>/?organization=&credential=) and its API
revokes (POST /api/v1/credentials/<id>/revoke/, called from the page's script). Buttons
that change a grant appear only to the organization's owners and admins.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from accounts.access import manageable_organizations
from connectors.registry import all_specs
from web import selectors


def authorize_url(platform: str, *, organization_id: int | None = None, credential_id: int | None = None) -> str:
    query = {key: value for key, value in (("organization", organization_id), ("credential", credential_id)) if value}
    return f"/accounts/authorize/{platform}/" + (f"?{urlencode(query)}" if query else "")


def revoke_url(credential_id: int) -> str:
    return f"/api/v1/credentials/{credential_id}/revoke/"


def _status(account, credential) -> str:
    """What needs doing shows first: a grant that no longer works outranks the account's own state."""
    if credential is not None and credential.status != "active":
        return credential.status
    return account.status


@login_required
def account_list(request):
    accounts = list(
        selectors.ad_accounts_for_user(request.user)
        .select_related("credential", "organization")
        .order_by("organization__name", "platform", "name")
    )
    last_fetch = selectors.last_successful_fetch([a.pk for a in accounts])
    managed = set(manageable_organizations(request.user).values_list("pk", flat=True))
    now = timezone.now()
    rows = []
    for account in accounts:
        credential = account.credential
        can_manage = account.organization_id in managed
        expires_at = credential.access_expires_at if credential else None
        rows.append(
            {
                "account": account,
                "credential": credential,
                "status": _status(account, credential),
                "expires_at": expires_at,
                "expired": expires_at is not None and expires_at <= now,
                "last_fetch": last_fetch.get(account.pk),
                "reauthorize_url": authorize_url(
                    account.platform,
                    organization_id=account.organization_id,
                    credential_id=credential.pk if credential else None,
                )
                if can_manage
                else None,
                "revoke_url": revoke_url(credential.pk)
                if can_manage and credential and credential.status != "revoked"
                else None,
                # The grant may reach accounts added on the platform since: look without a new sign-in.
                "discover_url": (
                    reverse("accounts:discover", args=[credential.pk])
                    if can_manage and credential and credential.status == "active"
                    else None
                ),
            }
        )
    # One organization to manage: "Authorize" goes straight to it; several: the accounts
    # app asks which one.
    only = next(iter(managed)) if len(managed) == 1 else None
    platforms = (
        [
            {
                "slug": spec.slug,
                "name": spec.display_name,
                "auth_type": spec.auth_type,
                "authorize_url": authorize_url(spec.slug, organization_id=only),
            }
            for spec in all_specs()
        ]
        if managed
        else []
    )
    return render(request, "web/accounts.html", {"nav": "accounts", "rows": rows, "platforms": platforms})
