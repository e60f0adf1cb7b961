"""The one access rule: who may see and who may manage an organization's objects.

- Every member of an organization (owner, admin, member, viewer) SEES its objects:
  credentials, ad accounts, their DAGs, runs, task instances, logs, reports.
- Only its owners and admins MANAGE them: authorize, re-authorize, revoke, import,
  pause/resume, trigger and backfill, clear/retry/mark, real-time fetch, admin actions.
- Superusers see and manage every organization (and the DAGs of no organization).
  A staff flag opens the admin and nothing more: it crosses no organization, and the
  admin's pages still need Django's model permissions.
- DAG templates belong to a platform and shape every organization's DAGs: every
  signed-in user reads them; writing needs Django's model permissions
  (ingestion.add/change/delete_dagtemplate), in the API exactly as in the admin.

Views, APIs, admin querysets, admin actions and object checks all call this module.
Another organization's object is absent from every queryset here, so it answers 404
(its existence is not disclosed); a member who may see but not manage gets 403.
"""

from __future__ import annotations

from functools import reduce

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet

from accounts.models import AdAccount, Credential, Membership, Organization

MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)
# Ids beyond a 64-bit integer name no row; SQLite would raise OverflowError on them (a 500).
MAX_ID = 2**63 - 1

# The lookup from each model to the Organization it belongs to ("" is the organization
# itself). An app with a model of an organization adds it here (or calls register()).
ORGANIZATION_PATHS: dict[str, str] = {
    "accounts.organization": "",
    "accounts.membership": "organization",
    "accounts.credential": "organization",
    "accounts.adaccount": "organization",
    "ingestion.dag": "ad_account__organization",
    "ingestion.dagrun": "dag__ad_account__organization",
    "ingestion.taskinstance": "run__dag__ad_account__organization",
    "ingestion.tasklog": "task_instance__run__dag__ad_account__organization",
    "reports.adentity": "ad_account__organization",
}


def register(model: type[Model], organization_path: str) -> None:
    """Declare how `model` reaches its organization (for apps whose models come later)."""
    ORGANIZATION_PATHS[model._meta.label_lower] = organization_path


def organization_path(model: type[Model]) -> str:
    try:
        return ORGANIZATION_PATHS[model._meta.label_lower]
    except KeyError:
        raise LookupError(f"{model._meta.label} is not an organization's object (accounts.access)") from None


def valid_id(value) -> int | None:
    """`value` as a row id, or None when it cannot name a row."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def _is_global(user) -> bool:
    return _signed_in(user) and bool(user.is_superuser)


def _organization_ids(user, *, manage: bool) -> QuerySet:
    memberships = Membership.objects.filter(user=user)
    if manage:
        memberships = memberships.filter(role__in=MANAGER_ROLES)
    return memberships.values("organization_id")


def scoped(queryset: QuerySet, user, *, manage: bool = False, path: str | None = None) -> QuerySet:
    """`queryset` narrowed to what `user` may see (manage=False) or manage (manage=True).

    One subquery, not a list of ids: one round trip per scoped read. Objects of no
    organization (a DAG without an ad account) are superusers' only.
    """
    if not _signed_in(user):
        return queryset.none()
    if _is_global(user):
        return queryset
    path = organization_path(queryset.model) if path is None else path
    lookup = f"{path}__in" if path else "pk__in"
    return queryset.filter(**{lookup: _organization_ids(user, manage=manage)})


def visible(model: type[Model], user) -> QuerySet:
    return scoped(model._default_manager.all(), user)


def manageable(model: type[Model], user) -> QuerySet:
    return scoped(model._default_manager.all(), user, manage=True)


def visible_organizations(user) -> QuerySet:
    return visible(Organization, user)


def manageable_organizations(user) -> QuerySet:
    return manageable(Organization, user)


def organization_of(obj: Model) -> Organization | None:
    """The organization an object belongs to (None: a DAG without an ad account)."""
    path = organization_path(type(obj))
    if not path:
        return obj  # type: ignore[return-value]
    return reduce(lambda o, name: getattr(o, name, None) if o is not None else None, path.split("__"), obj)


def user_can_manage(user, target: Model | None) -> bool:
    """May `user` change `target` (an organization or any object of one)?"""
    if not _signed_in(user):
        return False
    if _is_global(user):
        return True
    organization = organization_of(target) if target is not None else None
    if organization is None:
        return False
    return Membership.objects.filter(user=user, organization=organization, role__in=MANAGER_ROLES).exists()


def require_manage(user, target: Model | None, *, what: str = "change its objects") -> None:
    """PermissionDenied (a 403 in pages and the API) unless `user` manages `target`'s organization."""
    if not user_can_manage(user, target):
        organization = organization_of(target) if target is not None else None
        raise PermissionDenied(f"only an owner or admin of {organization or 'its organization'} may {what}")


def may_write_templates(user, action: str) -> bool:
    """DAG templates: `action` is add, change or delete; Django's model permission decides,
    as it does in the admin (superusers hold every permission)."""
    return _signed_in(user) and user.has_perm(f"ingestion.{action}_dagtemplate")


def credentials_for_user(user) -> QuerySet:
    return visible(Credential, user).select_related("organization", "granted_by")


def ad_accounts_for_user(user) -> QuerySet:
    return visible(AdAccount, user)


def role_in(user, organization: Organization) -> str:
    """The user's role in the organization ("superuser" for superusers outside it, "" if none)."""
    membership = Membership.objects.filter(user=user, organization=organization).only("role").first()
    if membership is not None:
        return membership.role
    return "superuser" if getattr(user, "is_superuser", False) else ""
