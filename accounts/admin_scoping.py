"""The access rule (accounts.access) in the admin: one mixin for every ModelAdmin of an
organization's objects, in the accounts app and the DAG engine alike.

- The changelist and the change pages hold the staff user's organizations' objects only
  (another organization's object is a 404, as everywhere).
- Changing or deleting an object needs its organization's owner or admin role on top of
  Django's model permission (a viewer with a staff flag reads).
- Every action runs on the selected objects the user manages; the others are named as
  refused and left alone.
- Filters by organization use admin.RelatedOnlyFieldListFilter: they list what occurs in
  the scoped changelist, never another tenant's name.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages

from accounts import access


class OrganizationScopedAdmin:
    """Mix in before admin.ModelAdmin: `class CredentialAdmin(OrganizationScopedAdmin, admin.ModelAdmin)`."""

    def get_queryset(self, request):
        return access.scoped(super().get_queryset(request), request.user)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or access.user_can_manage(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or access.user_can_manage(request.user, obj))

    def get_actions(self, request):
        actions = super().get_actions(request)
        return {name: (_managed_only(func), name, description) for name, (func, name, description) in actions.items()}


def _managed_only(action):
    @wraps(action)
    def run(modeladmin, request, queryset):
        allowed = access.scoped(queryset, request.user, manage=True)
        refused = queryset.count() - allowed.count()
        if refused:
            modeladmin.message_user(
                request,
                f"{refused} selected object(s) left alone: only their organization's owners and admins may do that.",
                messages.ERROR,
            )
        if not allowed.exists():
            return None
        return action(modeladmin, request, allowed)

    return run
