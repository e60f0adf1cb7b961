"""Notifications to an organization: email on a task's final failure, on an account
that needs re-authorization and ahead of the expiry of a token nothing can renew, plus an
optional Slack-compatible webhook.

Who is told comes from the organization: `notify_emails`, else the e-mail addresses
of its owners and admins (of every member when it has none), and `webhook_url`.
Sending never raises into the caller: a broken SMTP server or webhook must not
fail a task run or a token refresh, so failures are logged and reported in the result.

Entry points (keyword-only, ids only; the signal receivers queue them through web.tasks):
    notify_task_failed(*, task_instance_id)            ingestion.signals.task_failed
    notify_account_needs_reauth(*, ad_account_id)      accounts.signals.account_needs_reauth
    notify_credential_expiring(*, credential_id, expires_at)   accounts.signals.credential_expiring
    notify_data_notice(*, ad_account_id, subject, body)        reports.signals.data_notice
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import requests
from django.conf import settings
from django.core.mail import send_mail

from accounts.access import MANAGER_ROLES
from accounts.models import AdAccount, Credential, Membership

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5.0


@dataclass
class Delivery:
    """What a notification did: the addresses mailed and whether the webhook answered."""

    subject: str
    emails: list[str] = field(default_factory=list)
    webhook: bool = False
    errors: list[str] = field(default_factory=list)


def _split(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).replace(";", ",").replace("\n", ",").split(",") if part.strip()]


def organization_recipients(organization) -> tuple[list[str], str]:
    """(emails, webhook_url) configured for an organization."""
    emails = _split(organization.notify_emails)
    if not emails:
        members = Membership.objects.filter(organization=organization).select_related("user")
        admins = members.filter(role__in=MANAGER_ROLES)
        members = admins if admins.exists() else members
        emails = sorted({m.user.email for m in members if m.user.email})
    return emails, (organization.webhook_url or "").strip()


def _deliver(organization, subject: str, body: str) -> Delivery:
    delivery = Delivery(subject=subject)
    emails, webhook_url = organization_recipients(organization)
    if emails:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails, fail_silently=False)
            delivery.emails = emails
        except Exception as exc:
            logger.warning("notification email %r to organization %s failed: %s", subject, organization.pk, exc)
            delivery.errors.append(f"email: {exc.__class__.__name__}")
    if webhook_url:
        try:
            response = requests.post(webhook_url, json={"text": f"{subject}\n{body}"}, timeout=WEBHOOK_TIMEOUT)
            response.raise_for_status()
            delivery.webhook = True
        except requests.RequestException as exc:
            # The URL itself may embed a secret (Slack's do): log the host only.
            host = requests.utils.urlparse(webhook_url).hostname
            logger.warning(
                "notification webhook to %s for organization %s failed: %s",
                host,
                organization.pk,
                exc.__class__.__name__,
            )
            delivery.errors.append(f"webhook: {exc.__class__.__name__}")
    if not emails and not webhook_url:
        logger.info("organization %s has no notification recipients for %r", organization.pk, subject)
    return delivery


def _link(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def notify_task_failed(*, task_instance_id: int) -> Delivery | None:
    """Tell the task's organization that a task instance failed after its last retry."""
    from web.selectors import task_instance_context

    context = task_instance_context(task_instance_id=task_instance_id)
    if context is None:
        logger.info("task instance %s: no organization to notify", task_instance_id)
        return None
    subject = f"[adplatform] {context['dag_id']}.{context['task_id']} failed"
    lines = [
        f"Task {context['task_id']} of DAG {context['dag_id']} failed after try {context['try_number']}.",
        f"Account: {context['account']}",
        f"Logical time: {context['logical_time']}",
    ]
    if context.get("error"):
        lines.append(f"Error: {context['error']}")
    lines.append(f"Log: {_link(context['log_path'])}")
    return _deliver(context["organization"], subject, "\n".join(lines))


def notify_account_needs_reauth(*, ad_account_id: int) -> Delivery | None:
    """Tell the account's organization that the account must be authorized again."""
    account = AdAccount.objects.select_related("organization").filter(pk=ad_account_id).first()
    if account is None:
        logger.info("ad account %s: no organization to notify", ad_account_id)
        return None
    name = account.name or account.external_id
    platform = account.platform
    subject = f"[adplatform] {platform} account {name} needs re-authorization"
    body = (
        f"The authorization of {platform} account {name} ({account.external_id}) is no longer valid, "
        "so its DAGs are paused.\n"
        + (f"Why: {account.status_reason}\n" if account.status_reason else "")
        + f"Authorize it again: {_link('/accounts/')}"
    )
    return _deliver(account.organization, subject, body)


