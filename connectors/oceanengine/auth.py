"""Ocean Engine authorization: OAuth2 authorization code, its own dialect.

The platform's flow (open.oceanengine.com developer docs, "授权流程"):
  1. the user opens `https://open.oceanengine.com/audit/oauth.html?app_id=..&state=..&redirect_uri=..`
     (scopes are chosen on the app; an optional `scope` JSON list narrows them), approves, and
     comes back to the redirect URI with `auth_code` and `state`;
  2. POST `/open_api/oauth2/access_token/` with JSON `{app_id, secret, grant_type: "auth_code",
     auth_code}` -> envelope data `{access_token, expires_in (86399), refresh_token,
     refresh_token_expires_in (2591999), advertiser_ids}`;
  3. POST `/open_api/oauth2/refresh_token/` with `{app_id, secret, grant_type: "refresh_token",
     refresh_token}` -> a new access token AND a new refresh token; the old refresh token dies.
There is no revocation endpoint: the advertiser cancels the grant in the Ocean Engine UI.

Standard dialect: when the token endpoint is set (settings / the app's endpoints) to a URL that
is not Ocean Engine's own path, or the app's extra says `"oauth": "standard"`, the same steps
run as RFC 6749 through requests-oauthlib (client_id/redirect_uri/response_type=code, form
grant requests). That is how the flows are tested against any compliant OAuth2 server, ours
included; an Ocean-Engine-shaped envelope from such a server is unwrapped too.
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
from connectors.oceanengine.api import PLATFORM, raise_for_code
from connectors.primitives import keep_grant

NATIVE_TOKEN_PATH = "/oauth2/access_token/"  # noqa: S105 (a path, not a secret)
# auth_code invalid, expired or already used (unconfirmed exact code; 40106 in SDK error tables)
BAD_AUTH_CODE = frozenset({40106, 40108})


def is_standard(app: AppConfig, endpoints: dict[str, str]) -> bool:
    mode = str(app.extra.get("oauth", "")).lower()
    if mode in ("standard", "native"):
        return mode == "standard"
    return not endpoints["token"].rstrip("/").endswith(NATIVE_TOKEN_PATH.rstrip("/"))


def authorization_url(app: AppConfig, endpoints: dict[str, str], *, state: str, redirect_uri: str, scopes=()) -> str:
    if is_standard(app, endpoints):
        return oauth2.authorization_url(
            app, authorize_url=endpoints["authorize"], state=state, redirect_uri=redirect_uri, scopes=scopes
        )
    params = {"app_id": app.client_id, "state": state, "redirect_uri": redirect_uri}
    if app.extra.get("scope"):  # optional narrowing, a JSON list of permission ids
        params["scope"] = json.dumps(app.extra["scope"], separators=(",", ":"))
    sep = "&" if "?" in endpoints["authorize"] else "?"
    return f"{endpoints['authorize']}{sep}{urlencode(params)}"


def _unwrap(response: requests.Response) -> requests.Response:
    """requests-oauthlib hook: an envelope `{"code": 0, "data": {...}}` becomes the bare token."""
    try:
        body = response.json()
    except ValueError:
        return response
    if isinstance(body, dict) and "code" in body and isinstance(body.get("data"), dict) and body.get("code") == 0:
        response._content = json.dumps(body["data"]).encode()
    elif isinstance(body, dict) and body.get("code") not in (None, 0) and "error" not in body:
        response._content = json.dumps(
            {"error": "invalid_grant", "error_description": str(body.get("message", ""))}
        ).encode()
    return response


def exchange_code(
    http: HttpClient, app: AppConfig, endpoints: dict[str, str], *, code: str, redirect_uri: str
) -> TokenSet:
    if is_standard(app, endpoints):
        return oauth2.exchange_code(
            http, app, token_url=endpoints["token"], code=code, redirect_uri=redirect_uri, response_hooks=(_unwrap,)
        )
    if not code:
        raise AuthorizationFailed("the callback has no auth_code", platform=PLATFORM, endpoint="oauth2/access_token")
    return _native(
        http,
        endpoints["token"],
        "oauth2/access_token",
        {
            "app_id": _app_id(app),
            "secret": app.client_secret,
            "grant_type": "auth_code",
            "auth_code": code,
        },
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
            "oauth2/refresh_token",
            {
                "app_id": _app_id(app),
                "secret": app.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": token.refresh_token,
            },
            failed=AuthorizationRevoked,
        )
    # The refresh answer does not repeat the advertisers of the grant; keep them.
    return keep_grant(fresh, token)


def _app_id(app: AppConfig):
    # The API documents app_id as a number; send it as one when it is one.
    return int(app.client_id) if app.client_id.isdigit() else app.client_id


def _native(http: HttpClient, url: str, endpoint: str, payload: dict, *, failed: type[ConnectorError]) -> TokenSet:
    where = {"platform": PLATFORM, "endpoint": endpoint}
    body = http.post_json(url, endpoint=endpoint, json=payload)
    if not isinstance(body, dict):
        raise MalformedResponse("expected a JSON object", field="<body>", **where)
    code = field(body, "code", int, **where)
    if code in BAD_AUTH_CODE or (code != 0 and failed is AuthorizationFailed and code in (40103, 40107)):
        raise failed(f"code {code}: {redact(str(body.get('message', '')))}; authorize again", **where)
    raise_for_code(body, where, http)
    data = field(body, "data", dict, **where)
    field(data, "access_token", str, at="data", **where)
    field(data, "expires_in", (int, float), at="data", **where)
    return oauth2.token_set(data, now=datetime.now(UTC))
