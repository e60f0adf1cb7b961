"""The HTTP layer every connector talks through.

`HttpClient` wraps one `requests.Session` per connector with timeouts, a per-platform
rate limiter, and the mapping of HTTP outcomes onto `connectors.errors`:

| outcome                                   | error                                   |
|-------------------------------------------|-----------------------------------------|
| 429 (Retry-After seconds or HTTP date)    | RateLimited(retry_after)                |
| 401                                       | TokenExpired (refresh, then retry)      |
| 403                                       | AuthorizationRevoked                    |
| 408, 425, 5xx, timeouts, connection errors| TransientError                          |
| any other 4xx                             | PermanentError                          |
| a body that is not the JSON we expect     | MalformedResponse naming the field      |

Platforms whose errors hide in a 200 body (Ocean Engine's `code`, Baidu's `header.status`)
check the decoded body themselves and raise from the same taxonomy.

Secrets stay out of messages and logs: URLs are logged and quoted by path only, never
with their query string, and response bodies are quoted only after `redact()`.

Idempotent requests (GET, HEAD) are retried a few times inside the HTTP layer, by urllib3's
`Retry` on the session's adapter, for connection errors, 429, 500, 502, 503 and 504: one
503 on page 99 of 100 costs one more request, not the task's 98 pages again. Each retry
takes a slot of the shared limiter like any request, and a Retry-After pauses the shared
bucket first (so the retry waits for it, and so do the other workers); a Retry-After
longer than `RETRY_AFTER_INLINE_MAX` is not waited out here but raised as RateLimited,
so the scheduler gives the worker slot back. POSTs are never retried here (creating an
async report job twice is not harmless); their platforms' connectors decide.

Rate limits are shared by every worker of a deployment: `limiter_for()` returns a Redis
token bucket when Redis is configured (REDIS_URL, or a redis:// CELERY_BROKER_URL) and an
in-process bucket otherwise. The budget comes from `PlatformSpec.rate_limit_requests` per
`rate_limit_period`; a 429's Retry-After pauses the whole bucket, so the other workers back
off too instead of each discovering the limit on its own; so does a response saying no
requests remain (X-RateLimit-Remaining: 0 with its reset).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from connectors.errors import (
    AuthorizationRevoked,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds
# Never wait longer than this for a bucket before giving the decision back to the scheduler.
MAX_LIMITER_WAIT = 60.0
USER_AGENT = "adplatform-connector/0.1"
# Retries of one idempotent request inside the HTTP layer (after the first try).
HTTP_RETRIES = 3
# Backoff between retries without a Retry-After: 0 s, then factor * 2**n (at most BACKOFF_MAX).
RETRY_BACKOFF_FACTOR = 0.5
RETRY_BACKOFF_MAX = 10.0
# A Retry-After up to this many seconds is waited out inside the request; a longer one is
# raised as RateLimited (the scheduler retries the task later, the worker slot is free meanwhile).
RETRY_AFTER_INLINE_MAX = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# A secret's name, then its value. The name must start a word (`auth_code`, `"code"`, `code=`),
# so `error_subcode` is not a secret; see redact() for what a value may be.
_SECRET_RE = re.compile(
    r"(?i)((?<![A-Za-z0-9])\"?(?:access_token|refresh_token|client_secret|password|code_verifier|auth_code"
    r"|token|secret|code)\"?\s*[:=]\s*)(\"?)([^\"&,\s}]+)"
)


def _blank_secret(match: re.Match) -> str:
    name, quote, value = match.group(1), match.group(2), match.group(3)
    # A platform's error code is a number ("code": 40105, "error_code": 190, "code": "40002"):
    # it is what the user and the lead need to look the error up, and no secret is a bare number
    # of a few digits. Authorization codes are long opaque strings.
    if name.strip(' "=:').lower() == "code" and value.isdigit() and len(value) <= 10:
        return match.group(0)
    return f"{name}{quote}***"


def redact(text: str) -> str:
    """Blank out anything that looks like a token, secret or password in `text`, keeping
    numeric error codes (`"code": 40105`) so a message still says which error it was."""
    return _SECRET_RE.sub(_blank_secret, text)


def url_path(url: str) -> str:
    """The URL without query string or credentials: safe to log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --- rate limiting -----------------------------------------------------------------------


