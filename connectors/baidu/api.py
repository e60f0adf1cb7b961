"""Talking to the Baidu Marketing API (百度营销 API, https://api.baidu.com/json/sms/service/):
every call is `POST {base}/{Service}/{method}` with JSON
`{"header": {"username", "password", "token", "target"?}, "body": {...}}`, and every answer is
HTTP 200 with `{"header": {"desc", "status", "failures": [{"code", "message", "position"}],
"quota", "rquota"}, "body": {"data": [...]}}`.

header.status: 0 success, 1 partial failure, 2 failure, 3 system error. We read, never write,
so a partial failure is a failure. Failure codes (from Baidu's error-code tables as quoted by
SDKs; exact numbers unconfirmed, the message text is checked too):

| failure                                              | our error                     |
|------------------------------------------------------|-------------------------------|
| status 3, 8xxx "系统" / 9xxx system errors            | TransientError                |
| quota exhausted ("配额"/"quota", 8501-8503)            | RateLimited until Beijing midnight |
| too frequent ("频繁", 8101)                           | RateLimited (1 s)             |
| wrong user name / password ("密码", 8206, 8207, 8208)  | AuthorizationRevoked (signing in: AuthorizationFailed) |
| OAuth2 access token expired/invalid ("accessToken" 过期/失效/无效, unconfirmed) | TokenExpired (refresh) |
| developer token invalid ("token", 8401, 8402)         | PermanentError (fix the app's developer token) |
| account not reachable (target not managed, 8901)       | AccountAccessLost (that account only) |
| anything else                                          | PermanentError                |
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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

PLATFORM = "baidu"
BEIJING = ZoneInfo("Asia/Shanghai")
QUOTA_CODES = frozenset({8501, 8502, 8503})
FREQUENCY_CODES = frozenset({8101})
PASSWORD_CODES = frozenset({8206, 8207, 8208})
DEVELOPER_TOKEN_CODES = frozenset({8401, 8402})
UNREACHABLE_CODES = frozenset({8901})


def seconds_to_quota_reset(now: datetime | None = None) -> float:
    """The daily API quota resets at midnight Beijing time."""
    now = (now or datetime.now(BEIJING)).astimezone(BEIJING)
    midnight = datetime(now.year, now.month, now.day, tzinfo=BEIJING) + timedelta(days=1)
    return max(1.0, (midnight - now).total_seconds())


def raise_for_header(answer: Any, where: dict[str, str], http: HttpClient | None = None) -> None:
    status = field(answer, "header.status", int, **where)
    if status == 0:
        return
    failures = field(answer, "header.failures", list, default=[], **where) or field(
        answer, "header.errors", list, default=[], **where
    )
    first = failures[0] if failures and isinstance(failures[0], dict) else {}
    code = first.get("code")
    message = redact(str(first.get("message") or answer["header"].get("desc") or ""))
    text = (
        f"header.status {status}"
        + (f", failure {code}" if code is not None else "")
        + (f": {message}" if message else "")
    )
    lowered = message.lower()
    if code in QUOTA_CODES or "配额" in message or "quota" in lowered:
        wait = seconds_to_quota_reset()
        raise RateLimited(f"{text} (daily quota; it resets at midnight Beijing time)", retry_after=wait, **where)
    if code in FREQUENCY_CODES or "频繁" in message:
        if http is not None and http.rate:
            http.limiter.pause(http.bucket, 1.0)
        raise RateLimited(text, retry_after=1.0, **where)
    if code in PASSWORD_CODES or "密码" in message or "password" in lowered:
        raise AuthorizationRevoked(f"{text}; enter the account's user name and password again", **where)
    if "accesstoken" in lowered.replace("_", "").replace(" ", "") and (
        any(w in message for w in ("过期", "失效", "无效")) or "expire" in lowered or "invalid" in lowered
    ):
        raise TokenExpired(f"{text}; refresh the OAuth2 token and retry", **where)
    if code in DEVELOPER_TOKEN_CODES or ("token" in lowered and "access" not in lowered):
        raise PermanentError(f"{text}; check the developer token of the Baidu platform app", **where)
    if code in UNREACHABLE_CODES or "target" in lowered or "管辖" in message:
        raise AccountAccessLost(f"{text}; the sign-in no longer reaches this account", **where)
    if status == 3 or "系统" in message or (isinstance(code, int) and code >= 9000):
        raise TransientError(text, **where)
    raise PermanentError(text, **where)


class BaiduApi:
    def __init__(self, http: HttpClient, base: str):
        self.http = http
        self.base = base.rstrip("/")

    def call(
        self, service: str, method: str, body: dict, *, header: dict, account: str = "", base: str | None = None
    ) -> list:
        """`body.data` of one service method (a list)."""
        endpoint = f"{service}/{method}"
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": account}
        answer = self.http.post_json(
            f"{(base or self.base).rstrip('/')}/{endpoint}",
            endpoint=endpoint,
            account=account,
            json={"header": header, "body": body},
        )
        if not isinstance(answer, dict):
            raise MalformedResponse(f"expected a JSON object, got {type(answer).__name__}", field="<body>", **where)
        raise_for_header(answer, where, self.http)
        data = field(answer, "body.data", (list, dict), **where)
        return data if isinstance(data, list) else [data]
