"""Browser pages of authorization, styled as the admin: start (redirect to the platform,
or the password form), the platform's callback, and the picker of discovered accounts.

The work happens in accounts.services.authorization and accounts.services.importing;
these views check who may act, translate errors into messages and render.
Another organization's objects are 404 (their existence is not disclosed); a member who
may read but not manage gets 403.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import manageable_organizations, user_can_manage, valid_id, visible_organizations
from accounts.models import Credential, Organization
from accounts.selectors import unreached_message
from accounts.services.authorization import (
    PASSWORD_EXTRA_FIELDS,
    authorization_finish,
    authorization_kind,
    authorization_password,
    authorization_start,
    discovered_account_infos,
)
from connectors import registry
from connectors.errors import AuthorizationFailed


def _spec_or_404(platform: str):
    try:
        return registry.platform_spec(platform)
    except registry.UnknownPlatform:
        raise Http404(f"unknown platform {platform!r}") from None


def _session_key(request: HttpRequest) -> str:
    # A state is bound to the browser session; a session that was never saved has no key yet.
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


def _context(request: HttpRequest, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


def _organization_for(request: HttpRequest, raw_id: str | None) -> Organization | None:
    """The organization named in the request (404 if the user cannot see it, 403 if they
    may only read it); None when not named and the user manages several (they choose)."""
    if raw_id:
        organization = visible_organizations(request.user).filter(pk=valid_id(raw_id) or 0).first()
        if organization is None:
            raise Http404("no such organization")
        if not user_can_manage(request.user, organization):
            raise PermissionDenied(f"only an owner or admin of {organization} may authorize its ad accounts")
        return organization
    manageable = list(manageable_organizations(request.user)[:2])
    if len(manageable) == 1:
        return manageable[0]
    if not manageable:
        raise PermissionDenied("you manage no organization: ask an owner or admin to authorize ad accounts")
    return None


def _credential_for(request: HttpRequest, raw_id, *, platform: str | None = None) -> Credential:
    pk = valid_id(raw_id)
    if pk is None:
        raise Http404("no such credential")
    credential = get_object_or_404(
        Credential.objects.filter(organization__in=visible_organizations(request.user)), pk=pk
    )
    if platform and credential.platform != platform:
        raise Http404(f"credential #{pk} is not a {platform} credential")
    if not user_can_manage(request.user, credential.organization):
        raise PermissionDenied(f"only an owner or admin of {credential.organization} may change its credentials")
    return credential


class PasswordForm(forms.Form):
    username = forms.CharField(label="User name", max_length=200)
    password = forms.CharField(label="Password", widget=forms.PasswordInput(render_value=False), max_length=500)

    def __init__(self, *args, platform: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_names = []
        for name, (label, help_text) in PASSWORD_EXTRA_FIELDS.get(platform, {}).items():
            self.fields[name] = forms.CharField(
                label=label,
                help_text=help_text,
                required=False,
                max_length=500,
                widget=forms.PasswordInput(render_value=False),
            )
            self.extra_names.append(name)

    def extra(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in self.extra_names}


@login_required
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest, platform: str) -> HttpResponse:
    """Start authorizing `platform` for ?organization= (re-authorizing ?credential=)."""
    spec = _spec_or_404(platform)
    params = request.POST if request.method == "POST" else request.GET
    credential = _credential_for(request, params["credential"], platform=platform) if params.get("credential") else None
    organization = credential.organization if credential else _organization_for(request, params.get("organization"))
    if organization is None:
        return render(
            request,
            "accounts/choose_organization.html",
            _context(
                request,
                title=f"Authorize a {spec.display_name} account",
                spec=spec,
                organizations=manageable_organizations(request.user),
            ),
        )
    if authorization_kind(platform=platform, credential=credential) == "password":
        return _password(request, spec, organization, credential)
    if request.method != "GET":
        return HttpResponse(status=405)
    try:
        start = authorization_start(
            platform=platform,
            organization=organization,
            user=request.user,
            session_key=_session_key(request),
            credential=credential,
        )
    except AuthorizationFailed as exc:
        return _failed(request, spec, organization, exc)
    return redirect(start.url)


def _password(request: HttpRequest, spec, organization: Organization, credential: Credential | None) -> HttpResponse:
    form = PasswordForm(request.POST or None, platform=spec.slug)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            saved = authorization_password(
                platform=spec.slug,
                organization=organization,
                user=request.user,
                credential=credential,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                extra=form.extra(),
            )
        except AuthorizationFailed as exc:
            error = str(exc)
        else:
            messages.success(request, f"Signed in to {spec.display_name} as {saved.subject}.")
            if unreached := unreached_message(saved):
                messages.warning(request, unreached)
            return redirect("accounts:pick", pk=saved.pk)
    return render(
        request,
        "accounts/password.html",
        _context(
            request,
            title=f"Sign in to {spec.display_name}",
            spec=spec,
            organization=organization,
            credential=credential,
            form=form,
            error=error,
        ),
        status=400 if request.method == "POST" else 200,
    )


def _failed(request: HttpRequest, spec, organization: Organization | None, exc: Exception) -> HttpResponse:
    again = reverse("accounts:authorize", args=[spec.slug])
    if organization is not None:
        again += "?" + urlencode({"organization": organization.pk})
    return render(
        request,
        "accounts/failed.html",
        _context(request, title=f"{spec.display_name}: authorization failed", spec=spec, message=str(exc), again=again),
        status=400,
    )


@login_required
@require_GET
def callback(request: HttpRequest, platform: str) -> HttpResponse:
    """Where the platform sends the user back: verify, store, then pick accounts."""
    spec = _spec_or_404(platform)
    try:
        credential = authorization_finish(
            platform=platform, params=request.GET.dict(), session_key=_session_key(request), user=request.user
        )
    except AuthorizationFailed as exc:
        return _failed(request, spec, None, exc)
    except PermissionDenied as exc:
        return _failed(request, spec, None, exc)
    found = len(credential.discovered_accounts or [])
    messages.success(
        request, f"{spec.display_name} authorized: {found} ad account{'s' if found != 1 else ''} reachable."
    )
    if unreached := unreached_message(credential):
        messages.warning(request, unreached)
    return redirect("accounts:pick", pk=credential.pk)


@login_required
@require_http_methods(["GET", "POST"])
def pick(request: HttpRequest, pk: int) -> HttpResponse:
    """The discovered accounts of a credential with checkboxes; POST imports the picked ones."""
    from accounts.services.importing import AccountOfOtherOrganization, ad_accounts_import

    credential = _credential_for(request, pk)
    spec = _spec_or_404(credential.platform)
    rows = _picker_rows(credential)
    error = ""
    if request.method == "POST":
        wanted = [x for x in request.POST.getlist("external_ids") if x]
        selectable = {r.external_id for r in rows if not r.imported_elsewhere}
        unknown = sorted(set(wanted) - selectable)
        if credential.status != Credential.Status.ACTIVE:
            error = f"This credential is {credential.status}; re-authorize it before importing accounts."
        elif not wanted:
            error = "Pick at least one ad account to import."
        elif unknown:
            error = f"Not reachable through this authorization: {', '.join(unknown)}."
        else:
            try:
                imported = ad_accounts_import(
                    credential=credential, accounts=discovered_account_infos(credential), external_ids=wanted
                )
            except AccountOfOtherOrganization as exc:
                error = str(exc)
            else:
                names = ", ".join(a.name or a.external_id for a in imported)
                messages.success(
                    request,
                    f"Imported {len(imported)} {spec.display_name} ad account"
                    f"{'s' if len(imported) != 1 else ''}: {names}.",
                )
                return redirect(_accounts_list_url(request, credential))
    return render(
        request,
        "accounts/pick.html",
        _context(
            request,
            title=f"Import {spec.display_name} ad accounts",
            spec=spec,
            credential=credential,
            rows=rows,
            error=error,
        ),
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["POST"])
def discover(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the platform again which accounts the stored grant reaches (an advertiser may
    have added one since it was authorized), then the picker. No new authorization."""
    from accounts.services.discovery import credential_discover, discovery_message
    from connectors.errors import AuthorizationRevoked, ConnectorError

    credential = _credential_for(request, pk)
    try:
        found = credential_discover(credential_id=credential.pk)
    except AuthorizationRevoked as exc:
        messages.error(request, f"{credential}: {exc}. Authorize it again to see its accounts.")
        return redirect(_accounts_list_url(request, credential))
    except (ConnectorError, registry.NoPlatformApp) as exc:
        messages.error(request, f"{credential}: the platform did not list the accounts ({exc}); try again later.")
        return redirect("accounts:pick", pk=credential.pk)
    messages.success(request, discovery_message(credential, found))
    return redirect("accounts:pick", pk=credential.pk)


def _picker_rows(credential: Credential) -> list:
    from accounts.services.discovery import discovered_accounts_marked

    return discovered_accounts_marked(
        credential.organization_id, credential.platform, credential.discovered_accounts or []
    )


def _accounts_list_url(request: HttpRequest, credential: Credential) -> str:
    if request.user.is_staff:
        try:
            return reverse("admin:accounts_adaccount_changelist")
        except NoReverseMatch:
            pass
    try:
        return reverse("web:accounts")
    except NoReverseMatch:
        return reverse("accounts:pick", args=[credential.pk])
