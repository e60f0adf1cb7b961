"""API routes of the accounts app, mounted at /api/v1/ next to the web app's."""

from django.urls import path

from accounts import apis

app_name = "accounts-api"

urlpatterns = [
    path("platforms/", apis.PlatformListApi.as_view(), name="platforms"),
    path("platforms/<slug:platform>/authorize/", apis.PlatformAuthorizeApi.as_view(), name="platform-authorize"),
    path("platforms/<slug:platform>/callback/", apis.PlatformCallbackApi.as_view(), name="platform-callback"),
    path("platforms/<slug:platform>/password/", apis.PlatformPasswordApi.as_view(), name="platform-password"),
    path("credentials/", apis.CredentialListApi.as_view(), name="credentials"),
    path("credentials/<int:pk>/", apis.CredentialDetailApi.as_view(), name="credential"),
    path("credentials/<int:pk>/reauthorize/", apis.CredentialReauthorizeApi.as_view(), name="credential-reauthorize"),
    path("credentials/<int:pk>/revoke/", apis.CredentialRevokeApi.as_view(), name="credential-revoke"),
    path("credentials/<int:pk>/import/", apis.CredentialImportApi.as_view(), name="credential-import"),
    path("credentials/<int:pk>/discover/", apis.CredentialDiscoverApi.as_view(), name="credential-discover"),
    path("ad-accounts/", apis.AdAccountListApi.as_view(), name="ad-accounts"),
    path("ad-accounts/<int:pk>/", apis.AdAccountDetailApi.as_view(), name="ad-account"),
    path("organizations/", apis.OrganizationListApi.as_view(), name="organizations"),
]
