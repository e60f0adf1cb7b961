"""The sandbox server's runtime state: grant bookkeeping, faults, its clock, counters,
advertisers added to grants after the fact.

Tokens and codes are signed, self-contained strings, so the only state a grant needs is
"this code / this refresh token generation was used" and "this grant was revoked". That
lives in Redis when the deployment has one (several web processes agree), in memory
otherwise. Faults, the clock, counters and added advertisers are per process: they are
for tests and benchmarks, which drive the server they started (`sandbox.configure(...)`,
`inject(...)`, `add_accounts(...)`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

FAULTS = ("429", "500", "503", "malformed", "slow", "expired", "revoked")


class MemoryStore:
    """Keys with expiry in this process."""

    def __init__(self):
        self._keys: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, key: str, ttl: float) -> bool:
        """Set `key` unless it exists; True if this call set it (the single-use check)."""
        now = time.monotonic()
        with self._lock:
            if self._keys.get(key, 0) > now:
                return False
            self._keys[key] = now + ttl
            if len(self._keys) > 100_000:  # drop expired keys now and then
                self._keys = {k: v for k, v in self._keys.items() if v > now}
            return True

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._keys.get(key, 0) > time.monotonic()


class RedisStore:
    prefix = "adplatform:sandbox:"

    def __init__(self, client):
        self._client = client

    def add(self, key: str, ttl: float) -> bool:
        return bool(self._client.set(self.prefix + key, 1, nx=True, ex=max(1, int(ttl))))

    def exists(self, key: str) -> bool:
        return bool(self._client.exists(self.prefix + key))


@dataclass
class Settings:
    access_lifetime: timedelta = timedelta(hours=24)
    refresh_lifetime: timedelta = timedelta(days=30)
    code_lifetime: timedelta = timedelta(minutes=10)
    restate_days: int = 3
    # the server's own limit per client: requests per period (429 + Retry-After beyond it)
    rate_limit_requests: int = 200
    rate_limit_period: float = 1.0
    # share of API requests answered 503, deterministically spread (every 1/rate-th request)
    error_rate: float = 0.0
    latency: float = 0.0  # seconds added to every API request
    slow_seconds: float = 3.0  # how long an injected "slow" fault sleeps
    retry_after: int = 2  # seconds in an injected 429's Retry-After
    max_page_size: int = 1000
    # The last `deleted_ads` delivering ads of every advertiser were deleted at local
    # midnight `deleted_days_ago` days before today: they spent until then. Their spend is
    # in the advertiser, campaign and ad group totals always, in ad and creative reports
    # only when the request asks for deleted objects (include_deleted=true), as real
    # platforms filter deleted objects out of object-level reports by default.
    deleted_ads: int = 0
    deleted_days_ago: int = 1
    # fixed "now" for tests (None = the real clock)
    now: datetime | None = None


@dataclass
class Injection:
    fault: str
    path: str = ""  # only requests whose path contains this
    remaining: int = 1


class Sandbox:
    def __init__(self):
        self._lock = threading.Lock()
        self.settings = Settings()
        self.injections: deque[Injection] = deque()
        self.stats: Counter[str] = Counter()
        self._buckets: dict[str, list[float]] = {}
        self._added_accounts: dict[str, int] = {}
        self._removed_accounts: dict[str, set[str]] = {}
        self._store = None

    # --- configuration (tests, benchmarks) ---
    def configure(self, **changes) -> Settings:
        """Change settings (e.g. access_lifetime=timedelta(seconds=1), error_rate=0.1)."""
        unknown = set(changes) - set(Settings.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown sandbox settings: {', '.join(sorted(unknown))}")
        with self._lock:
            self.settings = replace(self.settings, **changes)
            return self.settings

    def inject(self, fault: str, *, times: int = 1, path: str = "") -> None:
        """The next `times` API requests (whose path contains `path`) fail with `fault`."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self._lock:
            self.injections.append(Injection(fault, path, times))

    def add_accounts(self, grant: str, count: int = 1) -> int:
        """The user gives an existing grant `count` more advertisers (as an advertiser who
        adds an ad account to an app's authorization does on a real platform): the grant's
        tokens reach them from now on, without a new authorization. Returns how many the
        grant has gained in all."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count!r}")
        with self._lock:
            self._added_accounts[grant] = self._added_accounts.get(grant, 0) + count
            return self._added_accounts[grant]

    def added_accounts(self, grant: str) -> int:
        with self._lock:
            return self._added_accounts.get(grant, 0)

    def remove_account(self, grant: str, advertiser_id: str) -> None:
        """The user takes one advertiser out of an existing grant (a Business Center admin
        unticking it, a manager losing a client): the grant's tokens keep working for its
        other advertisers, and this one answers 403 no_permission from now on."""
        with self._lock:
            self._removed_accounts.setdefault(grant, set()).add(str(advertiser_id))

    def removed_accounts(self, grant: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._removed_accounts.get(grant, ()))

    def reset(self) -> None:
        with self._lock:
            self.settings = Settings()
            self.injections.clear()
            self.stats.clear()
            self._buckets.clear()
            self._added_accounts.clear()
            self._removed_accounts.clear()

    # --- used by the views ---
    @property
    def store(self):
        if self._store is None:
            self._store = _default_store()
        return self._store

    @store.setter
    def store(self, value) -> None:
        self._store = value

    def now(self) -> datetime:
        return self.settings.now or datetime.now(UTC)

    def count(self, event: str) -> None:
        with self._lock:
            self.stats[event] += 1

    def take_fault(self, path: str) -> str | None:
        with self._lock:
            for injection in self.injections:
                if injection.path in path:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self.injections.remove(injection)
                    return injection.fault
            if self.settings.error_rate > 0:
                self.stats["_api_calls"] += 1
                n = self.stats["_api_calls"]
                rate = self.settings.error_rate
                if int(n * rate) != int((n - 1) * rate):
                    return "503"
        return None

    def rate_limit_take(self, client_id: str) -> tuple[float, int, float]:
        """Take a request slot for `client_id`: (wait, remaining, reset). `wait` is 0 when
        allowed, else the seconds until a slot frees; `remaining` the slots left now;
        `reset` the seconds until the next slot when none remain (the headers' hints)."""
        s = self.settings
        rate = s.rate_limit_requests / s.rate_limit_period
        burst = float(s.rate_limit_requests)
        with self._lock:
            now = time.monotonic()
            tokens, updated = self._buckets.get(client_id, [burst, now])
            tokens = min(burst, tokens + (now - updated) * rate)
            if tokens >= 1:
                tokens -= 1
                self._buckets[client_id] = [tokens, now]
                return 0.0, int(tokens), 0.0 if tokens >= 1 else (1 - tokens) / rate
            self._buckets[client_id] = [tokens, now]
            wait = (1 - tokens) / rate
            return wait, 0, wait


def _default_store():
    try:
        from django.conf import settings

        url = getattr(settings, "REDIS_URL", "") or ""
    except ImportError:
        url = ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis

        return RedisStore(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5))
    return MemoryStore()


# The one sandbox of this process (the Django views and a test's standalone server share it).
sandbox = Sandbox()
