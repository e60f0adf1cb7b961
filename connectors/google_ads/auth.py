"""Google Ads authorization: standard OAuth2 (Google's web-server flow) on requests-oauthlib.

  authorize  https://accounts.google.com/o/oauth2/v2/auth  with `access_type=offline` (we need a
             refresh token), `prompt=consent` (Google only returns a refresh token on a consent
             screen; without it a second authorization yields none), `include_granted_scopes=true`,
             scope `https://www.googleapis.com/auth/adwords`, PKCE S256;
  token      https://oauth2.googleapis.com/token  (authorization_code and refresh_token grants);
  revoke     https://oauth2.googleapis.com/revoke (`token=`: revoking the refresh token ends the grant).
Access tokens last 1 h (`expires_in` 3599); refresh tokens do not rotate and have no stated
lifetime: they die when the user revokes them, after 6 months unused, or after 7 days while the
OAuth consent screen is in "Testing" (documented on Google's OAuth2 page). `invalid_grant` on a
refresh therefore means re-authorize.
"""

from __future__ import annotations

from connectors import oauth2
from connectors.base import AppConfig, TokenSet
from connectors.errors import PermanentError
from connectors.http import HttpClient

SCOPE = "https://www.googleapis.com/auth/adwords"


def authorization_url(
    app: AppConfig, endpoints: dict[str, str], *, state: str, redirect_uri: str, code_challenge: str | None
) -> str:
    return oauth2.authorization_url(
        app,
        authorize_url=endpoints["authorize"],
        state=state,
        redirect_uri=redirect_uri,
        scopes=tuple(app.extra.get("scopes") or (SCOPE,)),
        code_challenge=code_challenge,
        extra_params={"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
    )


def exchange_code(
    http: HttpClient,
    app: AppConfig,
    endpoints: dict[str, str],
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
) -> TokenSet:
    return oauth2.exchange_code(
        http, app, token_url=endpoints["token"], code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
    )


def refresh(http: HttpClient, app: AppConfig, endpoints: dict[str, str], token: TokenSet) -> TokenSet:
    fresh = oauth2.refresh_token(http, app, token_url=endpoints["token"], refresh_token=token.refresh_token)
    # Google answers a refresh without a refresh_token: the one we hold stays valid (no rotation).
    return TokenSet(
        access_token=fresh.access_token,
        refresh_token=fresh.refresh_token or token.refresh_token,
        expires_at=fresh.expires_at,
        refresh_expires_at=token.refresh_expires_at,
        scopes=fresh.scopes or token.scopes,
        raw=fresh.raw,
    )


def revoke(http: HttpClient, app: AppConfig, endpoints: dict[str, str], token: TokenSet) -> None:
    value = token.refresh_token or token.access_token
    try:
        oauth2.revoke_token(
            http,
            app,
            revoke_url=endpoints["revoke"],
            token=value,
            token_type_hint="refresh_token" if token.refresh_token else "access_token",
        )
    except PermanentError as exc:
        # 400 {"error": "invalid_token"}: already revoked or expired: the goal is reached.
        if "invalid_token" not in str(exc):
            raise
