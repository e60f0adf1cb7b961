"""Tokens that never lapse: on-demand refresh for fetches, the periodic refresh sweep.

Exactly one refresh per credential however many workers ask at once: the refresh runs
under the credential's row lock (SELECT ... FOR UPDATE) and, once the lock is held, the
row is read again and refreshed only if it still needs it. The losers of the race wait
on the lock, then find the new token. This matters doubly on platforms that rotate
refresh tokens (a second refresh with the spent token is invalid_grant and, on some
platforms, revokes the whole grant).

When to refresh, per platform (connectors' PlatformSpec):
- `supports_refresh`: when the access token expires within `refresh_lead_time`, or, where
  refresh tokens rotate, when the refresh token does (a refresh renews it).
- password platforms: the connector's refresh signs in again with the stored secrets.
- neither (Meta's 60-day token, TikTok's long-term token): nothing can renew the token;
  inside the lead time the sweep notes that re-authorization is due and warns the
  organization once per expiry (a claim in the row, see credential_warn_expiring); once
  it has expired the credential is marked needs_reauth.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime, timedelta

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import AdAccount, Credential
from connectors.base import Connector, PlatformSpec, TokenSet
from connectors.errors import AuthorizationFailed, AuthorizationRevoked, ConnectorError
from connectors.registry import NoPlatformApp, UnknownPlatform, connector_for_app, connector_for_platform, platform_spec

logger = logging.getLogger(__name__)

# A fetch refreshes a token expiring this soon: it could lapse in the middle of a request.
ON_DEMAND_LEAD = timedelta(seconds=60)


def connector_for_credential(credential: Credential, **kwargs) -> Connector:
    """The connector of the app the grant was made through, else the platform's app."""
    if credential.app_id is not None:
        return connector_for_app(credential.app, **kwargs)
    return connector_for_platform(credential.platform, **kwargs)


def _renewable(spec: PlatformSpec) -> bool:
    return spec.supports_refresh or spec.auth_type == "password"


def refresh_due(
    credential: Credential,
    *,
    spec: PlatformSpec | None = None,
    lead: timedelta | None = None,
    now: datetime | None = None,
) -> bool:
    """Does the credential need a refresh now? `lead` defaults to the platform's lead time."""
    spec = spec or platform_spec(credential.platform)
    now = now or timezone.now()
    lead = spec.refresh_lead_time if lead is None else lead
    if credential.expires_within(lead, now=now):
        return True
    return bool(
        spec.supports_refresh
        and spec.refresh_rotates
        and credential.refresh_expires_at is not None
        and credential.refresh_expires_at <= now + lead
    )


def _unusable(credential: Credential, ad_account: AdAccount | None = None) -> AuthorizationRevoked | None:
    """The error to raise for a credential that is not active (None when it is)."""
    if credential.status == Credential.Status.ACTIVE:
        return None
    what = "was revoked" if credential.status == Credential.Status.REVOKED else "needs re-authorization"
    return AuthorizationRevoked(
        f"credential #{credential.pk} {what}; re-authorize the account (admin: Ad accounts, Authorize)",
        platform=credential.platform,
        account=ad_account.external_id if ad_account is not None else "",
    )


def token_for_account(ad_account: AdAccount, *, rejected: TokenSet | None = None) -> TokenSet:
    """A token a fetch for `ad_account` can use now: refreshed on demand (under the row
    lock) when it has expired or expires within ON_DEMAND_LEAD. Raises
    AuthorizationRevoked when the grant is gone or needs re-authorization.

    `rejected`: the token the platform just refused as expired (TokenExpired) although
    its expiry said otherwise; it is refreshed unless another worker already replaced it."""
    if ad_account.credential_id is None:
        raise AuthorizationRevoked(
            "the ad account has no credential; authorize it (admin: Ad accounts, Authorize)",
            platform=ad_account.platform,
            account=ad_account.external_id,
        )
    return token_for_credential(credential_id=ad_account.credential_id, rejected=rejected, ad_account=ad_account)


def token_for_credential(
    *, credential_id: int, rejected: TokenSet | None = None, ad_account: AdAccount | None = None
) -> TokenSet:
    """token_for_account for a call that concerns the grant rather than one account
    (listing the accounts it reaches); `ad_account` only names the account in errors."""
    # Read the row afresh: the caller's instance may be minutes old (another worker may
    # have refreshed, and rotated, the token since).
    credential = Credential.objects.select_related("app").get(pk=credential_id)
    if (error := _unusable(credential, ad_account)) is not None:
        raise error
    stale = rejected.access_token if rejected is not None and rejected.access_token else None
    if refresh_due(credential, lead=ON_DEMAND_LEAD) or (stale and credential.access_token == stale):
        credential = credential_refresh(credential_id=credential.pk, lead=ON_DEMAND_LEAD, stale_access_token=stale)
        if (error := _unusable(credential, ad_account)) is not None:
            raise error
    return credential.token_set()