class RateLimiter(Protocol):
    def acquire(self, key: str, *, rate: float, burst: float, max_wait: float = MAX_LIMITER_WAIT) -> float:
        """Take one token from bucket `key` (refilled at `rate` per second, at most `burst`),
        sleeping as needed; returns the seconds waited. Raises RateLimited when the wait
        would exceed `max_wait`, so a task gives its slot back instead of sleeping on it."""

    def pause(self, key: str, seconds: float) -> None:
        """Nobody takes from bucket `key` for `seconds` (a platform's Retry-After)."""


class LocalRateLimiter:
    """Token buckets in this process (embedded mode: all workers are threads here)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, updated_at, paused_until]

    def _reserve(self, key: str, rate: float, burst: float) -> float:
        """Take a token now (it may go negative: a reservation) and return the wait."""
        with self._lock:
            now = self._clock()
            tokens, updated, paused = self._buckets.get(key, [burst, now, 0.0])
            tokens = min(burst, tokens + (now - updated) * rate)
            start = max(now, paused)
            # tokens available at `start`
            tokens_at_start = min(burst, tokens + (start - now) * rate) if start > now else tokens
            wait = (start - now) + (0.0 if tokens_at_start >= 1 else (1 - tokens_at_start) / rate)
            self._buckets[key] = [tokens - 1, now, paused]
            return wait

    def acquire(self, key: str, *, rate: float, burst: float, max_wait: float = MAX_LIMITER_WAIT) -> float:
        wait = self._reserve(key, rate, burst)
        if wait > max_wait:
            with self._lock:  # give the reservation back
                self._buckets[key][0] += 1
            raise RateLimited(
                f"local rate limit: next request slot in {wait:.1f}s", retry_after=wait, platform=key.split(":")[0]
            )
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, key: str, seconds: float) -> None:
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(key, [0.0, now, 0.0])
            bucket[2] = max(bucket[2], now + seconds)


# Atomic token bucket in Redis: tokens refill at rate/s up to burst; a reservation may take
# the bucket negative, and the caller sleeps for the returned wait. Redis TIME is the clock,
# so workers on different machines agree on it. Returns the wait in seconds as a string.
_REDIS_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'paused')
local tokens = tonumber(v[1]) or burst
local ts = tonumber(v[2]) or now
local paused = tonumber(v[3]) or 0
tokens = math.min(burst, tokens + (now - ts) * rate)
local start = math.max(now, paused)
local avail = tokens
if start > now then avail = math.min(burst, tokens + (start - now) * rate) end
local wait = start - now
if avail < 1 then wait = wait + (1 - avail) / rate end
if wait <= max_wait then
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now, 'paused', paused)
redis.call('EXPIRE', KEYS[1], math.ceil(math.max(burst / rate, paused - now, 1) + 60))
return tostring(wait)
"""

_REDIS_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused')) or 0
if until_ > paused then redis.call('HSET', KEYS[1], 'paused', until_) end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 60)
return 1
"""


class RedisRateLimiter:
    """Token buckets in Redis, shared by every worker process of the deployment."""

    prefix = "adplatform:ratelimit:"

    def __init__(self, client, sleep: Callable[[float], None] = time.sleep):
        self._client = client
        self._sleep = sleep
        self._bucket = client.register_script(_REDIS_BUCKET)
        self._pause = client.register_script(_REDIS_PAUSE)

    def acquire(self, key: str, *, rate: float, burst: float, max_wait: float = MAX_LIMITER_WAIT) -> float:
        wait = float(self._bucket(keys=[self.prefix + key], args=[rate, burst, max_wait]))
        if wait > max_wait:
            raise RateLimited(
                f"shared rate limit: next request slot in {wait:.1f}s", retry_after=wait, platform=key.split(":")[0]
            )
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, key: str, seconds: float) -> None:
        self._pause(keys=[self.prefix + key], args=[seconds])


_default_limiter: RateLimiter | None = None
_default_lock = threading.Lock()


def _redis_url() -> str:
    try:
        from django.conf import settings

        if settings.configured:
            url = getattr(settings, "REDIS_URL", "") or ""
            broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
            return url or (broker if broker.startswith("redis") else "")
    except ImportError:  # connectors used outside Django
        pass
    url = os.environ.get("REDIS_URL", "")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    return url or (broker if broker.startswith("redis") else "")


def default_limiter() -> RateLimiter:
    """The deployment's limiter: Redis when configured, in-process otherwise (built once)."""
    global _default_limiter
    with _default_lock:
        if _default_limiter is None:
            url = _redis_url()
            if url.startswith(("redis://", "rediss://", "unix://")):
                import redis

                _default_limiter = RedisRateLimiter(
                    redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
                )
            else:
                _default_limiter = LocalRateLimiter()
        return _default_limiter


