"""TikTok API for Business authorization (Marketing API v1.3).

  1. the advertiser (or a Business Center admin) opens the app's advertiser authorization URL,
     `https://business-api.tiktok.com/portal/auth?app_id=..&state=..&redirect_uri=..`, picks the ad
     accounts and permissions, and comes back with `auth_code` (also sent as `code`) and `state`;
  2. POST `/open_api/v1.3/oauth2/access_token/` JSON `{app_id, secret, auth_code}` -> data
     `{access_token, advertiser_ids, scope}`: a LONG-TERM access token, valid until the advertiser
     revokes it; there is no refresh token for the Marketing API (confirmed in TikTok's SDK model
     `Oauth2AccessTokenBody` and its authentication guide; the refresh endpoint TikTok documents is
     for TikTok account (creator) tokens, not advertisers).
  3. revocation: POST `/open_api/v1.3/oauth2/revoke_token/` JSON `{app_id, secret, access_token}`
     ("撤销长期访问令牌", revoke a long-term access token) -> data `{app_id, advertiser_ids}`: the
     advertisers the token no longer reaches (bububa/tiktok-business model/oauth/revoke_token.go,
     api/oauth/revoke_token.go).
Declared policy: no refresh; a token error means re-authorize.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from connectors.base import AppConfig, TokenSet
from connectors.errors import (
    AuthorizationFailed,
    AuthorizationRevoked,
    ConnectorError,
    MalformedResponse,
    RateLimited,
    TransientError,
)
from connectors.http import HttpClient, field
from connectors.tiktok.api import PLATFORM, raise_for_code


def authorization_url(app: AppConfig, endpoints: dict[str, str], *, state: str, redirect_uri: str) -> str:
    params = {"app_id": app.client_id, "state": state, "redirect_uri": redirect_uri}
    sep = "&" if "?" in endpoints["authorize"] else "?"
    return f"{endpoints['authorize']}{sep}{urlencode(params)}"


def exchange_code(http: HttpClient, app: AppConfig, endpoints: dict[str, str], *, code: str) -> TokenSet:
    endpoint = "oauth2/access_token"
    where = {"platform": PLATFORM, "endpoint": endpoint}
    if not code:
        raise AuthorizationFailed("the callback has no auth_code", **where)
    body = http.post_json(
        endpoints["token"],
        endpoint=endpoint,
        json={"app_id": app.client_id, "secret": app.client_secret, "auth_code": code},
    )
    if not isinstance(body, dict):
        raise MalformedResponse("expected a JSON object", field="<body>", **where)
    try:
        raise_for_code(body, where, http)
    except ConnectorError as exc:
        if isinstance(exc, (RateLimited, TransientError)):  # try the same code again shortly
            raise
        raise AuthorizationFailed(f"{exc}; authorize again", **where) from None
    data = field(body, "data", dict, **where)
    token = field(data, "access_token", str, at="data", **where)
    ids = field(data, "advertiser_ids", list, default=[], at="data", **where)
    scope = data.get("scope") or []
    # Advertiser tokens carry no expiry. Should the answer ever name one (TikTok's creator tokens do:
    # `access_token_expire_in`, unconfirmed for advertisers), it is kept so expiry is visible.
    expires_in = data.get("access_token_expire_in", data.get("expires_in"))
    expires_at = None
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
        expires_at = datetime.now(UTC) + timedelta(seconds=float(expires_in))
    return TokenSet(
        access_token=token,
        expires_at=expires_at,
        scopes=tuple(str(s) for s in scope) if isinstance(scope, list) else (),
        account_ids=tuple(str(a) for a in ids),
        raw={k: v for k, v in data.items() if k not in ("access_token", "refresh_token")},
    )


def revoke(http: HttpClient, app: AppConfig, endpoints: dict[str, str], token: TokenSet) -> None:
    """Revoke the long-term token at TikTok. A token TikTok no longer knows is revoked already."""
    endpoint = "oauth2/revoke_token"
    where = {"platform": PLATFORM, "endpoint": endpoint}
    if not token.access_token:
        return
    body = http.post_json(
        endpoints["revoke"],
        endpoint=endpoint,
        json={"app_id": app.client_id, "secret": app.client_secret, "access_token": token.access_token},
    )
    if not isinstance(body, dict):
        raise MalformedResponse("expected a JSON object", field="<body>", **where)
    try:
        raise_for_code(body, where, http)
    except AuthorizationRevoked:  # the token is already invalid: nothing left to revoke
        return
