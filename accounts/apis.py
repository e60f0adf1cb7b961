"""REST API of platforms, authorization, credentials, ad accounts and organizations
(mounted at /api/v1/, see accounts/api_urls.py).

Thin views: validate input, call one service (accounts.services.*) or read one scoped
queryset (accounts.access), serialize. Every queryset is limited to the user's
organizations, so another organization's object is a 404; members read, owners and
admins write (403 otherwise). No response ever carries a token, password or secret.
Nested Input/OutputSerializers carry a Meta.ref_name: the OpenAPI schema needs unique
component names across all apps' APIs.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from accounts.models import Credential, Organization
from accounts.selectors import credential_unreached_accounts
from accounts.services.authorization import (
    PASSWORD_EXTRA_FIELDS,
    authorization_finish,
    authorization_password,
    authorization_start,
    discovered_account_infos,
)
from connectors import registry
from connectors.errors import AuthorizationFailed

# --- shared pieces -----------------------------------------------------------------------


PLATFORM_PATH = OpenApiParameter(
    "platform",
    str,
    OpenApiParameter.PATH,
    enum=sorted(registry.PLATFORMS),
    description="Platform slug (see platforms/)",
)


class AuthorizationFailedError(ValidationError):
    default_code = "authorization_failed"


def _spec(slug: str):
    try:
        return registry.platform_spec(slug)
    except registry.UnknownPlatform as exc:
        raise Http404(str(exc)) from None


def _binding(request) -> str:
    """What a state is bound to besides the user: the browser session for session-signed
    requests (the redirect comes back to the same browser), else the API client."""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        if not request.session.session_key:
            request.session.save()
        return request.session.session_key
    return "api-token"


def _organization(request, organization_id: int) -> Organization:
    """An organization the user may manage; unknown and invisible ones are the same field error."""
    organization = access.visible_organizations(request.user).filter(pk=organization_id).first()
    if organization is None:
        raise ValidationError({"organization": [f"no organization {organization_id} among yours"]})
    if not access.user_can_manage(request.user, organization):
        raise PermissionDenied(f"only an owner or admin of {organization} may authorize or change its ad accounts")
    return organization


def _reauthorized(request, credential_id: int | None, organization: Organization, platform: str) -> Credential | None:
    """The credential a start names for re-authorization: the organization's, of this platform."""
    if not credential_id:
        return None
    credential = (
        access.credentials_for_user(request.user)
        .filter(pk=credential_id, organization=organization, platform=platform)
        .first()
    )
    if credential is None:
        raise ValidationError({"credential": [f"no {platform} credential {credential_id} in {organization}"]})
    return credential


def _credential(request, pk: int, *, manage: bool = True) -> Credential:
    if access.valid_id(pk) is None:
        raise Http404("no such credential")
    credential = get_object_or_404(access.credentials_for_user(request.user), pk=pk)
    if manage and not access.user_can_manage(request.user, credential.organization):
        raise PermissionDenied(f"only an owner or admin of {credential.organization} may change its credentials")
    return credential


def _failed(exc: Exception, field: str | None = None):
    message = str(exc)
    return AuthorizationFailedError({field: [message]} if field else {"detail": message})


