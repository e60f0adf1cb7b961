"""Talking to the Kuaishou Marketing API (https://ad.e.kuaishou.com/rest/openapi): POST JSON
with an `Access-Token` header, answers `{"code": 0, "message": "OK", "data": {...}}` with HTTP
200, lists as `data.total_count` + `data.details`, paged by `page` / `page_size`.

Error codes. Kuaishou's return-code page was not available to us in a primary source; the
codes below are the ones open-source SDKs and integrations handle (all unconfirmed), and
the message text is checked as well, so a renumbered code still lands in the right class:

| code / message                                   | our error            |
|--------------------------------------------------|----------------------|
| 400005 / 410000, "频率" "频繁" "限流"             | RateLimited          |
| 401000-401002, 402002, "access_token" + 过期/无效 | TokenExpired         |
| 401003, "refresh_token", 403000, "授权" 取消/失效  | AuthorizationRevoked |
| >= 500000, "系统繁忙" "稍后重试"                   | TransientError       |
| anything else                                     | PermanentError       |
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.errors import (
    AuthorizationRevoked,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.http import HttpClient, field, redact
from connectors.primitives import envelope_data, numbered_pages

PLATFORM = "kuaishou"
RATE_LIMIT_CODES = frozenset({400005, 410000})
TOKEN_EXPIRED_CODES = frozenset({401000, 401001, 401002, 402002})
REVOKED_CODES = frozenset({401003, 403000})
DEFAULT_RETRY_AFTER = 1.0  # no hint is sent; limits are per second
LIST_PAGE_SIZE = 500  # list endpoints: up to 500 per page
REPORT_PAGE_SIZE = 2000  # report endpoints: "默认为20,最大支持2000"


def raise_for_code(body: Any, where: dict[str, str], http: HttpClient | None = None) -> None:
    code = field(body, "code", int, **where)
    if code == 0:
        return
    message = redact(str(body.get("message") or ""))
    text = f"code {code}: {message}"
    lowered = message.lower()
    if code in RATE_LIMIT_CODES or any(w in message for w in ("频率", "频繁", "限流")) or "too many" in lowered:
        if http is not None and http.rate:
            http.limiter.pause(http.bucket, DEFAULT_RETRY_AFTER)
        raise RateLimited(text, retry_after=DEFAULT_RETRY_AFTER, **where)
    if (
        code in REVOKED_CODES
        or "refresh_token" in lowered
        or ("授权" in message and any(w in message for w in ("取消", "失效", "解除")))
    ):
        raise AuthorizationRevoked(f"{text}; re-authorize the account", **where)
    if code in TOKEN_EXPIRED_CODES or ("access_token" in lowered and any(w in message for w in ("过期", "无效"))):
        raise TokenExpired(f"{text}; refresh the token and retry", **where)
    if code >= 500000 or any(w in message for w in ("系统繁忙", "稍后重试", "系统错误")):
        raise TransientError(text, **where)
    raise PermanentError(text, **where)


class KuaishouApi:
    def __init__(self, http: HttpClient, base: str):
        self.http = http
        self.base = base.rstrip("/")

    def post(self, path: str, body: dict, *, token: str = "", endpoint: str = "", account: str = "") -> dict:
        endpoint = endpoint or path
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": account}
        if path.startswith("v") and not token:
            raise TokenExpired("no access token; refresh the credential", **where)
        headers = {"Access-Token": token} if token else {}
        answer = self.http.post_json(
            f"{self.base}/{path}", endpoint=endpoint, account=account, json=body, headers=headers
        )
        return envelope_data(answer, where, raise_for_code, self.http)

    def pages(
        self, path: str, body: dict, *, token: str, account: str, page_size: int = LIST_PAGE_SIZE
    ) -> Iterator[tuple[str, dict]]:
        """(path, item) of `data.details` over page/page_size paging, one page in memory."""
        where = {"platform": PLATFORM, "endpoint": path, "account": account}

        def fetch(page: int) -> dict:
            return self.post(path, {**body, "page": page, "page_size": page_size}, token=token, account=account)

        return numbered_pages(fetch, list_key="details", page_size=page_size, where=where)
