"""Talking to the Graph API (https://graph.facebook.com/v{N}).

Requests: GET with `access_token` as a query parameter (Graph's documented way; the value never
reaches our logs: `connectors.http` logs paths only). Lists answer `{"data": [...], "paging":
{"cursors": {"before", "after"}, "next": "<full URL>"}}`; we follow `paging.next` until it is
absent, one page in memory.

Errors (https://developers.facebook.com/docs/graph-api/guides/error-handling, confirmed):
`{"error": {"message", "type", "code", "error_subcode", "is_transient", "error_user_title",
"error_user_msg", "fbtrace_id"}}`, usually with HTTP 400 (sometimes 401/403/500).

| code (subcode)                                     | our error            |
|----------------------------------------------------|----------------------|
| 190 (463 expired, 467 invalid, none), 102          | TokenExpired         |
| 190 (458 app removed, 459 checkpoint, 460 password | AuthorizationRevoked |
|   changed, 464 unconfirmed, 492 session invalid)   |                      |
| 200-299 (permission), 10 with "permission" text    | AccountAccessLost on an account's call (that |
|                                                    | account only), AuthorizationRevoked otherwise |
| 4, 17, 32, 341, 613, 80000-80014 (business use     | RateLimited          |
|   case limits)                                     |                      |
| 1, 2, is_transient=true, HTTP 5xx                  | TransientError       |
| anything else (100 invalid parameter, ...)         | PermanentError       |

The 190 subcodes and 4/17/613/80000+ are in Meta's error and rate-limiting pages; that 102
behaves like 190 and that the 80000-80014 range is contiguous are from those pages' tables as
quoted by open-source connectors (unconfirmed for every number in the range).

Rate limits (https://developers.facebook.com/docs/graph-api/overview/rate-limiting): every
answer may carry `X-Business-Use-Case-Usage` (JSON: business id -> list of {type, call_count,
total_cputime, total_time, estimated_time_to_regain_access (minutes)}), `X-Ad-Account-Usage`
({acc_id_util_pct, reset_time_duration (seconds), ads_api_access_tier}) and `X-App-Usage`
({call_count, total_cputime, total_time}: percentages); insights answers also carry
`x-fb-ads-insights-throttle` ({app_id_util_pct, acc_id_util_pct, ads_api_access_tier}: the
insights load of the app and of the ad account, read as Airbyte's source-facebook-marketing
api.py does). A throttled answer's regain time pauses
the shared bucket, and so does any usage at or above USAGE_PAUSE_AT percent, so every worker
slows down before Meta starts refusing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.errors import (
    AccountAccessLost,
    AuthorizationRevoked,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.http import HttpClient, field, redact

PLATFORM = "meta"
# The version in the current reference pages; Meta keeps each version about two years.
# The base URL (with it) is overridable.
GRAPH_VERSION = "v25.0"
TOKEN_EXPIRED_SUBCODES = frozenset({463, 467})
REVOKED_SUBCODES = frozenset({458, 459, 460, 464, 492})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613}) | frozenset(range(80000, 80015))
TRANSIENT_CODES = frozenset({1, 2})
DEFAULT_RETRY_AFTER = 60.0  # throttled without a regain time: Meta's windows are an hour long; retry in a minute
USAGE_PAUSE_AT = 95.0  # percent of a usage budget at which all workers pause
USAGE_PAUSE = 60.0  # seconds to pause when near a budget without a stated regain time


class TooMuchData(TransientError):
    """Insights refused a synchronous request as too large ("Please reduce the amount of data
    you're asking for"): run it as an async report instead."""


def raise_for_error(body: Any, where: dict[str, str], *, status: int = 400, retry_after: float | None = None) -> None:
    """Raise our error for a Graph `{"error": {...}}` body; return if there is none."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return
    error = body["error"]
    code = error.get("code")
    subcode = error.get("error_subcode")
    message = redact(str(error.get("message") or ""))
    text = f"error {code}{f'/{subcode}' if subcode else ''} ({error.get('type', '')}): {message}"
    if error.get("fbtrace_id"):
        text += f" [fbtrace_id {error['fbtrace_id']}]"
    if not isinstance(code, int) or isinstance(code, bool):
        raise MalformedResponse(f"error.code should be an integer, got {code!r}", field="error.code", **where)
    if code in (190, 102):
        if subcode in REVOKED_SUBCODES:
            raise AuthorizationRevoked(f"{text}; re-authorize the account", **where)
        raise TokenExpired(
            f"{text}; the token expired or is invalid (Meta has no refresh token: re-authorize if it persists)", **where
        )
    if 200 <= code <= 299 or (code == 10 and "permission" in message.lower()):
        if where.get("account"):
            # On one ad account's objects this is that account: the user lost their role on it,
            # or it left the business. The grant's other accounts still answer.
            raise AccountAccessLost(
                f"{text}; the grant no longer reaches this ad account: re-authorize with a user who has a role "
                "on it (ads_read), or remove it",
                **where,
            )
        raise AuthorizationRevoked(
            f"{text}; the grant lacks a permission: re-authorize with the ads_read scope", **where
        )
    if code in RATE_LIMIT_CODES:
        raise RateLimited(text, retry_after=retry_after if retry_after is not None else DEFAULT_RETRY_AFTER, **where)
    if "reduce the amount of data" in message.lower():
        raise TooMuchData(text, **where)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or status >= 500:
        raise TransientError(text, **where)
    raise PermanentError(text, **where)


def _json_header(headers, name: str) -> Any:
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def usage_wait(headers) -> tuple[float, float]:
    """(seconds until Meta says access is regained, highest usage percentage) from the usage
    headers; malformed headers count as no information (they are advisory)."""
    regain, top = 0.0, 0.0
    buc = _json_header(headers, "X-Business-Use-Case-Usage")
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                for key in ("call_count", "total_cputime", "total_time"):
                    if isinstance(entry.get(key), (int, float)):
                        top = max(top, float(entry[key]))
                minutes = entry.get("estimated_time_to_regain_access")
                if isinstance(minutes, (int, float)):
                    regain = max(regain, float(minutes) * 60.0)
    account = _json_header(headers, "X-Ad-Account-Usage")
    if isinstance(account, dict) and isinstance(account.get("acc_id_util_pct"), (int, float)):
        top = max(top, float(account["acc_id_util_pct"]))
        if account["acc_id_util_pct"] >= USAGE_PAUSE_AT and isinstance(
            account.get("reset_time_duration"), (int, float)
        ):
            regain = max(regain, float(account["reset_time_duration"]))
    insights = _json_header(headers, "x-fb-ads-insights-throttle")
    if isinstance(insights, dict):
        for key in ("app_id_util_pct", "acc_id_util_pct"):
            if isinstance(insights.get(key), (int, float)) and not isinstance(insights.get(key), bool):
                top = max(top, float(insights[key]))
    app = _json_header(headers, "X-App-Usage")
    if isinstance(app, dict):
        for key in ("call_count", "total_cputime", "total_time"):
            if isinstance(app.get(key), (int, float)):
                top = max(top, float(app[key]))
    return regain, top


class GraphApi:
    def __init__(self, http: HttpClient, base: str, token: str, app_secret: str = ""):
        self.http = http
        self.base = base.rstrip("/")
        self.token = token
        # appsecret_proof = HMAC-SHA256(key=app secret, msg=access token), hex: required by apps that
        # enable "Require App Secret" and recommended for every server-side call (Graph API
        # "Securing Requests").
        self.proof = (
            hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest() if app_secret and token else ""
        )

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}/{path.lstrip('/')}"

    def follow_usage(self, response: requests.Response) -> float:
        """Pause the shared bucket when Meta says usage is (nearly) exhausted; returns the regain time."""
        regain, top = usage_wait(response.headers)
        pause = regain or (USAGE_PAUSE if top >= USAGE_PAUSE_AT else 0.0)
        if pause and self.http.rate:
            self.http.limiter.pause(self.http.bucket, min(pause, 3600.0))
        return regain

    def call(
        self, method: str, path: str, params: dict | None = None, *, account: str = "", endpoint: str = ""
    ) -> dict:
        url = self._url(path)
        endpoint = endpoint or _endpoint(url)
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": account}
        if not self.token:
            raise TokenExpired("no access token; re-authorize the account", **where)
        query = {**(params or {})}
        if "access_token=" not in url:  # paging.next URLs already carry it
            query["access_token"] = self.token
        if self.proof and "appsecret_proof=" not in url:
            query["appsecret_proof"] = self.proof
        response = self.http.request(method, url, endpoint=endpoint, account=account, params=query)
        regain = self.follow_usage(response)
        try:
            body = response.json()
        except ValueError:
            raise MalformedResponse("the body is not JSON", field="<body>", **where) from None
        raise_for_error(
            body, where, status=response.status_code, retry_after=regain or None
        )  # Graph can answer 200 with an error
        if not isinstance(body, dict):
            raise MalformedResponse(f"expected a JSON object, got {type(body).__name__}", field="<body>", **where)
        return body

    def pages(self, path: str, params: dict | None = None, *, account: str = "") -> Iterator[tuple[str, dict]]:
        """(path of the item, item) over cursor paging, following `paging.next`."""
        url, query = self._url(path), dict(params or {})
        endpoint = _endpoint(url)
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": account}
        while url:
            body = self.call("GET", url, query, account=account, endpoint=endpoint)
            items = field(body, "data", list, **where)
            for n, item in enumerate(items):
                if not isinstance(item, dict):
                    raise MalformedResponse(f"data.{n} should be an object", field=f"data.{n}", **where)
                yield f"data.{n}", item
            paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
            url = paging.get("next") if items else None
            if url is not None and not isinstance(url, str):
                raise MalformedResponse("paging.next should be a URL", field="paging.next", **where)
            query = {}  # `next` carries every parameter, the cursor included
            del body, items  # one page in memory


def _endpoint(url: str) -> str:
    """A stable endpoint name: the path without the version and ids (act_1/insights -> insights)."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if parts and parts[0].startswith("v") and parts[0][1:2].isdigit():
        parts = parts[1:]
    named = [p for p in parts if not p.replace("act_", "").isdigit()]
    return "/".join(named) or (parts[-1] if parts else "graph")
