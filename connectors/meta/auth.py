"""Meta authorization: Facebook Login's manual flow for a user access token.

  1. the user opens `https://www.facebook.com/{version}/dialog/oauth?client_id=..&redirect_uri=..
     &state=..&scope=ads_read,business_management&response_type=code`, approves, and comes back
     with `code` and `state` (or `error`, `error_reason`, `error_description`);
  2. GET `https://graph.facebook.com/{version}/oauth/access_token?client_id&redirect_uri
     &client_secret&code` -> `{"access_token", "token_type": "bearer", "expires_in"}`: a
     short-lived user token (about 1-2 hours);
  3. GET the same endpoint with `grant_type=fb_exchange_token&client_id&client_secret
     &fb_exchange_token=<short token>` -> a long-lived token (about 60 days).
There is NO refresh token (confirmed: "Long-lived tokens ... cannot be refreshed"; the user
logs in again). Our declared policy: no refresh; the spec's `refresh_lead_time` (7 days) is the
warning window in which the account is flagged for re-authorization before the token dies, and
`MetaConnector.refresh` only checks that Meta still accepts the token (unchanged) or says re-authorize.
System-user tokens from Business Manager do not expire (expires_in absent -> expires_at None).
Revocation: DELETE `/me/permissions` (with `appsecret_proof`) removes the app's grant (documented on the Permissions
reference; we call it from `revoke`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from connectors.base import AppConfig, TokenSet
from connectors.errors import AuthorizationFailed, AuthorizationRevoked, ConnectorError, MalformedResponse
from connectors.http import HttpClient, field
from connectors.meta.api import PLATFORM, raise_for_error

DEFAULT_SCOPES = ("ads_read", "business_management")
LONG_LIVED = timedelta(days=60)  # when the exchange answer does not say (documented "about 60 days")


def authorization_url(app: AppConfig, endpoints: dict[str, str], *, state: str, redirect_uri: str) -> str:
    scopes = tuple(app.extra.get("scopes") or DEFAULT_SCOPES)
    params = {
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": ",".join(scopes),
        "response_type": "code",
    }
    if app.extra.get("config_id"):  # Facebook Login for Business: a configuration instead of scopes
        params["config_id"] = str(app.extra["config_id"])
        params.pop("scope")
    sep = "&" if "?" in endpoints["authorize"] else "?"
    return f"{endpoints['authorize']}{sep}{urlencode(params)}"


def _token_call(http: HttpClient, url: str, params: dict, *, endpoint: str, failed: type[ConnectorError]) -> dict:
    where = {"platform": PLATFORM, "endpoint": endpoint}
    try:
        body = http.get_json(url, endpoint=endpoint, params=params)
    except ConnectorError as exc:
        if exc.retryable:
            raise
        raise failed(f"{exc}; authorize again", **where) from None
    try:
        raise_for_error(body, where)
    except ConnectorError as exc:
        if exc.retryable and not isinstance(exc, (AuthorizationRevoked,)):
            raise
        raise failed(f"{exc}; authorize again", **where) from None
    if not isinstance(body, dict):
        raise MalformedResponse("expected a JSON object", field="<body>", **where)
    field(body, "access_token", str, **where)
    return body


def _token_set(body: dict, now: datetime, *, default_lifetime: timedelta | None) -> TokenSet:
    expires_in = body.get("expires_in")
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
        expires_at = now + timedelta(seconds=float(expires_in))
    else:
        expires_at = now + default_lifetime if default_lifetime else None
    return TokenSet(
        access_token=body["access_token"],
        expires_at=expires_at,
        raw={k: v for k, v in body.items() if k != "access_token"},
    )


def exchange_code(
    http: HttpClient, app: AppConfig, endpoints: dict[str, str], *, code: str, redirect_uri: str
) -> TokenSet:
    if not code:
        raise AuthorizationFailed("the callback has no code", platform=PLATFORM, endpoint="oauth/access_token")
    now = datetime.now(UTC)
    short = _token_call(
        http,
        endpoints["token"],
        {"client_id": app.client_id, "redirect_uri": redirect_uri, "client_secret": app.client_secret, "code": code},
        endpoint="oauth/access_token (code)",
        failed=AuthorizationFailed,
    )
    long = _token_call(
        http,
        endpoints["token"],
        {
            "grant_type": "fb_exchange_token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "fb_exchange_token": short["access_token"],
        },
        endpoint="oauth/access_token (fb_exchange_token)",
        failed=AuthorizationFailed,
    )
    token = _token_set(long, now, default_lifetime=LONG_LIVED)
    scopes = tuple(app.extra.get("scopes") or DEFAULT_SCOPES)
    return TokenSet(access_token=token.access_token, expires_at=token.expires_at, scopes=scopes, raw=token.raw)


def revoke(http: HttpClient, app: AppConfig, endpoints: dict[str, str], token: TokenSet) -> None:
    if not token.access_token:
        return
    where = {"platform": PLATFORM, "endpoint": "me/permissions"}
    params = {"access_token": token.access_token}
    if app.client_secret:
        params["appsecret_proof"] = hmac.new(
            app.client_secret.encode(), token.access_token.encode(), hashlib.sha256
        ).hexdigest()
    body = http.request(
        "DELETE", f"{endpoints['graph'].rstrip('/')}/me/permissions", endpoint=where["endpoint"], params=params
    )
    try:
        answer = body.json()
    except ValueError:
        raise MalformedResponse("the body is not JSON", field="<body>", **where) from None
    raise_for_error(answer, where)


def reauthorization_due(token: TokenSet, *, warning: timedelta, now: datetime | None = None) -> bool:
    """True when the long-lived token expires within `warning` (or has): ask the user to log in again."""
    if token.expires_at is None:
        return False
    return token.expires_at - (now or datetime.now(UTC)) <= warning