def _paginated(view, request, queryset, serializer_class) -> Response:
    paginator = LimitOffsetPagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class DiscoveredAccountOutput(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    timezone = serializers.CharField()
    status = serializers.CharField()
    imported = serializers.BooleanField()


class UnreachedAccountOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField()


class CredentialOutput(serializers.Serializer):
    """Everything about a credential except its secrets (tokens, password, developer token).
    `unreached_accounts`: its ad accounts the grant did not reach when last authorized or
    discovered (an authorization suspends them at once)."""

    id = serializers.IntegerField()
    organization = serializers.IntegerField(source="organization_id")
    platform = serializers.CharField()
    app = serializers.IntegerField(source="app_id", allow_null=True)
    granted_by = serializers.CharField(source="granted_by.get_username", allow_null=True, default=None)
    subject = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    access_expires_at = serializers.DateTimeField(allow_null=True)
    refresh_expires_at = serializers.DateTimeField(allow_null=True)
    last_refreshed_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    discovered_accounts = serializers.SerializerMethodField()
    unreached_accounts = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(UnreachedAccountOutput(many=True))
    def get_unreached_accounts(self, credential) -> list[dict]:
        return UnreachedAccountOutput(credential_unreached_accounts(credential), many=True).data

    @extend_schema_field(DiscoveredAccountOutput(many=True))
    def get_discovered_accounts(self, credential) -> list[dict]:
        imported = set(credential.ad_accounts.values_list("external_id", flat=True))
        return [
            {
                "external_id": str(a["external_id"]),
                "name": a.get("name", ""),
                "currency": a.get("currency", ""),
                "timezone": a.get("timezone", ""),
                "status": a.get("status", ""),
                "imported": str(a["external_id"]) in imported,
            }
            for a in credential.discovered_accounts or []
        ]


class AdAccountOutput(serializers.Serializer):
    id = serializers.IntegerField()
    organization = serializers.IntegerField(source="organization_id")
    platform = serializers.CharField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    timezone = serializers.CharField()
    platform_status = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField(help_text="Why the account is not active, and what to do.")
    status_changed_at = serializers.DateTimeField(allow_null=True)
    credential = serializers.IntegerField(source="credential_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AuthorizationStartOutput(serializers.Serializer):
    authorization_url = serializers.URLField(source="url")
    state = serializers.CharField()


# --- platforms and authorization -----------------------------------------------------------


class PlatformListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PlatformListOutput"

        slug = serializers.CharField()
        display_name = serializers.CharField()
        auth_type = serializers.CharField()
        levels = serializers.ListField(child=serializers.CharField())
        granularities = serializers.ListField(child=serializers.CharField())
        supports_pkce = serializers.BooleanField()
        supports_refresh = serializers.BooleanField()
        supports_revoke = serializers.BooleanField()
        password_fields = serializers.ListField(
            child=serializers.CharField(),
            help_text="Extra fields of the password sign-in besides username and password.",
        )

    @extend_schema(responses=OutputSerializer(many=True), summary="Ad platforms and how they authorize")
    def get(self, request):
        rows = [
            {
                "slug": spec.slug,
                "display_name": spec.display_name,
                "auth_type": spec.auth_type,
                "levels": list(spec.levels),
                "granularities": list(spec.granularities),
                "supports_pkce": spec.supports_pkce,
                "supports_refresh": spec.supports_refresh,
                "supports_revoke": spec.supports_revoke,
                "password_fields": list(PASSWORD_EXTRA_FIELDS.get(spec.slug, {}))
                if spec.auth_type == "password"
                else [],
            }
            for spec in registry.all_specs()
        ]
        return Response(self.OutputSerializer(rows, many=True).data)


def _start(
    request, *, platform: str, organization: Organization, credential: Credential | None, redirect_uri: str | None
):
    try:
        start = authorization_start(
            platform=platform,
            organization=organization,
            user=request.user,
            session_key=_binding(request),
            redirect_uri=redirect_uri or None,
            credential=credential,
        )
    except AuthorizationFailed as exc:
        raise _failed(exc, "redirect_uri" if "redirect_uri" in str(exc) else None) from None
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None
    return Response(AuthorizationStartOutput(start).data, status=status.HTTP_201_CREATED)


class PlatformAuthorizeApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PlatformAuthorizeInput"

        organization = serializers.IntegerField(min_value=1, max_value=access.MAX_ID)
        redirect_uri = serializers.URLField(
            required=False,
            allow_blank=True,
            help_text="Where the platform sends the user back; default: the app's, "
            "else /accounts/callback/<platform>/.",
        )
        credential = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=access.MAX_ID,
            help_text="Re-authorize this credential.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: AuthorizationStartOutput},
        summary="Start an OAuth2 authorization: send the user to authorization_url",
        parameters=[PLATFORM_PATH],
        examples=[
            OpenApiExample(
                "a new grant for organization 1", request_only=True, value={"organization": 1, "redirect_uri": ""}
            )
        ],
        description="The state is single use, expires after 10 minutes and is bound to you and to how you "
        "call: a session-signed start finishes in the same browser session (the default "
        "redirect_uri, /accounts/callback/<platform>/, does that); a token-signed start must be "
        "finished by POST platforms/<platform>/callback/ with a token of the same user, so pass "
        "a redirect_uri your client receives.",
    )
    def post(self, request, platform):
        spec = _spec(platform)
        data = _valid(self.InputSerializer, request)
        organization = _organization(request, data["organization"])
        credential = _reauthorized(request, data.get("credential"), organization, spec.slug)
        if spec.auth_type != "oauth2":
            raise ValidationError(
                {"detail": f"{spec.display_name} signs in with a password: POST platforms/{spec.slug}/password/"}
            )
        return _start(
            request,
            platform=spec.slug,
            organization=organization,
            credential=credential,
            redirect_uri=data.get("redirect_uri"),
        )


class PlatformCallbackApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PlatformCallbackInput"

        state = serializers.CharField(max_length=512)
        code = serializers.CharField(required=False, allow_blank=True, max_length=4096)
        auth_code = serializers.CharField(
            required=False, allow_blank=True, max_length=4096, help_text="TikTok's name for the code."
        )
        error = serializers.CharField(required=False, allow_blank=True)
        error_description = serializers.CharField(required=False, allow_blank=True)

        def validate(self, attrs):
            if not (attrs.get("code") or attrs.get("auth_code") or attrs.get("error")):
                raise ValidationError(
                    {"code": ["either code (the platform's authorization code) or error is required"]}
                )
            return attrs

    @extend_schema(
        request=InputSerializer,
        responses={201: CredentialOutput},
        summary="Finish an authorization with the platform's callback parameters",
        parameters=[PLATFORM_PATH],
    )
    def post(self, request, platform):
        spec = _spec(platform)
        data = _valid(self.InputSerializer, request)
        try:
            credential = authorization_finish(
                platform=spec.slug,
                params={k: v for k, v in data.items() if v},
                session_key=_binding(request),
                user=request.user,
            )
        except AuthorizationFailed as exc:
            raise _failed(exc) from None
        return Response(CredentialOutput(credential).data, status=status.HTTP_201_CREATED)


class PlatformPasswordApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PlatformPasswordInput"

        organization = serializers.IntegerField(min_value=1, max_value=access.MAX_ID)
        username = serializers.CharField(max_length=200)
        password = serializers.CharField(max_length=500, write_only=True, trim_whitespace=False)
        extra = serializers.DictField(
            child=serializers.CharField(allow_blank=True),
            required=False,
            help_text="Platform fields besides user name and password (see platforms/ password_fields).",
        )
        credential = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=access.MAX_ID,
            help_text="Replace this credential's sign-in.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: CredentialOutput},
        summary="Sign in on a password platform and store the credential",
        parameters=[PLATFORM_PATH],
        examples=[
            OpenApiExample(
                "sign in for organization 1",
                request_only=True,
                value={"organization": 1, "username": "advertiser@example.com", "password": "the platform password"},
            )
        ],
    )
    def post(self, request, platform):
        spec = _spec(platform)
        data = _valid(self.InputSerializer, request)
        if spec.auth_type != "password":
            raise ValidationError(
                {"detail": f"{spec.display_name} authorizes through a redirect: POST platforms/{spec.slug}/authorize/"}
            )
        allowed = set(PASSWORD_EXTRA_FIELDS.get(spec.slug, {}))
        unknown = sorted(set(data.get("extra") or {}) - allowed)
        if unknown:
            takes = ", ".join(sorted(allowed)) or "none"
            raise ValidationError({"extra": [f"unknown field(s) {', '.join(unknown)}; {spec.slug} takes: {takes}"]})
        organization = _organization(request, data["organization"])
        credential = _reauthorized(request, data.get("credential"), organization, spec.slug)
        try:
            saved = authorization_password(
                platform=spec.slug,
                organization=organization,
                user=request.user,
                username=data["username"],
                password=data["password"],
                extra=data.get("extra"),
                credential=credential,
            )
        except AuthorizationFailed as exc:
            raise _failed(exc, "password" if "password" in str(exc) else None) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(CredentialOutput(saved).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- credentials --------------------------------------------------------------------------

_ORG_PARAM = OpenApiParameter("organization", int, description="Only this organization's")
_PLATFORM_PARAM = OpenApiParameter("platform", str, description="Only this platform's")
_STATUS_PARAM = OpenApiParameter("status", str, description="Only this status")


def _filter(request, queryset, *names):
    for name in names:
        value = request.query_params.get(name)
        if value in (None, ""):
            continue
        if name == "organization" and access.valid_id(value) is None:
            raise ValidationError({"organization": ["must be an organization id"]})
        queryset = queryset.filter(**{f"{name}_id" if name == "organization" else name: value})
    return queryset


class CredentialListApi(APIView):
    @extend_schema(
        parameters=[_ORG_PARAM, _PLATFORM_PARAM, _STATUS_PARAM],
        responses=CredentialOutput(many=True),
        summary="Credentials of your organizations (never their secrets)",
    )
    def get(self, request):
        queryset = _filter(request, access.credentials_for_user(request.user), "organization", "platform", "status")
        return _paginated(self, request, queryset.order_by("-created_at", "-pk"), CredentialOutput)


class CredentialDetailApi(APIView):
    @extend_schema(responses=CredentialOutput)
    def get(self, request, pk):
        return Response(CredentialOutput(_credential(request, pk, manage=False)).data)


class CredentialReauthorizeApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CredentialReauthorizeInput"

        redirect_uri = serializers.URLField(required=False, allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={201: AuthorizationStartOutput},
        summary="Start re-authorizing a credential (OAuth2 platforms; "
        "password ones: platforms/<slug>/password/ with credential)",
    )
    def post(self, request, pk):
        credential = _credential(request, pk)
        data = _valid(self.InputSerializer, request)
        spec = _spec(credential.platform)
        if spec.auth_type != "oauth2":
            raise ValidationError(
                {
                    "detail": f"{spec.display_name} signs in with a password: POST platforms/{spec.slug}/password/ "
                    f"with credential={credential.pk}"
                }
            )
        return _start(
            request,
            platform=spec.slug,
            organization=credential.organization,
            credential=credential,
            redirect_uri=data.get("redirect_uri"),
        )


class CredentialRevokeApi(APIView):
    @extend_schema(
        request=None,
        responses=CredentialOutput,
        summary="Revoke a credential (at the platform where it can) and pause its accounts",
    )
    def post(self, request, pk):
        from accounts.services.credentials import credential_revoke

        credential = _credential(request, pk)
        return Response(CredentialOutput(credential_revoke(credential_id=credential.pk)).data)


class CredentialImportApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CredentialImportInput"

        external_ids = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False)

    @extend_schema(
        request=InputSerializer,
        responses={201: AdAccountOutput(many=True)},
        summary="Import discovered ad accounts of a credential (their DAGs are created)",
    )
    def post(self, request, pk):
        from accounts.services.importing import AccountOfOtherOrganization, ad_accounts_import

        credential = _credential(request, pk)
        data = _valid(self.InputSerializer, request)
        if credential.status != Credential.Status.ACTIVE:
            raise ValidationError(
                {"detail": f"credential {credential.pk} is {credential.status}; re-authorize it first"}
            )
        discovered = discovered_account_infos(credential)
        known = {a.external_id for a in discovered}
        unknown = [x for x in data["external_ids"] if x not in known]
        if unknown:
            raise ValidationError(
                {"external_ids": [f"not reachable through credential {credential.pk}: {', '.join(unknown)}"]}
            )
        try:
            imported = ad_accounts_import(credential=credential, accounts=discovered, external_ids=data["external_ids"])
        except AccountOfOtherOrganization as exc:
            raise ValidationError({"external_ids": [str(exc)]}) from None
        return Response(AdAccountOutput(imported, many=True).data, status=status.HTTP_201_CREATED)


