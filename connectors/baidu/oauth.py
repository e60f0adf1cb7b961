"""Baidu OAuth2 (百度营销 服务市场 authorization), the flow Baidu's SDKs moved to in 2024.

  1. the user opens `https://u.baidu.com/oauth/page/index?appId=..&scope=..&state=..&callback=..`
     (the scope is the app's permission code, copied from the Baidu app console into the app's
     `extra.scope`), approves, and comes back to `callback` with `authCode`, `userId`, `state`;
  2. POST JSON `{appId, authCode, secretKey, grantType: "auth_code", userId}` to
     `https://u.baidu.com/oauth/accessToken` -> `{code: 0, message, data: {accessToken,
     refreshToken, openId, expiresTime, refreshExpiresTime, expiresIn, refreshExpiresIn, userId}}`;
  3. POST `{appId, refreshToken, secretKey, userId}` to `.../oauth/refreshToken`: the same answer;
  4. POST `{openId, accessToken, userId, needSubList, pageSize, lastPageMaxUcId}` to
     `.../oauth/getUserInfo` -> `data: {masterUid, masterName, userAcctType, hasNext,
     subUserList: [{ucId, ucName}]}` (an account manager's accounts, paged by the last ucId).
API calls then carry the header `{userName, accessToken}` (userName: the account's name).
Shapes: bububa/baidu-marketing model/oauth/{url,accessToken,refreshToken,getUserInfo}.go,
model/request.go, model/response.go (DataResponse), model/const.go (BASE_OAUTH_URL).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from connectors.base import AppConfig, TokenSet
from connectors.errors import AuthorizationFailed, AuthorizationRevoked, ConnectorError, MalformedResponse
from connectors.http import HttpClient, field, redact
from connectors.primitives import envelope_data

PLATFORM = "baidu"
SUB_PAGE = 500  # getUserInfo pageSize: "默认100，最大不超过500"


def authorization_url(app: AppConfig, endpoints: Mapping[str, str], *, state: str, redirect_uri: str) -> str:
    scope = str(app.extra.get("scope") or "")
    if not scope:
        raise AuthorizationFailed(
            "the Baidu app has no extra.scope: copy the permission code from the app's authorization link "
            "in the Baidu developer console",
            platform=PLATFORM,
            endpoint="oauth/page/index",
        )
    query = urlencode({"appId": app.client_id, "scope": scope, "state": state, "callback": redirect_uri})
    return f"{endpoints['authorize']}?{query}"


def raise_for_code(body: Any, where: Mapping[str, str], http: Any = None) -> None:
    """`{code, message, data}`: a non-zero code refuses the request (no code table is published)."""
    code = field(body, "code", int, **where)
    if code != 0:
        raise ConnectorError(f"code {code}: {redact(str(body.get('message') or ''))}", **where)


def exchange(
    http: HttpClient, app: AppConfig, endpoints: Mapping[str, str], *, auth_code: str, user_id: str
) -> TokenSet:
    payload = {
        "appId": app.client_id,
        "authCode": auth_code,
        "secretKey": app.client_secret,
        "grantType": "auth_code",
        **({"userId": int(user_id)} if user_id.isdigit() else {}),
    }
    return _token_call(http, endpoints["token"], "oauth/accessToken", payload, failed=AuthorizationFailed)


def refresh(http: HttpClient, app: AppConfig, endpoints: Mapping[str, str], token: TokenSet) -> TokenSet:
    if not token.refresh_token:
        raise AuthorizationRevoked("no refresh token is stored; authorize the account again", platform=PLATFORM)
    user_id = token.secrets.get("user_id", "")
    payload = {
        "appId": app.client_id,
        "refreshToken": token.refresh_token,
        "secretKey": app.client_secret,
        **({"userId": int(user_id)} if user_id.isdigit() else {}),
    }
    fresh = _token_call(http, endpoints["refresh"], "oauth/refreshToken", payload, failed=AuthorizationRevoked)
    return TokenSet(
        access_token=fresh.access_token,
        refresh_token=fresh.refresh_token or token.refresh_token,
        expires_at=fresh.expires_at,
        refresh_expires_at=fresh.refresh_expires_at or token.refresh_expires_at,
        account_ids=fresh.account_ids or token.account_ids,
        secrets={**token.secrets, **fresh.secrets},
        raw=fresh.raw,
    )


def _token_call(
    http: HttpClient, url: str, endpoint: str, payload: dict[str, Any], *, failed: type[ConnectorError]
) -> TokenSet:
    where = {"platform": PLATFORM, "endpoint": endpoint}
    data = _data(http.post_json(url, endpoint=endpoint, json=payload), where, failed)
    access = field(data, "accessToken", str, at="data", **where)
    refresh_token = field(data, "refreshToken", str, default="", at="data", **where)
    expires_in = field(data, "expiresIn", (int, float), at="data", **where)
    refresh_in = field(data, "refreshExpiresIn", (int, float), default=None, at="data", **where)
    user_id = field(data, "userId", (int, str), default="", at="data", **where)
    now = datetime.now(UTC)
    return TokenSet(
        access_token=access,
        refresh_token=refresh_token,
        expires_at=now + timedelta(seconds=float(expires_in)),
        refresh_expires_at=now + timedelta(seconds=float(refresh_in)) if refresh_in is not None else None,
        account_ids=(str(user_id),) if user_id != "" else (),
        secrets={
            "auth": "oauth2",
            "user_id": str(user_id),
            "open_id": str(data.get("openId") or ""),
        },
        raw={k: v for k, v in data.items() if k not in ("accessToken", "refreshToken")},
    )


def _data(body: Any, where: Mapping[str, str], failed: type[ConnectorError]) -> Any:
    """The answer's `data`; a refusal (code != 0) becomes `failed` (retryable errors stay as they are)."""
    try:
        return envelope_data(body, where, raise_for_code)
    except MalformedResponse:
        raise
    except ConnectorError as exc:
        if exc.retryable:
            raise
        raise failed(f"{str(exc).split(': ', 1)[-1]}; authorize the account again", **where) from None


def accounts(http: HttpClient, endpoints: Mapping[str, str], token: TokenSet) -> Iterator[tuple[str, str, dict]]:
    """(user id, user name, raw) of the authorizing account, then of its sub-accounts."""
    endpoint = "oauth/getUserInfo"
    where = {"platform": PLATFORM, "endpoint": endpoint}
    user_id = token.secrets.get("user_id", "")
    last = 1  # "第一次获取子账户列表时，该字段需要设置为1"
    first = True
    while True:
        payload = {
            "openId": token.secrets.get("open_id", ""),
            "accessToken": token.access_token,
            **({"userId": int(user_id)} if user_id.isdigit() else {}),
            "needSubList": True,
            "pageSize": SUB_PAGE,
            "lastPageMaxUcId": last,
        }
        data = _data(
            http.post_json(endpoints["userinfo"], endpoint=endpoint, json=payload), where, AuthorizationRevoked
        )
        if first:
            master = str(field(data, "masterUid", (int, str), at="data", **where))
            yield master, field(data, "masterName", str, at="data", **where), data
            first = False
        subs = field(data, "subUserList", list, default=[], at="data", **where)
        for n, sub in enumerate(subs):
            at = f"data.subUserList.{n}"
            uc_id = field(sub, "ucId", (int, str), at=at, **where)
            yield str(uc_id), field(sub, "ucName", str, at=at, **where), sub
            last = max(last, int(uc_id))
        if not subs or not field(data, "hasNext", bool, default=False, at="data", **where):
            return
