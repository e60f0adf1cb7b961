"""Which organizations a user reaches: read (any membership) and manage (owner/admin).

Superusers reach every organization; everyone else, staff included, only those they are
members of (a staff flag opens the admin, it does not cross organizations). Everything else a user may see or change
(credentials, ad accounts) hangs off these querysets, so another organization's objects
are simply absent (views and APIs answer 404, not 403).
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import AdAccount, Credential, Membership, Organization

MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)
# Ids beyond a 64-bit integer name no row; SQLite would raise OverflowError on them (a 500).
MAX_ID = 2**63 - 1


def valid_id(value) -> int | None:
    """`value` as a row id, or None when it cannot name a row."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def _is_global(user) -> bool:
    return bool(user.is_superuser)


def visible_organizations(user) -> QuerySet:
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    if _is_global(user):
        return Organization.objects.all()
    return Organization.objects.filter(memberships__user=user).distinct()


def manageable_organizations(user) -> QuerySet:
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    if _is_global(user):
        return Organization.objects.all()
    return Organization.objects.filter(memberships__user=user, memberships__role__in=MANAGER_ROLES).distinct()


def user_can_manage(user, organization: Organization) -> bool:
    """Superusers manage every organization; others those where they are owner or admin."""
    if not getattr(user, "is_authenticated", False):
        return False
    if _is_global(user):
        return True
    return Membership.objects.filter(user=user, organization=organization, role__in=MANAGER_ROLES).exists()


def credentials_for_user(user) -> QuerySet:
    return Credential.objects.filter(organization__in=visible_organizations(user)).select_related(
        "organization", "granted_by"
    )


def ad_accounts_for_user(user) -> QuerySet:
    return AdAccount.objects.filter(organization__in=visible_organizations(user))


def role_in(user, organization: Organization) -> str:
    """The user's role in the organization ("superuser" for superusers outside it, "" if none)."""
    membership = Membership.objects.filter(user=user, organization=organization).only("role").first()
    if membership is not None:
        return membership.role
    return "superuser" if getattr(user, "is_superuser", False) else ""