class ErrorDetail(serializers.Serializer):
    class Meta:
        ref_name = "CredentialErrorDetail"

    detail = serializers.CharField()


class CredentialUnusableError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "credential_needs_reauth"


class PlatformUnavailableError(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "platform_error"


class CredentialDiscoverApi(APIView):
    class OutputSerializer(DiscoveredAccountOutput):
        class Meta:
            ref_name = "CredentialDiscoverOutput"

        imported_elsewhere = serializers.BooleanField(
            help_text="Imported into another organization: cannot be imported through this credential"
        )

    @extend_schema(
        request=None,
        responses={200: OutputSerializer(many=True), 409: ErrorDetail, 502: ErrorDetail},
        summary="Ask the platform again which ad accounts a credential reaches (no re-authorization)",
        description="Lists the accounts the stored grant reaches now (its token refreshed if due) and keeps "
        "them as the credential's discovered accounts: import new ones with "
        "POST credentials/<id>/import/. 409 when the grant no longer works (the credential is "
        "then needs_reauth: POST credentials/<id>/reauthorize/), 502 when the platform fails.",
    )
    def post(self, request, pk):
        from accounts.services.discovery import credential_discover
        from connectors.errors import AuthorizationRevoked, ConnectorError
        from connectors.registry import NoPlatformApp

        credential = _credential(request, pk)
        try:
            accounts = credential_discover(credential_id=credential.pk)
        except AuthorizationRevoked as exc:
            raise CredentialUnusableError(
                f"{exc}. Credential {credential.pk} needs re-authorization: POST "
                f"credentials/{credential.pk}/reauthorize/"
            ) from None
        except NoPlatformApp as exc:
            raise CredentialUnusableError(str(exc)) from None
        except ConnectorError as exc:
            raise PlatformUnavailableError(
                f"{credential.platform} did not list the accounts: {exc}; try again later"
            ) from None
        return Response(self.OutputSerializer(accounts, many=True).data)


# --- ad accounts and organizations ------------------------------------------------------------


class AdAccountListApi(APIView):
    @extend_schema(parameters=[_ORG_PARAM, _PLATFORM_PARAM, _STATUS_PARAM], responses=AdAccountOutput(many=True))
    def get(self, request):
        queryset = _filter(request, access.ad_accounts_for_user(request.user), "organization", "platform", "status")
        return _paginated(self, request, queryset.order_by("platform", "name", "pk"), AdAccountOutput)


class AdAccountDetailApi(APIView):
    @extend_schema(responses=AdAccountOutput)
    def get(self, request, pk):
        if access.valid_id(pk) is None:
            raise Http404("no such ad account")
        return Response(AdAccountOutput(get_object_or_404(access.ad_accounts_for_user(request.user), pk=pk)).data)


class OrganizationListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OrganizationListOutput"

        id = serializers.IntegerField()
        name = serializers.CharField()
        role = serializers.CharField(help_text="Your role: owner, admin, member, viewer (superuser outside it)")
        can_manage = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        rows = [
            {
                "id": o.pk,
                "name": o.name,
                "role": access.role_in(request.user, o),
                "can_manage": access.user_can_manage(request.user, o),
            }
            for o in access.visible_organizations(request.user).order_by("name")
        ]
        return Response(self.OutputSerializer(rows, many=True).data)