def credential_refresh(
    *, credential_id: int, force: bool = False, lead: timedelta | None = None, stale_access_token: str | None = None
) -> Credential:
    """Refresh the credential's tokens if they are due (or `force`); a caller that lost the
    race finds them fresh and returns without calling the platform.

    invalid_grant / revoked at the platform: the credential is marked needs_reauth (DAGs
    paused, organization notified) and AuthorizationRevoked is raised. Any other failure is
    kept in last_error and re-raised (the sweep or the fetch's retry tries again).
    `lead` (default: the platform's lead time) is how early "due" starts. The returned
    credential's `refreshed_now` says whether this call refreshed it. `stale_access_token`:
    refresh also if the stored access token is still this one (the platform refused it).
    """
    revoked: AuthorizationRevoked | None = None
    failed: Exception | None = None
    with transaction.atomic():
        credential = Credential.objects.select_for_update().select_related("app").get(pk=credential_id)
        now = timezone.now()  # after the lock: waiting for it may have taken a while
        credential.refreshed_now = False
        if credential.status != Credential.Status.ACTIVE:
            return credential
        spec = platform_spec(credential.platform)
        # Re-checked under the lock: the row now is the one the winner of the race wrote.
        still_stale = bool(stale_access_token) and credential.access_token == stale_access_token
        if (
            not force
            and not still_stale
            and not refresh_due(
                credential, spec=spec, lead=max(lead or spec.refresh_lead_time, ON_DEMAND_LEAD), now=now
            )
        ):
            return credential
        try:
            fresh = connector_for_credential(credential).refresh(credential.token_set())
        except AuthorizationRevoked as exc:
            revoked = exc
        except AuthorizationFailed as exc:
            # a password platform's refresh is a new sign-in; refused = the stored password
            # no longer works, which for a stored credential means re-authorize
            revoked = AuthorizationRevoked(
                f"{exc}; enter the sign-in again (re-authorize)", platform=credential.platform
            )
        except (ConnectorError, NoPlatformApp) as exc:
            failed = exc
        else:
            # The platform has spent the old refresh token (when it rotates) the moment it
            # answered: the new one must be committed now, under the same lock.
            credential.store(fresh)
            credential.last_refreshed_at = now
            credential.last_error = ""
            credential.save()
            credential.refreshed_now = True
            logger.info(
                "%s credential %s refreshed; access token valid until %s",
                credential.platform,
                credential.pk,
                credential.access_expires_at,
            )
            return credential
    if revoked is not None:
        from accounts.services.credentials import credential_mark_needs_reauth

        credential_mark_needs_reauth(credential_id=credential_id, reason=f"refresh refused: {revoked}")
        raise revoked
    Credential.objects.filter(pk=credential_id).update(
        last_error=f"refresh failed at {now:%Y-%m-%d %H:%M:%S %Z}: {failed}"[:2000], updated_at=timezone.now()
    )
    logger.warning("%s credential %s: refresh failed: %s", credential.platform, credential_id, failed)
    raise failed


def _expiring(now: datetime) -> Q:
    """Active credentials due in the sweep, each platform with its own lead time."""
    due = Q(pk__in=[])
    # order_by(): the model's default ordering would add created_at to the DISTINCT
    platforms = Credential.objects.filter(status=Credential.Status.ACTIVE).order_by().values_list("platform", flat=True)
    for slug in sorted(platforms.distinct()):
        try:
            spec = platform_spec(slug)
        except UnknownPlatform:
            # a connector removed from this deployment must not stop every other refresh
            logger.error(
                "credentials of unknown platform %r are not refreshed; remove them or install its connector", slug
            )
            continue
        lead = spec.refresh_lead_time
        when = Q(access_expires_at__lte=now + lead)
        if spec.supports_refresh and spec.refresh_rotates:
            when |= Q(refresh_expires_at__lte=now + lead)
        due |= Q(platform=slug) & when
    return Q(status=Credential.Status.ACTIVE) & due


