"""The admin's way into authorization: "Authorize account" links per platform on the
AdAccount and Credential changelists, and "Re-authorize" and "Look for new ad accounts"
(discovery with the stored grant, then the picker) actions on credentials.

accounts/admin.py owns the ModelAdmins; this module only decorates the registered ones
(a changelist template with the links, one more action), so the two stay independent.
The pages it links to are accounts.views (mounted at /accounts/).
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts.models import AdAccount, Credential

if find_spec("accounts.admin") is not None:
    import_module("accounts.admin")  # registers the ModelAdmins decorated below

CHANGE_LIST_TEMPLATE = "accounts/admin/change_list_authorize.html"


def _one(modeladmin, request, queryset, warning: str) -> Credential | None:
    """The one selected credential of an action that leads to one page, else a warning."""
    credentials = list(queryset[:2])
    if len(credentials) != 1:
        modeladmin.message_user(request, warning, messages.WARNING)
        return None
    return credentials[0]


@admin.action(description="Re-authorize the selected credential")
def reauthorize(modeladmin, request, queryset):
    """Send the user through the platform's authorization again for one credential: the
    same Credential row gets the new grant and its accounts' DAGs resume."""
    credential = _one(
        modeladmin,
        request,
        queryset,
        "Re-authorize one credential at a time: each goes through its platform's sign-in.",
    )
    if credential is None:
        return None
    url = reverse("accounts:authorize", args=[credential.platform])
    return redirect(f"{url}?{urlencode({'credential': credential.pk})}")


@admin.action(description="Look for new ad accounts of the selected credential (no re-authorization)")
def discover(modeladmin, request, queryset):
    """Ask the platform which accounts the stored grant reaches now (an advertiser may have
    added one to it) and open the picker, where the new ones can be imported."""
    from accounts.access import user_can_manage
    from accounts.services.discovery import credential_discover, discovery_message
    from connectors.errors import AuthorizationRevoked, ConnectorError
    from connectors.registry import NoPlatformApp

    credential = _one(
        modeladmin, request, queryset, "Look for new ad accounts of one credential at a time: each opens its picker."
    )
    if credential is None:
        return None
    if not user_can_manage(request.user, credential.organization):
        modeladmin.message_user(
            request, f"Only an owner or admin of {credential.organization} may import its ad accounts.", messages.ERROR
        )
        return None
    try:
        found = credential_discover(credential_id=credential.pk)
    except AuthorizationRevoked as exc:
        modeladmin.message_user(
            request, f"{credential}: {exc}. Re-authorize it (the Re-authorize action).", messages.ERROR
        )
        return None
    except (ConnectorError, NoPlatformApp) as exc:
        modeladmin.message_user(
            request, f"{credential}: the platform did not list the accounts ({exc}); try again later.", messages.ERROR
        )
        return None
    modeladmin.message_user(request, discovery_message(credential, found), messages.SUCCESS)
    return redirect("accounts:pick", pk=credential.pk)


def _decorate(site: admin.AdminSite = admin.site) -> None:
    for model in (AdAccount, Credential):
        model_admin = site._registry.get(model)
        if model_admin is not None and model_admin.change_list_template is None:
            model_admin.change_list_template = CHANGE_LIST_TEMPLATE  # type: ignore[misc]  # one admin's, by design
    credential_admin = site._registry.get(Credential)
    if credential_admin is not None:
        actions = list(credential_admin.actions or [])
        credential_admin.actions = [*actions, *(a for a in (reauthorize, discover) if a not in actions)]


_decorate()