def notify_credential_expiring(*, credential_id: int, expires_at: datetime | str) -> Delivery | None:
    """Warn the credential's organization that its token expires at `expires_at` and that
    nothing but a re-authorization renews it. Nothing is sent when the credential has been
    re-authorized (another expiry), revoked or marked needs_reauth since the warning was
    claimed: the user has acted, or another notification tells them."""
    if isinstance(expires_at, str):  # a Celery payload carries the datetime as ISO text
        expires_at = datetime.fromisoformat(expires_at)
    credential = Credential.objects.select_related("organization").filter(pk=credential_id).first()
    if (
        credential is None
        or credential.status != Credential.Status.ACTIVE
        or credential.access_expires_at != expires_at
    ):
        logger.info("credential %s: expiry warning for %s no longer applies", credential_id, expires_at)
        return None
    platform = credential.platform
    who = f" ({credential.subject})" if credential.subject else ""
    accounts = list(credential.ad_accounts.order_by("name", "external_id").values_list("name", "external_id"))
    when = f"{expires_at:%Y-%m-%d %H:%M %Z}"
    subject = f"[adplatform] re-authorize {platform} credential #{credential.pk} before {expires_at:%Y-%m-%d}"
    lines = [
        f"The {platform} authorization #{credential.pk}{who} expires on {when} and {platform} issues no "
        "refresh token, so it cannot be renewed automatically.",
        f"Re-authorize it before {when}; after that its ad accounts stop fetching until you do.",
    ]
    if accounts:
        lines.append(
            "Ad accounts: " + ", ".join(f"{name or external_id} ({external_id})" for name, external_id in accounts)
        )
    lines.append(f"Re-authorize: {_link('/accounts/')}")
    return _deliver(credential.organization, subject, "\n".join(lines))


def notify_data_notice(*, ad_account_id: int, subject: str, body: str) -> Delivery | None:
    """Tell the account's organization what the report side found (mismatch, lateness, spend alert)."""
    account = AdAccount.objects.select_related("organization").filter(pk=ad_account_id).first()
    if account is None:
        logger.info("ad account %s: no organization to notify", ad_account_id)
        return None
    return _deliver(account.organization, f"[adplatform] {subject}", f"{body}\n{_link('/data-status/')}")


def connect_signals() -> None:
    """Receive the engine's `task_failed(task_instance_id=)` (sent on commit of a final
    failure) and accounts' `account_needs_reauth(ad_account_id=)` and
    `credential_expiring(credential_id=, expires_at=)` (both sent on commit)."""
    from accounts.signals import account_needs_reauth, credential_expiring
    from ingestion.signals import task_failed

    task_failed.connect(_on_task_failed, dispatch_uid="web.notifications.task_failed")
    account_needs_reauth.connect(_on_account_needs_reauth, dispatch_uid="web.notifications.account_needs_reauth")
    credential_expiring.connect(_on_credential_expiring, dispatch_uid="web.notifications.credential_expiring")
    from reports.signals import data_notice

    data_notice.connect(_on_data_notice, dispatch_uid="web.notifications.data_notice")


def _on_data_notice(sender, ad_account_id=None, subject="", body="", **kwargs):
    from web.tasks import notify_data_notice as task

    if ad_account_id is not None:
        task.delay(ad_account_id, subject, body)


def _on_task_failed(sender, task_instance_id=None, **kwargs):
    from web.tasks import notify_task_failed as task

    if task_instance_id is not None:
        task.delay(task_instance_id)


def _on_account_needs_reauth(sender, ad_account_id=None, **kwargs):
    from web.tasks import notify_account_needs_reauth as task

    if ad_account_id is not None:
        task.delay(ad_account_id)


def _on_credential_expiring(sender, credential_id=None, expires_at=None, **kwargs):
    from web.tasks import notify_credential_expiring as task

    if credential_id is not None and expires_at is not None:
        task.delay(credential_id, expires_at.isoformat())