def set_default_limiter(limiter: RateLimiter | None) -> None:
    """Replace (or with None, forget) the process-wide limiter; for tests and benchmarks."""
    global _default_limiter
    with _default_lock:
        _default_limiter = limiter


# --- retries inside one request ------------------------------------------------------------


class LimitedRetry(Retry):
    """urllib3's Retry whose waits go through our shared limiter.

    Before a retry it pauses the shared bucket for the answer's Retry-After (every worker
    of the deployment then waits, not only this one) and takes a slot like any request, so
    retries never exceed the platform's budget. A Retry-After beyond `inline_max` ends the
    retries (the answer goes to `HttpClient.check`, which raises RateLimited).
    """

    client: HttpClient | None = None
    inline_max: float = RETRY_AFTER_INLINE_MAX

    def new(self, **kw: Any) -> LimitedRetry:
        retry = super().new(**kw)
        retry.client, retry.inline_max = self.client, self.inline_max
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after is not None and retry_after > self.inline_max:
                raise MaxRetryError(_pool, url, None)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        platform = self.client.platform if self.client else "?"
        cause = f"HTTP {response.status}" if response is not None else type(error).__name__ if error else "?"
        # urllib3 passes the path with its query string: log the path only.
        logger.info("%s %s %s: %s, retry %d", platform, method, urlsplit(url or "").path, cause, len(retry.history))
        return retry

    def sleep(self, response=None) -> None:
        client = self.client
        if client is None or not client.rate:
            return super().sleep(response)
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after:
            client.limiter.pause(client.bucket, retry_after)
        else:
            backoff = self.get_backoff_time()
            if backoff > 0:
                time.sleep(backoff)
        client.throttle()
        return None


# --- the client ----------------------------------------------------------------------------


