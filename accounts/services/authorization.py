"""Authorizing a platform grant into a Credential: the OAuth2 redirect (start, finish)
and the password sign-in, for the admin pages and the REST API alike.

The invariant steps (state, PKCE, single use, expiry, session binding, code exchange,
account discovery) live in `connectors.auth.AuthorizationFlow`; this module supplies its
database side (`DatabaseAuthorizationStore` on PendingAuthorization) and turns a finished
grant into an encrypted Credential. Any failure raises `connectors.errors.AuthorizationFailed`
with a message fit to show, and leaves nothing stored.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.access import user_can_manage
from accounts.models import AdAccount, Credential, Organization, PendingAuthorization, PlatformApp
from connectors import registry
from connectors.auth import AuthorizationFlow, AuthorizationStart
from connectors.base import AccountInfo, Connector, TokenSet
from connectors.errors import AuthorizationFailed

logger = logging.getLogger(__name__)

# Keys of an account's raw record that never go into discovered_accounts (shown in the
# picker, the admin and the API); a platform that put a secret there must not leak it.
SECRET_MARKERS = ("token", "secret", "password", "passwd", "key")

# Fields a password platform asks for besides user name and password: name -> (label, help).
PASSWORD_EXTRA_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "baidu": {
        "developer_token": (
            "Developer token",
            "From Baidu's API centre; leave empty to use the platform app's developer token.",
        )
    },
}


class DatabaseAuthorizationStore:
    """connectors.auth.AuthorizationStore on PendingAuthorization rows and Credentials."""

    def save_pending(self, *, state: str, data: dict[str, Any], expires_at) -> None:
        # Abandoned authorizations (the user never came back) would pile up: purge on write.
        PendingAuthorization.objects.filter(expires_at__lte=timezone.now()).delete()
        PendingAuthorization.objects.create(
            state=state, platform=data.get("platform", ""), data=data, expires_at=expires_at
        )

    def take_pending(self, *, state: str):
        # The row lock makes the state single use even when the same callback arrives twice
        # at once (a double click, a replay): the second caller finds no row. An expired row
        # is still returned (and deleted) so the flow can say "expired" rather than "unknown".
        with transaction.atomic():
            row = PendingAuthorization.objects.select_for_update().filter(state=state).first()
            if row is None:
                return None
            data, expires_at = row.data, row.expires_at
            row.delete()
        return dict(data or {}), expires_at

    def save_credential(self, *, token: TokenSet, accounts: list[AccountInfo], context: dict[str, Any]) -> Credential:
        return _credential_save(token=token, accounts=accounts, context=context)


# --- who may authorize ---------------------------------------------------------------


def _require_manager(user, organization: Organization) -> None:
    if not user_can_manage(user, organization):
        raise PermissionDenied(f"only an owner or admin of {organization} may authorize its ad accounts")


# --- the public actions ----------------------------------------------------------------


def default_redirect_uri(platform: str, app: PlatformApp | None = None) -> str:
    """Where the platform sends the user back: the app's registered redirect URI, else ours."""
    if app is not None and app.redirect_uri:
        return app.redirect_uri
    return f"{settings.PUBLIC_URL.rstrip('/')}/accounts/callback/{platform}/"


def authorization_start(
    *,
    platform: str,
    organization: Organization,
    user,
    session_key: str,
    redirect_uri: str | None = None,
    credential: Credential | None = None,
) -> AuthorizationStart:
    """Begin an OAuth2 authorization (or a re-authorization of `credential`): returns the
    URL to send the user to and the state bound to `session_key` and `user`."""
    _require_manager(user, organization)
    _check_reauthorized(platform, organization, credential)
    app = _app_for(platform, credential)
    connector = _connector(platform, app)
    if connector.spec.auth_type != "oauth2":
        raise AuthorizationFailed(
            "this platform signs in with a user name and password, not a redirect; use the password form",
            platform=platform,
        )
    redirect_uri = redirect_uri or default_redirect_uri(platform, app)
    _check_redirect_uri(platform, redirect_uri, app)
    context = {
        "platform": platform,
        "organization_id": organization.pk,
        "user_id": user.pk,
        "session_key": session_key or "",
        "credential_id": credential.pk if credential else None,
        "app_id": app.pk if app else None,
    }
    flow = AuthorizationFlow(connector, DatabaseAuthorizationStore())
    return flow.start(redirect_uri=redirect_uri, context=context)


def authorization_finish(*, platform: str, params, session_key: str, user) -> Credential:
    """Handle the platform's callback (`params`: its query parameters): verify the state
    (known, unused, unexpired, issued to this session and user), exchange the code, store
    the credential with the accounts it reaches. Raises AuthorizationFailed; stores nothing then."""
    registry.platform_spec(platform)  # UnknownPlatform before any state is spent
    app = _app_of_pending(params.get("state") or "", platform)
    flow = AuthorizationFlow(_connector(platform, app), DatabaseAuthorizationStore())
    result = flow.finish(params=params, expect={"session_key": session_key or "", "user_id": user.pk})
    return result.saved


