"""Kuaishou authorization: OAuth2 authorization code, its own dialect.

  1. the advertiser (or agency, `oauth_type=agent`) opens
     `https://developers.e.kuaishou.com/oauth?app_id=..&scope=["ad_query","report_service",...]
     &redirect_uri=..&state=..`, approves, and comes back with `auth_code` and `state`;
  2. POST `/rest/openapi/oauth2/authorize/access_token` JSON `{app_id, secret, auth_code}` ->
     data `{access_token, access_token_expires_in, refresh_token, refresh_token_expires_in,
     advertiser_id, advertiser_ids}`;
  3. POST `/rest/openapi/oauth2/authorize/refresh_token` `{app_id, secret, refresh_token}` ->
     a new pair; the old refresh token stops working (rotation; lifetimes about 24 h and 30
     days, unconfirmed: the lifetimes in each answer are what we store).
No revocation endpoint: the advertiser cancels the grant in the Kuaishou console.

Standard dialect (tests, compliant OAuth2 servers): as for Ocean Engine, a token endpoint
that is not Kuaishou's own path, or app extra `"oauth": "standard"`, runs RFC 6749 through
requests-oauthlib.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import requests

from connectors import oauth2
from connectors.base import AppConfig, TokenSet
from connectors.errors import AuthorizationFailed, AuthorizationRevoked, ConnectorError, MalformedResponse
from connectors.http import HttpClient, field, redact
from connectors.kuaishou.api import PLATFORM, raise_for_code
from connectors.primitives import keep_grant

NATIVE_TOKEN_PATH = "/oauth2/authorize/access_token"  # noqa: S105 (a path, not a secret)
DEFAULT_SCOPES = ("ad_query", "report_service", "account_service")


def is_standard(app: AppConfig, endpoints: dict[str, str]) -> bool:
    mode = str(app.extra.get("oauth", "")).lower()
    if mode in ("standard", "native"):
        return mode == "standard"
    return not endpoints["token"].rstrip("/").endswith(NATIVE_TOKEN_PATH)


def authorization_url(app: AppConfig, endpoints: dict[str, str], *, state: str, redirect_uri: str) -> str:
    scopes = tuple(app.extra.get("scopes") or DEFAULT_SCOPES)
    if is_standard(app, endpoints):
        return oauth2.authorization_url(
            app, authorize_url=endpoints["authorize"], state=state, redirect_uri=redirect_uri, scopes=scopes
        )
    params = {
        "app_id": app.client_id,
        "scope": json.dumps(list(scopes), separators=(",", ":")),
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if app.extra.get("agent"):  # an agency authorizes all its advertisers at once
        params["oauth_type"] = "agent"
    sep = "&" if "?" in endpoints["authorize"] else "?"
    return f"{endpoints['authorize']}{sep}{urlencode(params)}"


def _unwrap(response: requests.Response) -> requests.Response:
    """requests-oauthlib hook: Kuaishou's envelope and `access_token_expires_in` -> RFC 6749."""
    try:
        body = response.json()
    except ValueError:
        return response
    if isinstance(body, dict) and body.get("code") == 0 and isinstance(body.get("data"), dict):
        body = dict(body["data"])
        if "access_token_expires_in" in body and "expires_in" not in body:
            body["expires_in"] = body["access_token_expires_in"]
        response._content = json.dumps(body).encode()
    return response


def exchange_code(
    http: HttpClient, app: AppConfig, endpoints: dict[str, str], *, code: str, redirect_uri: str
) -> TokenSet:
    if is_standard(app, endpoints):
        return oauth2.exchange_code(
            http, app, token_url=endpoints["token"], code=code, redirect_uri=redirect_uri, response_hooks=(_unwrap,)
        )
    if not code:
        raise AuthorizationFailed(
            "the callback has no auth_code", platform=PLATFORM, endpoint="oauth2/authorize/access_token"
        )
    return _native(
        http,
        endpoints["token"],
        "oauth2/authorize/access_token",
        {"app_id": _app_id(app), "secret": app.client_secret, "auth_code": code},
        failed=AuthorizationFailed,
    )


def refresh(http: HttpClient, app: AppConfig, endpoints: dict[str, str], token: TokenSet) -> TokenSet:
    if not token.refresh_token:
        raise AuthorizationRevoked("no refresh token is stored; re-authorize the account", platform=PLATFORM)
    if is_standard(app, endpoints):
        fresh = oauth2.refresh_token(
            http, app, token_url=endpoints["refresh"], refresh_token=token.refresh_token, response_hooks=(_unwrap,)
        )
    else:
        fresh = _native(
            http,
            endpoints["refresh"],
            "oauth2/authorize/refresh_token",
            {"app_id": _app_id(app), "secret": app.client_secret, "refresh_token": token.refresh_token},
            failed=AuthorizationRevoked,
        )
    return keep_grant(fresh, token)


def _app_id(app: AppConfig):
    return int(app.client_id) if app.client_id.isdigit() else app.client_id


def _native(http: HttpClient, url: str, endpoint: str, payload: dict, *, failed: type[ConnectorError]) -> TokenSet:
    where = {"platform": PLATFORM, "endpoint": endpoint}
    body = http.post_json(url, endpoint=endpoint, json=payload)
    if not isinstance(body, dict):
        raise MalformedResponse("expected a JSON object", field="<body>", **where)
    code = field(body, "code", int, **where)
    if code != 0:
        try:
            raise_for_code(body, where, http)
        except ConnectorError as exc:
            if exc.retryable:  # rate limited, system busy: try again later
                raise
            # A refused code exchange is a failed attempt; a refused refresh (spent, expired or
            # cancelled refresh token) ends the grant.
            raise failed(f"code {code}: {redact(str(body.get('message', '')))}; authorize again", **where) from None
    data = field(body, "data", dict, **where)
    field(data, "access_token", str, at="data", **where)
    expires = field(data, "access_token_expires_in", (int, float), at="data", **where)
    ids = data.get("advertiser_ids") or ([data["advertiser_id"]] if data.get("advertiser_id") else [])
    return oauth2.token_set({**data, "expires_in": expires, "advertiser_ids": ids}, now=datetime.now(UTC))
