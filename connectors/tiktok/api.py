"""Talking to TikTok API for Business (https://business-api.tiktok.com/open_api/v1.3).

Requests: the `Access-Token` header; GET parameters that are lists or objects are JSON-encoded
(`advertiser_ids=["1"]`, `dimensions=["ad_id","stat_time_day"]`). Answers: HTTP 200 with the
envelope `{"code": 0, "message": "OK", "request_id": "...", "data": {...}}`; `code != 0` is an
error. Lists: `data.list` + `data.page_info` {page, page_size, total_number, total_page}, paged
by `page` / `page_size` (at most 1000).

Return codes. TikTok's return-code page could not be read in a primary source here; the codes
below are the ones its SDKs and integrations handle (unconfirmed), so the message text is
checked too, and a renumbered code still lands in the right class:

| code / message                                          | our error            |
|---------------------------------------------------------|----------------------|
| 40100, 40016, 40133 / "too many requests", "frequency"  | RateLimited          |
| 40102 / "access token" + "expired"                      | TokenExpired         |
| 40001 / "no permission" on one advertiser's call        | AccountAccessLost (that advertiser only) |
| 40104, 40105, 40106, 40107 / "revoked", "not            | AuthorizationRevoked |
|   authorized", "access token is incorrect"; 40001 on    |                      |
|   a call for no advertiser (the grant's own calls)      |                      |
| >= 50000 / "system error", "internal", "try again"      | TransientError       |
| anything else (40002 parameter error, ...)              | PermanentError       |
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

PLATFORM = "tiktok"
RATE_LIMIT_CODES = frozenset({40100, 40016, 40133})
TOKEN_EXPIRED_CODES = frozenset({40102})
REVOKED_CODES = frozenset({40104, 40105, 40106, 40107})
# "No permission to operate advertiser X": this advertiser left the grant, the others still answer.
NO_PERMISSION_CODES = frozenset({40001})
DEFAULT_RETRY_AFTER = 5.0  # limits are per second and per minute; no hint is sent
PAGE_SIZE = 1000


def raise_for_code(body: Any, where: dict[str, str], http: HttpClient | None = None) -> None:
    code = field(body, "code", int, **where)
    if code == 0:
        return
    message = redact(str(body.get("message") or ""))
    text = f"code {code}: {message}"
    if body.get("request_id"):
        text += f" [request_id {body['request_id']}]"
    lowered = message.lower()
    if code in RATE_LIMIT_CODES or "too many requests" in lowered or "frequency" in lowered or "rate limit" in lowered:
        if http is not None and http.rate:
            http.limiter.pause(http.bucket, DEFAULT_RETRY_AFTER)
        raise RateLimited(text, retry_after=DEFAULT_RETRY_AFTER, **where)
    if code in TOKEN_EXPIRED_CODES or ("access token" in lowered and "expired" in lowered):
        raise TokenExpired(f"{text}; TikTok's long-term tokens are not refreshed: re-authorize if it persists", **where)
    no_permission = code in NO_PERMISSION_CODES or "no permission" in lowered
    if no_permission and where.get("account"):
        raise AccountAccessLost(
            f"{text}; the grant no longer reaches this advertiser: authorize it again, or remove it", **where
        )
    if code in REVOKED_CODES or no_permission or "revoked" in lowered or "not authorized" in lowered:
        raise AuthorizationRevoked(f"{text}; re-authorize the advertiser", **where)
    if code >= 50000 or "system error" in lowered or "internal" in lowered or "try again" in lowered:
        raise TransientError(text, **where)
    raise PermanentError(text, **where)


def encode(params: dict) -> dict:
    """Query parameters as TikTok wants them: lists and objects JSON-encoded."""
    return {
        k: json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict)) else v
        for k, v in params.items()
        if v is not None
    }


class TikTokApi:
    def __init__(self, http: HttpClient, base: str):
        self.http = http
        self.base = base.rstrip("/")

    def get(self, path: str, params: dict, *, token: str = "", account: str = "") -> dict:
        endpoint = path.strip("/")
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": account}
        if not token:
            raise TokenExpired("no access token; re-authorize the advertiser", **where)
        body = self.http.get_json(
            f"{self.base}/{endpoint}/",
            endpoint=endpoint,
            account=account,
            params=encode(params),
            headers={"Access-Token": token},
        )
        return envelope_data(body, where, raise_for_code, self.http)

    def pages(
        self, path: str, params: dict, *, token: str, account: str, page_size: int = PAGE_SIZE
    ) -> Iterator[tuple[str, dict]]:
        """(path, item) of `data.list` over page/page_size paging, one page in memory."""
        where = {"platform": PLATFORM, "endpoint": path.strip("/"), "account": account}

        def fetch(page: int) -> dict:
            return self.get(path, {**params, "page": page, "page_size": page_size}, token=token, account=account)

        return numbered_pages(fetch, list_key="list", page_size=page_size, where=where)