class HttpClient:
    """One connector's HTTP: a Session, timeouts, the shared limiter and error mapping.

    `bucket` names the rate-limit bucket (the platform slug plus a hash of the app's
    client id: platforms budget per app). `rate`/`burst` are requests per second and the
    bucket size; `rate=None` disables limiting.
    """

    def __init__(
        self,
        platform: str,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        limiter: RateLimiter | None = None,
        rate: float | None = None,
        burst: float | None = None,
        bucket: str | None = None,
        max_limiter_wait: float = MAX_LIMITER_WAIT,
        on_error: Callable[[requests.Response, dict[str, str]], None] | None = None,
        retries: int = HTTP_RETRIES,
        backoff_factor: float = RETRY_BACKOFF_FACTOR,
        retry_after_inline_max: float = RETRY_AFTER_INLINE_MAX,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
    ):
        self.platform = platform
        # Called with every error response (status >= 400) and the error's location
        # (platform, endpoint, account) before the generic mapping; a platform raises a
        # more precise error from its body (e.g. "token revoked" behind a 401) or returns.
        self.on_error = on_error
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.timeout = timeout
        self._limiter = limiter
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate or 1.0)
        self.bucket = bucket or platform
        self.max_limiter_wait = max_limiter_wait
        self.configure_retries(
            retries, backoff_factor=backoff_factor, statuses=retry_statuses, inline_max=retry_after_inline_max
        )

    def configure_retries(
        self,
        retries: int,
        *,
        backoff_factor: float = RETRY_BACKOFF_FACTOR,
        statuses: frozenset[int] = RETRY_STATUSES,
        inline_max: float = RETRY_AFTER_INLINE_MAX,
    ) -> None:
        """Retry idempotent requests up to `retries` times for connection errors, timeouts and
        the HTTP `statuses` (0: every answer goes straight to check())."""
        self.retries = retries
        retry = LimitedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=False,
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=statuses,
            backoff_factor=backoff_factor,
            backoff_max=RETRY_BACKOFF_MAX,
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer goes to check(), which maps it
            raise_on_redirect=False,
        )
        retry.client, retry.inline_max = self, inline_max
        adapter = HTTPAdapter(max_retries=retry) if retries else HTTPAdapter()  # requests' default: no retries
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    @classmethod
    def for_spec(
        cls,
        spec,
        *,
        app_key: str = "",
        session=None,
        limiter=None,
        rate_limit: tuple[int, float] | None = None,
        **kwargs,
    ) -> HttpClient:
        """A client budgeted as `spec` documents (or `rate_limit` = (requests, period))."""
        requests_, period = rate_limit or (spec.rate_limit_requests, spec.rate_limit_period)
        rate = requests_ / period if requests_ and period else None
        bucket = spec.slug + (":" + hashlib.sha256(app_key.encode()).hexdigest()[:12] if app_key else "")
        return cls(
            spec.slug, session=session, limiter=limiter, rate=rate, burst=float(requests_ or 1), bucket=bucket, **kwargs
        )

    @property
    def limiter(self) -> RateLimiter:
        return self._limiter or default_limiter()

    def throttle(self) -> None:
        """Wait for a slot in this platform's bucket (or raise RateLimited if far off)."""
        if self.rate:
            self.limiter.acquire(self.bucket, rate=self.rate, burst=self.burst, max_wait=self.max_limiter_wait)

    def request(self, method: str, url: str, *, endpoint: str = "", account: str = "", **kwargs) -> requests.Response:
        """Send one request; returns a 2xx/3xx response or raises from connectors.errors."""
        endpoint = endpoint or urlsplit(url).path
        self.throttle()
        kwargs.setdefault("timeout", self.timeout)
        started = time.monotonic()
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise TransientError(
                f"timed out after {time.monotonic() - started:.1f}s ({type(exc).__name__})",
                platform=self.platform,
                endpoint=endpoint,
                account=account,
            ) from None
        except requests.ConnectionError as exc:
            reason = exc.args[0].reason if exc.args and isinstance(exc.args[0], MaxRetryError) else None
            # timeouts that were retried (urllib3's NewConnectionError subclasses ConnectTimeoutError: a refusal)
            if isinstance(reason, (ReadTimeoutError, ConnectTimeoutError)) and not isinstance(
                reason, NewConnectionError
            ):
                raise TransientError(
                    f"timed out after {time.monotonic() - started:.1f}s ({type(reason).__name__}, "
                    f"{self.retries} retries)",
                    platform=self.platform,
                    endpoint=endpoint,
                    account=account,
                ) from None
            raise TransientError(
                f"connection failed ({type(exc).__name__}: {redact(str(exc))[:200]})",
                platform=self.platform,
                endpoint=endpoint,
                account=account,
            ) from None
        except requests.RequestException as exc:
            raise TransientError(
                f"request failed ({type(exc).__name__})", platform=self.platform, endpoint=endpoint, account=account
            ) from None
        logger.debug(
            "%s %s %s -> %s in %.3fs",
            self.platform,
            method,
            url_path(url),
            response.status_code,
            time.monotonic() - started,
        )
        self.check(response, endpoint=endpoint, account=account)
        self.follow_hints(response)
        return response

    def follow_hints(self, response: requests.Response) -> None:
        """A platform that says no requests remain (X-RateLimit-Remaining: 0, or the IETF
        draft's RateLimit-Remaining) gets none until its reset: the shared bucket pauses, so
        every worker waits instead of collecting 429s. Reset is seconds, or an epoch time."""
        if not self.rate:
            return
        headers = response.headers
        remaining = headers.get("X-RateLimit-Remaining") or headers.get("RateLimit-Remaining")
        if remaining is None or remaining.strip() != "0":
            return
        reset = parse_retry_after(headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset"))
        if reset is not None and reset > 1e9:  # an epoch timestamp, not a delay
            reset = max(0.0, reset - time.time())
        if reset:
            self.limiter.pause(self.bucket, min(reset, 3600.0))

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def get_json(self, url: str, *, endpoint: str = "", account: str = "", **kwargs) -> Any:
        response = self.request("GET", url, endpoint=endpoint, account=account, **kwargs)
        return decode_json(response, platform=self.platform, endpoint=endpoint or urlsplit(url).path, account=account)

    def post_json(self, url: str, *, endpoint: str = "", account: str = "", **kwargs) -> Any:
        response = self.request("POST", url, endpoint=endpoint, account=account, **kwargs)
        return decode_json(response, platform=self.platform, endpoint=endpoint or urlsplit(url).path, account=account)

    def check(self, response: requests.Response, *, endpoint: str, account: str = "") -> None:
        """Raise the taxonomy's error for a non-success status. A 429 also pauses the
        shared bucket for Retry-After, so every worker slows down, not just this one."""
        status = response.status_code
        if status < 400:
            return
        where = {"platform": self.platform, "endpoint": endpoint, "account": account}
        if self.on_error is not None:
            self.on_error(response, where)
        detail = error_detail(response)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after and self.rate:
                self.limiter.pause(self.bucket, retry_after)
            hint = f"; retry after {retry_after:g}s" if retry_after is not None else ""
            raise RateLimited(f"HTTP 429 rate limited{hint}{detail}", retry_after=retry_after, **where)
        if status == 401:
            raise TokenExpired(f"HTTP 401: the access token was rejected; refresh it and retry{detail}", **where)
        if status == 403:
            raise AuthorizationRevoked(
                f"HTTP 403: the grant no longer allows this; re-authorize the account{detail}", **where
            )
        if status in (408, 425) or status >= 500:
            raise TransientError(f"HTTP {status}{detail}", **where)
        raise PermanentError(f"HTTP {status}{detail}", **where)


def error_detail(response: requests.Response, limit: int = 300) -> str:
    """A short, redacted quote of an error body for messages (': ...' or '')."""
    try:
        body = response.text
    except Exception:  # undecodable body: say nothing rather than fail while failing
        return ""
    body = " ".join(redact(body).split())[:limit]
    return f": {body}" if body else ""


def decode_json(response: requests.Response, *, platform: str, endpoint: str, account: str = "") -> Any:
    """The body as JSON, or MalformedResponse saying why (never quoting secrets)."""
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError) as exc:
        ctype = response.headers.get("Content-Type", "?")
        raise MalformedResponse(
            f"the body is not JSON (Content-Type {ctype}, {len(response.content)} bytes: {exc.__class__.__name__})",
            field="<body>",
            platform=platform,
            endpoint=endpoint,
            account=account,
        ) from None


