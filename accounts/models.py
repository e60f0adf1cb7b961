"""Organizations and their users, platform apps, credentials (one authorization each) and
the ad accounts a credential reaches. Secrets are encrypted at rest (accounts.fields).

Workflows (authorize, refresh, revoke, import) live in accounts.services; models hold
fields, constraints and small conversions only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.fields import EncryptedJSONField, EncryptedTextField
from connectors.base import TokenSet


class Organization(models.Model):
    """An agency or an advertiser: owns ad accounts; its members see their data."""

    name = models.CharField(max_length=200, unique=True)
    notify_emails = models.TextField(
        blank=True, help_text="Comma-separated addresses told about failures; empty = the organization's admins."
    )
    webhook_url = models.URLField(blank=True, max_length=500, help_text="Optional Slack-compatible webhook.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"
        VIEWER = "viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class PlatformApp(models.Model):
    """An app registered on an ad platform (client id/secret, redirect URI, extras such as
    a developer token). Secrets are encrypted; `extra` is kept encrypted as a whole because
    platforms put secrets there (Google's developer token, Baidu's token)."""

    platform = models.CharField(max_length=32, db_index=True)
    name = models.CharField(max_length=200)
    client_id = models.CharField(max_length=300, blank=True)
    client_secret = EncryptedTextField(blank=True, default="")
    redirect_uri = models.URLField(max_length=500, blank=True)
    extra = EncryptedJSONField()
    endpoints = models.JSONField(default=dict, blank=True, help_text="Endpoint name -> base URL overrides.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "name"], name="platform_app_unique_name")]
        ordering = ["platform", "name"]

    def __str__(self) -> str:
        return f"{self.platform}: {self.name}"


class Credential(models.Model):
    """One authorization granted by a user on a platform: tokens (or a password), lifetimes,
    status. Several ad accounts usually hang off one credential."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        NEEDS_REAUTH = "needs_reauth"
        REVOKED = "revoked"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="credentials")
    platform = models.CharField(max_length=32, db_index=True)
    app = models.ForeignKey(PlatformApp, null=True, blank=True, on_delete=models.SET_NULL, related_name="credentials")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(
        max_length=200, blank=True, help_text="Who the grant is for on the platform (a user name)."
    )
    scopes = models.JSONField(default=list, blank=True)
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    secrets = EncryptedJSONField(help_text="Password flows: what each request needs (password, developer token).")
    access_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # Accounts the grant reaches as last discovered (no secrets): the picker offers them.
    discovered_accounts = models.JSONField(default=list, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The access expiry the organization was last warned about (tokens nothing can renew):
    # kept in the row, not in a worker's memory, so concurrent sweeps warn once per expiry;
    # a re-authorization brings a new expiry, which arms the warning again.
    reauth_warned_for = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.platform} credential #{self.pk} ({self.subject or self.organization})"

    def token_set(self) -> TokenSet:
        return TokenSet(
            access_token=self.access_token or "",
            refresh_token=self.refresh_token or "",
            expires_at=self.access_expires_at,
            refresh_expires_at=self.refresh_expires_at,
            scopes=tuple(self.scopes or ()),
            secrets=dict(self.secrets or {}),
        )

    def store(self, token: TokenSet) -> None:
        """Take the tokens of a grant or a refresh; a refresh that returns no new refresh
        token (no rotation) keeps the old one."""
        self.access_token = token.access_token or ""
        if token.refresh_token:
            self.refresh_token = token.refresh_token
            self.refresh_expires_at = token.refresh_expires_at
        elif token.refresh_expires_at:
            self.refresh_expires_at = token.refresh_expires_at
        self.access_expires_at = token.expires_at
        if token.scopes:
            self.scopes = list(token.scopes)
        if token.secrets:
            self.secrets = dict(token.secrets)

    def expires_within(self, lead: timedelta, *, now: datetime | None = None) -> bool:
        if self.access_expires_at is None:
            return False
        return self.access_expires_at <= (now or timezone.now()) + lead


class AdAccount(models.Model):
    """An advertiser account on a platform, imported into an organization.

    `status` is changed only by accounts.services.ad_accounts (which keeps the DAGs'
    `account_paused` equal to "status is not active"): active fetches; paused (a user
    paused it; resume); needs_reauth (suspended: no grant reaches it any more; a grant
    that does reinstates it); disabled (an operator's choice). `status_reason` says why
    an account is not active and what to do, for the pages and the notification."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        NEEDS_REAUTH = "needs_reauth", "Suspended: needs a grant that reaches it"
        DISABLED = "disabled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ad_accounts")
    platform = models.CharField(max_length=32)
    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=300, blank=True)
    currency = models.CharField(max_length=8, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    platform_status = models.CharField(max_length=32, blank=True, help_text="The status the platform reports.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    status_reason = models.TextField(blank=True, help_text="Why the account is not active, and what to do.")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="ad_accounts"
    )
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # One row per platform account: its DAG ids (`${account_id}_...`) are global.
        constraints = [models.UniqueConstraint(fields=["platform", "external_id"], name="ad_account_unique")]
        ordering = ["platform", "name"]

    def __str__(self) -> str:
        return f"{self.platform} {self.name or self.external_id}"


class PendingAuthorization(models.Model):
    """A started OAuth2 authorization waiting for its callback: single use, expiring.
    `data` holds the PKCE verifier, so it is encrypted."""

    state = models.CharField(max_length=128, unique=True)
    platform = models.CharField(max_length=32)
    data = EncryptedJSONField()
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"pending {self.platform} authorization (expires {self.expires_at:%Y-%m-%d %H:%M})"
