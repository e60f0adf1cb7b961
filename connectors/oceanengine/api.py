"""Talking to the Ocean Engine Marketing API: the `{"code", "message", "data", "request_id"}`
envelope, its error codes, and page-number paging.

Every answer comes with HTTP 200; `code != 0` is the error. The codes below come from the
platform's error-code page as quoted by open-source SDKs and connectors; the ones marked
(unconfirmed) we could not find in a primary source and map by their documented meaning:

| code          | meaning                                   | our error            |
|---------------|-------------------------------------------|----------------------|
| 40100         | request too frequent (QPS limit)          | RateLimited          |
| 40102         | access_token expired                      | TokenExpired         |
| 40104         | access_token empty (unconfirmed)          | TokenExpired         |
| 40105         | access_token invalid / superseded          | TokenExpired         |
| 40103, 40107  | refresh_token expired / invalid           | AuthorizationRevoked |
| 40002         | no permission on this advertiser (taken   | AccountAccessLost    |
|               | out of the grant); on a call for no one   | (AuthorizationRevoked|
|               | advertiser, the grant itself              |  without an account) |
| 40001, 4xxxx  | parameter or business errors              | PermanentError       |
| 5xxxx         | system error / busy                       | TransientError       |
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from connectors.errors import (
    AccountAccessLost,
    AuthorizationRevoked,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.http import HttpClient, field, redact
from connectors.primitives import envelope_data, numbered_pages

PLATFORM = "oceanengine"
RATE_LIMIT_CODES = frozenset({40100})
TOKEN_EXPIRED_CODES = frozenset({40102, 40104, 40105})
REVOKED_CODES = frozenset({40103, 40107})
NO_PERMISSION = 40002  # on one advertiser: that advertiser left the grant, the others still answer
# The platform sends no retry hint with 40100; its QPS windows are one second, so wait one.
DEFAULT_RETRY_AFTER = 1.0
PAGE_SIZE = 100  # the list endpoints accept up to 100 (1.0: 1000) per page; 100 fits all of them


def raise_for_code(body: Any, where: dict[str, str], http: HttpClient | None = None) -> None:
    """Raise the taxonomy's error for an envelope whose `code` is not 0."""
    code = field(body, "code", int, **where)
    if code == 0:
        return
    message = redact(str(body.get("message") or "")) if isinstance(body, dict) else ""
    request_id = body.get("request_id", "") if isinstance(body, dict) else ""
    text = f"code {code}: {message}" + (f" (request_id {request_id})" if request_id else "")
    if code in RATE_LIMIT_CODES or "频繁" in message:
        if http is not None and http.rate:
            http.limiter.pause(http.bucket, DEFAULT_RETRY_AFTER)
        raise RateLimited(text, retry_after=DEFAULT_RETRY_AFTER, **where)
    if code in TOKEN_EXPIRED_CODES:
        raise TokenExpired(f"{text}; refresh the token and retry", **where)
    if code == NO_PERMISSION and where.get("account"):
        raise AccountAccessLost(
            f"{text}; this advertiser is no longer reachable with this grant: re-authorize it from an account "
            "that manages it (the grant's other advertisers keep fetching)",
            **where,
        )
    if code in REVOKED_CODES or code == NO_PERMISSION:
        raise AuthorizationRevoked(f"{text}; re-authorize the account", **where)
    if code >= 50000:
        raise TransientError(text, **where)
    raise PermanentError(text, **where)


class OceanEngineApi:
    """GET/POST against `base` (".../open_api") with the Access-Token header."""

    def __init__(self, http: HttpClient, base: str):
        self.http = http
        self.base = base.rstrip("/")

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str = "",
        endpoint: str,
        account: str = "",
        params: dict | None = None,
        json_body: dict | None = None,
        kind: type | tuple[type, ...] = dict,
    ) -> Any:
        """The envelope's `data` (of `kind`: an object but for a few endpoints), after checking `code`."""
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": account}
        if token == "" and path.startswith(("2/", "v3.0/")):
            raise TokenExpired("no access token; refresh the credential", **where)
        headers = {"Access-Token": token} if token else {}
        encoded = {
            k: (json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict)) else v)
            for k, v in (params or {}).items()
            if v is not None
        }
        url = f"{self.base}/{path}"
        if method == "GET":
            body = self.http.get_json(url, endpoint=endpoint, account=account, params=encoded, headers=headers)
        else:
            body = self.http.post_json(url, endpoint=endpoint, account=account, json=json_body, headers=headers)
        return envelope_data(body, where, raise_for_code, self.http, kind=kind)

    def pages(
        self,
        path: str,
        *,
        token: str,
        endpoint: str,
        account: str,
        params: dict,
        list_key: str = "list",
        page_size: int = PAGE_SIZE,
        kinds: tuple[type, ...] = (dict,),
    ) -> Iterator[tuple[str, dict]]:
        """(path of the item, item) over page/page_size paging; one page in memory."""
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": account}

        def fetch(page: int) -> dict:
            params_page = {**params, "page": page, "page_size": page_size}
            return self.call("GET", path, token=token, endpoint=endpoint, account=account, params=params_page)

        # Some list endpoints leave page_info out when everything fits on one page.
        return numbered_pages(
            fetch, list_key=list_key, page_size=page_size, where=where, kinds=kinds, total_required=False
        )