_MISSING = object()
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "an object",
    bool: "a boolean",
}


def field(
    data: Any,
    path: str,
    kind: type | tuple[type, ...] | None = None,
    *,
    platform: str,
    endpoint: str,
    account: str = "",
    default: Any = _MISSING,
    at: str = "",
) -> Any:
    """`data[a][b][0]...` for the dotted `path` ("data.page_info.total", "list.0.id"),
    checked against `kind`; MalformedResponse naming the full path when it is missing or
    of the wrong type. With `default`, a missing (or null) value returns the default.
    `at` is where `data` sits in the response ("data.rows.3"), so messages name the field
    by its full path even when a connector checks one row at a time."""
    prefix = f"{at}." if at else ""
    return _field(
        data, path, kind, platform=platform, endpoint=endpoint, account=account, default=default, prefix=prefix
    )


def _field(data, path, kind, *, platform, endpoint, account, default, prefix):
    current = data
    walked: list[str] = [prefix.rstrip(".")] if prefix else []
    path = prefix + path
    for part in path[len(prefix) :].split("."):
        walked.append(part)
        try:
            if isinstance(current, list):
                current = current[int(part)]
            elif isinstance(current, Mapping):
                current = current[part]
            else:
                raise MalformedResponse(
                    f"expected an object at {'.'.join(walked[:-1]) or '<root>'}, got {type(current).__name__}",
                    field=path,
                    platform=platform,
                    endpoint=endpoint,
                    account=account,
                )
        except (KeyError, IndexError, ValueError):
            if default is not _MISSING:
                return default
            raise MalformedResponse(
                f"{'.'.join(walked)} is missing", field=path, platform=platform, endpoint=endpoint, account=account
            ) from None
    if current is None and default is not _MISSING:
        return default
    if kind is not None:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; a platform sending true for a count is malformed.
        ok = isinstance(current, kinds) and not (isinstance(current, bool) and bool not in kinds)
        if float in kinds and isinstance(current, int) and not isinstance(current, bool):
            ok = True
        if not ok:
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise MalformedResponse(
                f"{path} should be {wanted}, got {type(current).__name__} {redact(repr(current))[:60]}",
                field=path,
                platform=platform,
                endpoint=endpoint,
                account=account,
            )
    return current