def credentials_refresh_expiring(*, now: datetime | None = None, workers: int = 1) -> dict:
    """The periodic sweep: refresh every active credential due within its platform's lead
    time. Returns counts: refreshed, skipped (another worker was first), needs_reauth,
    reauth_due (no refresh possible, user must re-authorize soon), failed.

    `workers` > 1 refreshes that many credentials at a time, each thread with its own
    database connection (a backlog after an outage must not take longer than the sweep's
    interval; the row lock keeps overlapping sweeps safe). SQLite wants 1."""
    now = now or timezone.now()
    counts = {"refreshed": 0, "skipped": 0, "needs_reauth": 0, "reauth_due": 0, "failed": 0}
    due = list(
        Credential.objects.filter(_expiring(now)).order_by("access_expires_at", "pk").values_list("pk", "platform")
    )
    if workers > 1 and len(due) > 1:
        outcomes = _sweep_parallel(due, workers=min(workers, len(due)), now=now)
    else:
        outcomes = [_sweep_one(credential_id, slug, now=now) for credential_id, slug in due]
    for outcome in outcomes:
        counts[outcome] += 1
    if due:
        logger.info("credential refresh sweep: %s", counts)
    return counts


def _sweep_parallel(due: list[tuple[int, str]], *, workers: int, now: datetime) -> list[str]:
    """`workers` threads take credentials off one queue; each keeps one database connection
    for all of its refreshes and closes it when the queue is empty."""
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    for item in due:
        jobs.put(item)
    outcomes: list[str] = []

    def work():
        try:
            while True:
                try:
                    credential_id, slug = jobs.get_nowait()
                except queue.Empty:
                    return
                outcomes.append(_sweep_one(credential_id, slug, now=now))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=work, name=f"credential-refresh-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _sweep_one(credential_id: int, slug: str, *, now: datetime) -> str:
    spec = platform_spec(slug)
    try:
        if not _renewable(spec):
            return _reauthorization_due(credential_id, now=now)
        credential = credential_refresh(credential_id=credential_id, lead=spec.refresh_lead_time)
        return "refreshed" if credential.refreshed_now else "skipped"
    except AuthorizationRevoked:
        return "needs_reauth"
    except Exception:
        logger.exception("%s credential %s: refresh in the sweep failed", slug, credential_id)
        return "failed"


def _reauthorization_due(credential_id: int, *, now: datetime) -> str:
    """A token nothing can renew: expired = needs_reauth; inside the lead time the admin
    shows the date by which the user must re-authorize (fetching goes on meanwhile) and
    the organization is warned once per expiry (credential_warn_expiring)."""
    credential = Credential.objects.get(pk=credential_id)
    if credential.access_expires_at is not None and credential.access_expires_at <= now:
        from accounts.services.credentials import credential_mark_needs_reauth

        credential_mark_needs_reauth(
            credential_id=credential_id,
            reason=(
                f"the {credential.platform} token expired and the platform issues no refresh token; "
                "re-authorize the account"
            ),
        )
        return "needs_reauth"
    note = (
        f"re-authorize before {credential.access_expires_at:%Y-%m-%d %H:%M %Z}: "
        f"the {credential.platform} token cannot be refreshed"
    )
    if credential.last_error != note:
        Credential.objects.filter(pk=credential_id).update(last_error=note, updated_at=timezone.now())
    if credential.reauth_warned_for != credential.access_expires_at:  # else warned already: no write
        credential_warn_expiring(credential_id=credential_id, expires_at=credential.access_expires_at)
    return "reauth_due"


def credential_warn_expiring(*, credential_id: int, expires_at: datetime) -> bool:
    """Claim the warning about `expires_at` for the credential and, if this call won the
    claim, send `credential_expiring` once the claim is committed. True if it did.

    The claim is one conditional UPDATE (still active, still this expiry, not warned about
    it yet): however many sweep workers or processes get here at once, the database lets
    exactly one of them change the row, so the organization hears of each expiry once. A
    re-authorization stores a new expiry, which no warning has claimed yet."""
    from accounts.signals import credential_expiring, send_logged

    claimed = (
        Credential.objects.filter(pk=credential_id, status=Credential.Status.ACTIVE, access_expires_at=expires_at)
        .exclude(reauth_warned_for=expires_at)  # NULL (never warned) included
        .update(reauth_warned_for=expires_at)
    )
    if claimed:
        transaction.on_commit(
            lambda: send_logged(credential_expiring, Credential, credential_id=credential_id, expires_at=expires_at)
        )
        logger.info("credential %s: the organization is warned to re-authorize before %s", credential_id, expires_at)
    return bool(claimed)
