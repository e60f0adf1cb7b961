"""The connector interface: what every ad platform package provides.

No Django here: connectors are plain Python over HTTP, so they can be tested with
`responses` or against the sandbox server and reused outside the web app. Everything
that needs the database (pending authorizations, credentials) is passed in through the
small protocols in `connectors.auth`.

Our vocabulary: levels account > campaign > ad_group > ad > creative; granularities hour,
day; core metrics impressions, clicks, cost, conversions. A platform's own words
(adset, unit, promotion, plan) stay inside its package and map onto ours in its spec.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from connectors.errors import AuthorizationFailed

if TYPE_CHECKING:
    import requests

    from connectors.http import HttpClient, RateLimiter

LEVELS = ("account", "campaign", "ad_group", "ad", "creative")
GRANULARITIES = ("hour", "day")
CORE_METRICS = ("impressions", "clicks", "cost", "conversions")

Level = Literal["account", "campaign", "ad_group", "ad", "creative"]
Granularity = Literal["hour", "day"]


@dataclass(frozen=True)
class PlatformSpec:
    """What a platform declares about itself (used by accounts, the DAG manager, the UI)."""

    slug: str
    display_name: str
    auth_type: Literal["oauth2", "password"]
    # Lifetimes the platform documents; None = does not expire / no such token.
    access_token_lifetime: timedelta | None
    refresh_token_lifetime: timedelta | None
    # How long before expiry the refresh sweep refreshes (each platform its own lead).
    refresh_lead_time: timedelta = timedelta(hours=2)
    supports_refresh: bool = True
    refresh_rotates: bool = False  # a refresh returns a new refresh token; the old one dies
    supports_pkce: bool = False
    supports_revoke: bool = False
    # our level -> the platform's word for it; levels it lacks are absent.
    levels: dict[str, str] = field(default_factory=dict)
    granularities: tuple[str, ...] = GRANULARITIES
    # platform metric name -> our core metric; every other metric is kept by its own name.
    core_metrics: dict[str, str] = field(default_factory=dict)
    extra_metrics: tuple[str, ...] = ()
    # days of daily reports re-fetched every run because the platform restates them
    report_lookback_days: int = 7
    # documented request budget: `rate_limit_requests` per `rate_limit_period` seconds per app
    rate_limit_requests: int = 10
    rate_limit_period: float = 1.0
    # endpoint name -> base URL; settings.PLATFORM_ENDPOINTS[slug] overrides any of them
    default_endpoints: dict[str, str] = field(default_factory=dict)
    scopes: tuple[str, ...] = ()
    # folder of the platform's default DAG templates (*.json), used by the DAG manager
    templates_dir: Path | None = None


@dataclass(frozen=True)
class AppConfig:
    """A platform app registered by the user: client id/secret, redirect URI, extras
    (e.g. Google's developer token). Decrypted by the caller, never logged."""

    client_id: str
    client_secret: str = ""
    redirect_uri: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # keep secrets out of tracebacks and logs
        return f"AppConfig(client_id={self.client_id!r}, client_secret='***', redirect_uri={self.redirect_uri!r})"


@dataclass(frozen=True)
class TokenSet:
    """What an authorization or a refresh yields. For password platforms `access_token`
    may be empty and `secrets` carries what each request needs (password, token)."""

    access_token: str = ""
    refresh_token: str = ""
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    # account ids the grant reaches when the token response names them (Ocean Engine, TikTok)
    account_ids: tuple[str, ...] = ()
    # per-platform secrets for password flows (username, password, developer token)
    secrets: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return (
            f"TokenSet(expires_at={self.expires_at!r}, refresh_expires_at={self.refresh_expires_at!r}, "
            f"scopes={self.scopes!r})"
        )


@dataclass(frozen=True)
class AccountRef:
    """The account a fetch is for: its platform id and the timezone its reports use, plus what
    the connector found about it at authorization (`AccountInfo.raw`, kept on the AdAccount:
    e.g. the Google Ads manager it is reached through)."""

    external_id: str
    timezone: str = "UTC"
    currency: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class AccountInfo:
    external_id: str
    name: str
    currency: str
    timezone: str
    status: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Entity:
    """One metadata object at one of our levels, normalized; `raw` is the platform's record."""

    level: str
    external_id: str
    parent_external_id: str | None
    name: str
    status: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    deleted: bool = False


@dataclass(frozen=True)
class ReportRow:
    """One entity at one stat time. `stat_time` is timezone-aware, in the account's timezone
    (start of the hour, or midnight of the local day for daily rows)."""

    level: str
    granularity: str
    entity_id: str
    stat_time: datetime
    impressions: int
    clicks: int
    cost: Decimal
    conversions: float
    currency: str = ""
    extra: dict[str, float] = field(default_factory=dict)


class Connector(abc.ABC):
    """One ad platform. Subclasses set `spec` and implement the variable steps.

    Fetch methods are generators: they yield page by page and never hold a whole
    account's metadata or report in memory.
    """

    spec: PlatformSpec
    # False for platforms that can be called without a registered app (the sandbox).
    requires_app: bool = True
    # HTTP statuses that a GET is retried on inside the request (connectors.http); a platform
    # whose 5xx can be a deterministic answer (Meta's code 1 "reduce the amount of data") narrows it.
    retry_statuses: frozenset[int] | None = None

    def __init__(
        self,
        app: AppConfig,
        *,
        endpoints: dict[str, str] | None = None,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.app = app
        self.endpoints = {**self.spec.default_endpoints, **(endpoints or {})}
        self.session = session  # a requests.Session (tests and limiters may pass their own)
        self.limiter = limiter  # a connectors.http.RateLimiter; None = the deployment's default
        self._http: HttpClient | None = None

    @property
    def http(self) -> HttpClient:
        """This connector's `connectors.http.HttpClient` (one Session, the shared limiter).
        The budget is the spec's, unless the app's `extra` says `rate_limit: [requests, seconds]`
        (a platform that granted this app a larger quota)."""
        if self._http is None:
            from connectors.http import HttpClient

            override = self.app.extra.get("rate_limit")
            self._http = HttpClient.for_spec(
                self.spec,
                app_key=self.app.client_id,
                session=self.session,
                limiter=self.limiter,
                rate_limit=(int(override[0]), float(override[1])) if override else None,
                on_error=self.classify_error,
                **({"retry_statuses": self.retry_statuses} if self.retry_statuses is not None else {}),
            )
            self.session = self._http.session
        return self._http

    def classify_error(self, response: requests.Response, where: dict[str, str]) -> None:
        """Raise a precise `connectors.errors` error for an error response whose body says
        more than its status (see `connectors.http.HttpClient`); the default adds nothing."""
        return None

    # --- authorization: variable steps (the invariant ones live in connectors.auth) ---
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        raise AuthorizationNotSupported(f"{self.spec.slug} has no redirect authorization")

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        raise AuthorizationNotSupported(f"{self.spec.slug} has no authorization code flow")

    def exchange_callback(
        self, *, params: Mapping[str, str], redirect_uri: str, code_verifier: str | None = None
    ) -> TokenSet:
        """The callback's code (`code`, or Ocean Engine's and TikTok's `auth_code`) exchanged;
        a platform whose callback carries more than a code (Baidu's userId) reads it here."""
        code = params.get("code") or params.get("auth_code") or ""
        if not code:
            raise AuthorizationFailed("the callback has no authorization code", platform=self.spec.slug)
        return self.exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)

    def login(self, *, username: str, password: str, extra: dict[str, str] | None = None) -> TokenSet:
        raise AuthorizationNotSupported(f"{self.spec.slug} has no password flow")

    @abc.abstractmethod
    def refresh(self, token: TokenSet) -> TokenSet: ...

    def revoke(self, token: TokenSet) -> None:
        """Revoke at the platform where it can; platforms without revocation do nothing."""
        return None

    # --- fetching ---
    @abc.abstractmethod
    def list_accounts(self, token: TokenSet) -> Iterator[AccountInfo]: ...

    @abc.abstractmethod
    def fetch_metadata(self, token: TokenSet, account: AccountRef, level: str) -> Iterator[Entity]: ...

    @abc.abstractmethod
    def fetch_report(
        self, token: TokenSet, account: AccountRef, level: str, granularity: str, start: date, end: date
    ) -> Iterator[ReportRow]: ...

    # --- reconciliation ---
    # Where the platform's own account total per day comes from, to check the sum of a
    # lower level's rows against: "account_report" (its account-level daily report, one
    # extra call per fetched window) or None (the platform offers none; nothing is checked).
    account_totals_source: Literal["account_report"] | None = "account_report"

    def fetch_account_totals(
        self, token: TokenSet, account: AccountRef, start: date, end: date
    ) -> dict[date, dict[str, Any]] | None:
        """{local date: {"impressions", "clicks", "cost", "conversions"}} as the platform
        totals the account per day over [start, end], or None where it offers no such total.
        The default asks the account-level daily report; days without a row are zero."""
        if self.account_totals_source != "account_report" or "account" not in self.spec.levels:
            return None
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(account.timezone or "UTC")
        totals = {
            start + timedelta(days=n): {"impressions": 0, "clicks": 0, "cost": Decimal(0), "conversions": 0.0}
            for n in range((end - start).days + 1)
        }
        for row in self.fetch_report(token, account, "account", "day", start, end):
            day = totals.setdefault(
                row.stat_time.astimezone(tz).date(),
                {"impressions": 0, "clicks": 0, "cost": Decimal(0), "conversions": 0.0},
            )
            day["impressions"] += row.impressions
            day["clicks"] += row.clicks
            day["cost"] += Decimal(row.cost)
            day["conversions"] += row.conversions
        return totals


class AuthorizationNotSupported(NotImplementedError):
    """The platform does not have this kind of authorization (e.g. a redirect for Baidu)."""
