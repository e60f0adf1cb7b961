"""The admin's way into authorization: "Authorize account" links per platform on the
AdAccount and Credential changelists, and a "Re-authorize" action on credentials.

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


@admin.action(description="Re-authorize the selected credential")
def reauthorize(modeladmin, request, queryset):
    """Send the user through the platform's authorization again for one credential: the
    same Credential row gets the new grant and its accounts' DAGs resume."""
    credentials = list(queryset[:2])
    if len(credentials) != 1:
        modeladmin.message_user(request, "Re-authorize one credential at a time: each goes through its platform's sign-in.",
                                messages.WARNING)
        return None
    credential = credentials[0]
    url = reverse("accounts:authorize", args=[credential.platform])
    return redirect(f"{url}?{urlencode({'credential': credential.pk})}")


def _decorate(site: admin.AdminSite = admin.site) -> None:
    for model in (AdAccount, Credential):
        model_admin = site._registry.get(model)
        if model_admin is not None and model_admin.change_list_template is None:
            model_admin.change_list_template = CHANGE_LIST_TEMPLATE
    credential_admin = site._registry.get(Credential)
    if credential_admin is not None:
        actions = list(credential_admin.actions or [])
        if reauthorize not in actions:
            credential_admin.actions = [*actions, reauthorize]


_decorate()