def authorization_password(
    *,
    platform: str,
    organization: Organization,
    user,
    username: str,
    password: str,
    extra: dict[str, str] | None = None,
    credential: Credential | None = None,
) -> Credential:
    """Sign in on a password platform (Baidu, the sandbox's password variant) and store
    the sign-in as a credential (or replace the one of `credential`)."""
    _require_manager(user, organization)
    _check_reauthorized(platform, organization, credential)
    app = _app_for(platform, credential)
    connector = _connector(platform, app)
    if connector.spec.auth_type != "password":
        raise AuthorizationFailed("this platform authorizes through a redirect, not a password", platform=platform)
    context = {
        "platform": platform,
        "organization_id": organization.pk,
        "user_id": user.pk,
        "credential_id": credential.pk if credential else None,
        "app_id": app.pk if app else None,
        "subject": (username or "").strip(),
    }
    flow = AuthorizationFlow(connector, DatabaseAuthorizationStore())
    extra = {k: v for k, v in (extra or {}).items() if v not in (None, "")}
    return flow.finish_password(
        username=(username or "").strip(), password=password or "", extra=extra, context=context
    ).saved


def discovered_account_infos(credential: Credential) -> list[AccountInfo]:
    """The accounts the credential reached when it was last authorized, as AccountInfo."""
    return [
        AccountInfo(
            external_id=str(a["external_id"]),
            name=a.get("name", ""),
            currency=a.get("currency", ""),
            timezone=a.get("timezone") or "UTC",
            status=a.get("status", ""),
            raw=a.get("raw") or {},
        )
        for a in credential.discovered_accounts or []
    ]


# --- helpers -----------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _check_redirect_uri(platform: str, redirect_uri: str, app: PlatformApp | None) -> None:
    """The code goes wherever the redirect URI points. Real platforms only redirect to URIs
    registered for the app, but the sandbox (and a misconfigured app) redirects anywhere:
    a caller-chosen URI elsewhere would let someone collect another user's code. So the URI
    must be on this deployment (PUBLIC_URL), the app's registered one, or an origin listed
    in settings.AUTHORIZATION_REDIRECT_ORIGINS (a separate front end)."""
    allowed = {_origin(settings.PUBLIC_URL)}
    if app is not None and app.redirect_uri:
        allowed.add(_origin(app.redirect_uri))
    allowed.update(_origin(o) for o in getattr(settings, "AUTHORIZATION_REDIRECT_ORIGINS", ()) or ())
    if _origin(redirect_uri) not in allowed or _origin(redirect_uri)[0] not in ("http", "https"):
        raise AuthorizationFailed(
            f"redirect_uri {redirect_uri!r} is not on this platform ({settings.PUBLIC_URL}) nor the app's registered "
            "redirect URI; add its origin to AUTHORIZATION_REDIRECT_ORIGINS if a separate front end receives the "
            "callback",
            platform=platform,
        )


def _check_reauthorized(platform: str, organization: Organization, credential: Credential | None) -> None:
    registry.platform_spec(platform)  # raises UnknownPlatform
    if credential is None:
        return
    if credential.organization_id != organization.pk:
        raise AuthorizationFailed(f"credential #{credential.pk} belongs to another organization", platform=platform)
    if credential.platform != platform:
        raise AuthorizationFailed(
            f"credential #{credential.pk} is a {credential.platform} credential", platform=platform
        )


def authorization_kind(*, platform: str, credential: Credential | None = None) -> str:
    """ "oauth2" or "password": how `platform` authorizes through the app that would be used
    (an app's extra may pick, e.g. Baidu's OAuth2 next to its password sign-in)."""
    try:
        return _connector(platform, _app_for(platform, credential)).spec.auth_type
    except AuthorizationFailed:
        return registry.platform_spec(platform).auth_type


def _app_for(platform: str, credential: Credential | None) -> PlatformApp | None:
    # A re-authorization goes through the app the grant was made with (its accounts and
    # refresh tokens are that client's); a new one through the platform's active app.
    if credential is not None and credential.app_id and credential.app.is_active:
        return credential.app
    return PlatformApp.objects.filter(platform=platform, is_active=True).order_by("pk").first()


def _connector(platform: str, app: PlatformApp | None) -> Connector:
    try:
        if app is not None:
            return registry.connector_for_app(app)
        return registry.connector_for_platform(platform)
    except registry.NoPlatformApp as exc:
        raise AuthorizationFailed(str(exc), platform=platform) from None


def _app_of_pending(state: str, platform: str) -> PlatformApp | None:
    """The app a pending authorization was started with: its code is only good for that
    client. A read without a lock: the flow itself takes (and spends) the state."""
    row = PendingAuthorization.objects.filter(state=state, platform=platform).first() if state else None
    app_id = ((row.data or {}).get("context") or {}).get("app_id") if row else None
    if app_id:
        app = PlatformApp.objects.filter(pk=app_id).first()
        if app is not None:
            return app
    return PlatformApp.objects.filter(platform=platform, is_active=True).order_by("pk").first()


