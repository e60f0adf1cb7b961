"""Admin for organizations, platform apps, credentials and ad accounts.

No secret is ever rendered: a platform app's client secret and extra settings are
write-only fields (blank keeps what is stored), credentials show status, expiry and
errors only. Credentials and ad accounts are made by authorization and import, never
typed in, so they cannot be added here. Users other than superusers see only their own
organizations' objects and change only those they manage (accounts.admin_scoping).
accounts.admin_authorize adds the authorization links and the re-authorize action to the
ModelAdmins registered here.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages

from accounts.admin_scoping import OrganizationScopedAdmin
from accounts.models import AdAccount, Credential, Membership, Organization, PlatformApp
from connectors.errors import ConnectorError


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.memberships.count()


class PlatformAppForm(forms.ModelForm):
    """Secrets are write-only: the form never shows them; a blank field keeps the stored value."""

    new_client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the stored secret.",
    )
    new_extra = forms.JSONField(
        label="Extra settings",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text='Write-only JSON object (e.g. {"developer_token": "..."}). Leave blank to keep the stored settings; '
        "{} clears them.",
    )

    redirect_uri = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Where the platform sends the user back: <PUBLIC_URL>/accounts/callback/<platform>/",
    )

    class Meta:
        model = PlatformApp
        fields = ["platform", "name", "client_id", "redirect_uri", "endpoints", "is_active"]

    def clean_new_extra(self):
        value = self.cleaned_data.get("new_extra")
        if value in (None, ""):
            return None
        if not isinstance(value, dict):
            raise forms.ValidationError("Extra settings must be a JSON object of name -> value.")
        return value

    def clean_platform(self):
        from connectors.registry import PLATFORMS

        platform = self.cleaned_data["platform"]
        if platform not in PLATFORMS:
            raise forms.ValidationError(f"Unknown platform; one of {', '.join(sorted(PLATFORMS))}.")
        return platform

    def save(self, commit=True):
        app = super().save(commit=False)
        if self.cleaned_data.get("new_client_secret"):
            app.client_secret = self.cleaned_data["new_client_secret"]
        if self.cleaned_data.get("new_extra") is not None:
            app.extra = self.cleaned_data["new_extra"]
        if commit:
            app.save()
        return app


@admin.register(PlatformApp)
class PlatformAppAdmin(admin.ModelAdmin):
    form = PlatformAppForm
    list_display = ["name", "platform", "client_id", "redirect_uri", "secret_stored", "is_active", "updated_at"]
    list_filter = ["platform", "is_active"]
    search_fields = ["name", "client_id"]
    readonly_fields = ["secret_stored", "extra_names", "created_at", "updated_at"]
    fields = [
        "platform",
        "name",
        "client_id",
        "new_client_secret",
        "secret_stored",
        "redirect_uri",
        "new_extra",
        "extra_names",
        "endpoints",
        "is_active",
        "created_at",
        "updated_at",
    ]

    @admin.display(boolean=True, description="secret stored")
    def secret_stored(self, obj):
        return bool(obj.client_secret)

    @admin.display(description="extra settings stored")
    def extra_names(self, obj):
        # names only: values may be secrets (Google's developer token)
        return ", ".join(sorted(obj.extra or {})) or "-"


@admin.action(description="Refresh the selected credentials now")
def refresh_now(modeladmin, request, queryset):
    from accounts.services.tokens import credential_refresh

    done = 0
    for credential in queryset:
        try:
            credential_refresh(credential_id=credential.pk, force=True)
            done += 1
        except ConnectorError as exc:
            modeladmin.message_user(request, f"{credential}: refresh failed: {exc}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} credential(s) refreshed.", messages.SUCCESS)


@admin.action(description="Revoke the selected credentials (their accounts stop fetching)")
def revoke(modeladmin, request, queryset):
    from accounts.services.credentials import credential_revoke

    notes = [credential_revoke(credential_id=c.pk) for c in queryset]
    for credential in notes:
        if credential.last_error != "revoked":
            modeladmin.message_user(request, f"{credential}: {credential.last_error}", messages.WARNING)
    modeladmin.message_user(request, f"{len(notes)} credential(s) revoked.", messages.SUCCESS)


@admin.register(Credential)
class CredentialAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "organization",
        "platform",
        "status",
        "access_expires_at",
        "last_refreshed_at",
        "short_error",
    ]
    list_filter = ["platform", "status", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["subject", "organization__name"]
    actions = [refresh_now, revoke]
    # tokens and secrets are not fields of this page at all
    fields = [
        "organization",
        "platform",
        "app",
        "granted_by",
        "subject",
        "scopes",
        "status",
        "access_expires_at",
        "refresh_expires_at",
        "last_refreshed_at",
        "last_error",
        "account_count",
        "discovered_count",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # the same fieldsets, all read-only

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "app")

    def has_add_permission(self, request):
        return False  # a credential is what an authorization stores

    @admin.display(description="last error")
    def short_error(self, obj):
        return (obj.last_error[:80] + "...") if len(obj.last_error) > 80 else obj.last_error

    @admin.display(description="imported ad accounts")
    def account_count(self, obj):
        return obj.ad_accounts.count()

    @admin.display(description="discovered ad accounts")
    def discovered_count(self, obj):
        return len(obj.discovered_accounts or [])


@admin.action(description="Pause the selected ad accounts (stop fetching)")
def pause_accounts(modeladmin, request, queryset):
    from accounts.services.ad_accounts import ad_account_pause

    for account in queryset:
        ad_account_pause(ad_account_id=account.pk)
    modeladmin.message_user(request, f"{queryset.count()} ad account(s) paused.", messages.SUCCESS)


@admin.action(description="Resume the selected ad accounts")
def resume_accounts(modeladmin, request, queryset):
    from accounts.services.ad_accounts import AccountNotResumable, ad_account_resume

    resumed = 0
    for account in queryset:
        try:
            ad_account_resume(ad_account_id=account.pk)
            resumed += 1
        except AccountNotResumable as exc:
            modeladmin.message_user(request, str(exc), messages.WARNING)
    if resumed:
        modeladmin.message_user(request, f"{resumed} ad account(s) resumed.", messages.SUCCESS)


@admin.register(AdAccount)
class AdAccountAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "platform",
        "organization",
        "status",
        "status_reason",
        "platform_status",
        "currency",
        "timezone",
        "credential",
    ]
    list_filter = ["platform", "status", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "external_id"]
    actions = [pause_accounts, resume_accounts]
    fields = [
        "organization",
        "platform",
        "external_id",
        "name",
        "currency",
        "timezone",
        "platform_status",
        "status",
        "status_reason",
        "status_changed_at",
        "credential",
        "raw_json",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "organization",
        "platform",
        "external_id",
        "currency",
        "timezone",
        "platform_status",
        "status",
        "status_reason",
        "status_changed_at",
        "credential",
        "raw_json",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "credential")

    def has_add_permission(self, request):
        return False  # accounts are imported from an authorization

    @admin.display(description="as the platform reports it")
    def raw_json(self, obj):
        return json.dumps(obj.raw, indent=2, ensure_ascii=False, sort_keys=True)
