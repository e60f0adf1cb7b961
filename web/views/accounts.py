"""The accounts page: every ad account of the user's organizations with its platform,
status, token expiry and last successful fetch; re-authorize, revoke and "Authorize
account" per platform go to the accounts app's own views (it owns the flows)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from connectors.registry import all_specs
from web import selectors


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@login_required
def account_list(request):
    accounts = list(selectors.ad_accounts_for_user(request.user).select_related("credential", "organization")
                    .order_by("organization__name", "platform", "name"))
    last_fetch = selectors.last_successful_fetch([a.pk for a in accounts])
    rows = []
    for account in accounts:
        credential = getattr(account, "credential", None)
        rows.append({
            "account": account,
            "credential": credential,
            "status": getattr(credential, "status", "") or getattr(account, "status", ""),
            "expires_at": getattr(credential, "access_expires_at", None) or getattr(credential, "expires_at", None),
            "last_fetch": last_fetch.get(account.pk),
            "reauthorize_url": _url("accounts:authorize-start", account.platform),
            "revoke_url": _url("accounts:credential-revoke", credential.pk) if credential else None,
        })
    platforms = [
        {"slug": spec.slug, "name": spec.display_name, "auth_type": spec.auth_type,
         "authorize_url": _url("accounts:authorize-start", spec.slug)}
        for spec in all_specs()
    ]
    return render(request, "web/accounts.html", {"nav": "accounts", "rows": rows, "platforms": platforms})