def account_record(info: AccountInfo) -> dict[str, Any]:
    """What a credential keeps of a discovered account (its discovered_accounts), no secrets."""
    raw = {k: v for k, v in (info.raw or {}).items() if not any(m in str(k).lower() for m in SECRET_MARKERS)}
    return {
        "external_id": str(info.external_id),
        "name": info.name,
        "currency": info.currency,
        "timezone": info.timezone,
        "status": info.status,
        "raw": raw,
    }


def _subject(token: TokenSet, accounts: list[AccountInfo], context: dict[str, Any]) -> str:
    raw = token.raw or {}
    for key in ("subject", "user_name", "username", "user_id", "open_id", "advertiser_name"):
        if raw.get(key):
            return str(raw[key])[:200]
    if context.get("subject"):
        return str(context["subject"])[:200]
    if token.secrets.get("username"):
        return str(token.secrets["username"])[:200]
    return (accounts[0].name if len(accounts) == 1 else "")[:200]


@transaction.atomic
def _credential_save(*, token: TokenSet, accounts: list[AccountInfo], context: dict[str, Any]) -> Credential:
    organization = Organization.objects.get(pk=context["organization_id"])
    user = None
    if context.get("user_id"):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(pk=context["user_id"]).first()
    if user is None or not user_can_manage(user, organization):
        # the membership may have changed between start and callback
        raise AuthorizationFailed(f"you may no longer authorize ad accounts for {organization}")
    platform = context.get("platform") or ""
    app = PlatformApp.objects.filter(pk=context["app_id"]).first() if context.get("app_id") else None
    if context.get("credential_id"):
        credential = (
            Credential.objects.select_for_update()
            .filter(pk=context["credential_id"], organization=organization)
            .first()
        )
        if credential is None:
            raise AuthorizationFailed(
                f"the credential #{context['credential_id']} being re-authorized was deleted; authorize a new one",
                platform=platform,
            )
    else:
        credential = Credential(organization=organization)
    credential.platform = platform or credential.platform
    credential.app = app
    credential.granted_by = user
    credential.store(token)
    # store() keeps an old refresh token when a refresh returns none; a new grant must not
    if not token.refresh_token:
        credential.refresh_token = ""
        credential.refresh_expires_at = token.refresh_expires_at
    credential.scopes = list(token.scopes)
    credential.secrets = dict(token.secrets or {})
    credential.subject = _subject(token, accounts, context)
    credential.discovered_accounts = [account_record(a) for a in accounts]
    credential.status = Credential.Status.ACTIVE
    credential.last_error = ""
    credential.last_refreshed_at = timezone.now()
    credential.save()
    logger.info(
        "%s credential %s %s for organization %s by user %s: %d ad account(s) reachable",
        platform,
        credential.pk,
        "re-authorized" if context.get("credential_id") else "authorized",
        organization.pk,
        user.pk,
        len(accounts),
    )
    when = timezone.now().strftime("%Y-%m-%d %H:%M %Z")
    credential_reach_check(
        credential=credential,
        accounts=accounts,
        source=f"the authorization of credential #{credential.pk} by {user.get_username()} on {when}",
    )
    return credential


def credential_reach_check(*, credential: Credential, accounts: list[AccountInfo], source: str) -> None:
    """Check what the grant reaches (`accounts`, just listed by the platform) against the
    accounts that depend on it; `source` names the listing in the reasons it writes.

    Reached: the credential's own accounts and the organization's suspended accounts of
    the platform (waiting for a grant: theirs was revoked, deleted, or lost them) are
    imported through it again, which reinstates them (their DAGs resume). Not reached: the
    credential's accounts the new grant does not see are suspended at once with the
    reason, instead of showing active until their next fetch fails; the answers list them
    (accounts.selectors.credential_unreached_accounts)."""
    from accounts.services.ad_accounts import ad_account_suspend
    from accounts.services.importing import ad_accounts_import

    reached = {str(a.external_id) for a in accounts}
    own = set(credential.ad_accounts.values_list("external_id", flat=True))
    waiting = set(
        AdAccount.objects.filter(
            organization=credential.organization_id, platform=credential.platform, status=AdAccount.Status.NEEDS_REAUTH
        ).values_list("external_id", flat=True)
    )
    ids = sorted(reached & (own | waiting))
    if ids:
        ad_accounts_import(credential=credential, accounts=accounts, external_ids=ids)
    for account_id in credential.ad_accounts.exclude(external_id__in=reached).values_list("pk", flat=True):
        ad_account_suspend(
            ad_account_id=account_id,
            reason=f"{source} does not reach this account: "
            "re-authorize with a user who has access to it on the platform",
        )
