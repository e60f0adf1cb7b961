"""SandboxConnector: the Connector for the built-in sandbox ad platform (views.py).

The sandbox speaks its own words, like every platform: advertiser / campaign / adgroup /
ad / creative, metrics show / click / cost / convert plus video_play, like, share, follow;
the spec maps them onto ours. Its endpoints default to this deployment's own /sandbox/
(`{public_url}` is filled in by connectors.registry); tests point `base` at a standalone
server. Any client id works with the secret `<client_id>-secret`; without a platform app
the connector uses the demo client `sandbox-demo`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors import oauth2
from connectors.base import AccountInfo, AccountRef, AppConfig, Connector, Entity, PlatformSpec, ReportRow, TokenSet
from connectors.errors import (
    AccountAccessLost,
    AuthorizationFailed,
    AuthorizationRevoked,
    ConnectorError,
    MalformedResponse,
    PermanentError,
    TokenExpired,
)
from connectors.http import field

DEMO_CLIENT_ID = "sandbox-demo"

SPEC = PlatformSpec(
    slug="sandbox",
    display_name="Sandbox (simulated ad platform)",
    auth_type="oauth2",
    access_token_lifetime=timedelta(hours=24),
    refresh_token_lifetime=timedelta(days=30),
    refresh_lead_time=timedelta(hours=2),
    supports_refresh=True,
    refresh_rotates=True,
    supports_pkce=True,
    supports_revoke=True,
    levels={"account": "advertiser", "campaign": "campaign", "ad_group": "adgroup", "ad": "ad", "creative": "creative"},
    granularities=("hour", "day"),
    core_metrics={"show": "impressions", "click": "clicks", "cost": "cost", "convert": "conversions"},
    extra_metrics=("video_play", "like", "share", "follow"),
    report_lookback_days=3,
    rate_limit_requests=100,
    rate_limit_period=1.0,
    default_endpoints={"base": "{public_url}/sandbox"},
    scopes=("reports",),
    templates_dir=Path(__file__).resolve().parent / "templates",
)

STATUSES = {"enable": "active", "disable": "paused", "delete": "deleted"}
OBJECT_PATHS = {"campaign": "campaigns", "ad_group": "adgroups", "ad": "ads", "creative": "creatives"}
PARENT_FIELDS = {"campaign": "advertiser_id", "ad_group": "campaign_id", "ad": "adgroup_id", "creative": "ad_id"}
PAGE_SIZE = 1000


class SandboxConnector(Connector):
    spec = SPEC
    requires_app = False

    def __init__(self, app: AppConfig | None = None, **kwargs):
        if app is None or not app.client_id:
            app = AppConfig(
                client_id=DEMO_CLIENT_ID,
                client_secret=f"{DEMO_CLIENT_ID}-secret",
                redirect_uri=getattr(app, "redirect_uri", ""),
            )
        super().__init__(app, **kwargs)

    @property
    def base(self) -> str:
        return self.endpoints["base"].rstrip("/")

    # --- authorization ---
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        return oauth2.authorization_url(
            self.app,
            authorize_url=f"{self.base}/oauth/authorize",
            state=state,
            redirect_uri=redirect_uri,
            scopes=self.spec.scopes,
            code_challenge=code_challenge,
        )

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        return oauth2.exchange_code(
            self.http,
            self.app,
            token_url=f"{self.base}/oauth/token",
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
        )

    def refresh(self, token: TokenSet) -> TokenSet:
        return oauth2.refresh_token(
            self.http, self.app, token_url=f"{self.base}/oauth/token", refresh_token=token.refresh_token
        )

    def revoke(self, token: TokenSet) -> None:
        oauth2.revoke_token(
            self.http, self.app, revoke_url=f"{self.base}/oauth/revoke", token=token.refresh_token or token.access_token
        )

    def login(self, *, username: str, password: str, extra: dict[str, str] | None = None) -> TokenSet:
        """The password variant: a password grant at the same token endpoint."""
        http = self.http
        try:
            data = http.post_json(
                f"{self.base}/oauth/token",
                endpoint="token (password)",
                data={
                    "grant_type": "password",
                    "username": username,
                    "password": password,
                    "scope": " ".join(self.spec.scopes),
                    "client_id": self.app.client_id,
                    "client_secret": self.app.client_secret,
                },
            )
        except ConnectorError as exc:
            if "invalid_grant" in str(exc):
                raise AuthorizationFailed("wrong user name or password", platform=self.spec.slug) from None
            raise
        field(data, "access_token", str, platform=self.spec.slug, endpoint="token (password)")
        return oauth2.token_set(data)

    def classify_error(self, response, where: dict[str, str]) -> None:
        try:
            error = response.json().get("error")
        except ValueError:
            return
        kind = error.get("type") if isinstance(error, dict) else error
        message = error.get("message", "") if isinstance(error, dict) else ""
        if kind == "token_revoked":
            raise AuthorizationRevoked(
                f"{message or 'the authorization was revoked'}; re-authorize the account", **where
            )
        if kind in ("token_expired", "invalid_token"):
            raise TokenExpired(f"{message or kind}; refresh the token and retry", **where)
        if kind == "no_permission":
            raise AccountAccessLost(f"{message}; re-authorize an account that reaches it", **where)
        if kind in ("invalid_parameter", "not_found"):
            raise PermanentError(message or kind, **where)

    # --- fetching ---
    def _get(self, token: TokenSet, path: str, *, endpoint: str, account: str = "", params: dict | None = None):
        if not token.access_token:
            raise TokenExpired(
                "no access token; refresh the credential", platform=self.spec.slug, endpoint=endpoint, account=account
            )
        return self.http.get_json(
            f"{self.base}/api/v1/{path}",
            endpoint=endpoint,
            account=account,
            params=params,
            headers={"Authorization": f"Bearer {token.access_token}"},
        )

    def _pages(self, token: TokenSet, path: str, *, endpoint: str, account: str = "") -> Iterator[tuple[str, dict]]:
        """(place in the page, item) of a cursor-paged list, one page in memory at a time."""
        cursor = None
        where = {"platform": self.spec.slug, "endpoint": endpoint, "account": account}
        while True:
            params = {"limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
            data = self._get(token, path, endpoint=endpoint, account=account, params=params)
            items = field(data, "data", list, **where)
            for n, item in enumerate(items):
                if not isinstance(item, dict):
                    raise MalformedResponse(f"data.{n} should be an object", field=f"data.{n}", **where)
                yield f"data.{n}", item
            cursor = field(data, "paging.next_cursor", str, default=None, **where)
            if not cursor:
                return

    def list_accounts(self, token: TokenSet) -> Iterator[AccountInfo]:
        where = {"platform": self.spec.slug, "endpoint": "advertisers"}
        for at, item in self._pages(token, "advertisers", endpoint="advertisers"):
            yield self._account_info(item, where, at=at)

    def _account_info(self, item: dict, where: dict, at: str = "data") -> AccountInfo:
        def f(name):
            return field(item, name, str, at=at, **where)

        tz = f("timezone")
        try:
            ZoneInfo(tz)
        except (ValueError, KeyError):
            raise MalformedResponse(
                f"{at}.timezone is not a known time zone: {tz!r}", field=f"{at}.timezone", **where
            ) from None
        return AccountInfo(
            external_id=f("advertiser_id"),
            name=f("name"),
            currency=f("currency"),
            timezone=tz,
            status=STATUSES.get(f("status"), f("status")),
            raw=item,
        )

    def fetch_metadata(self, token: TokenSet, account: AccountRef, level: str) -> Iterator[Entity]:
        adv = account.external_id
        if level == "account":
            where = {"platform": self.spec.slug, "endpoint": "advertiser", "account": adv}
            data = self._get(token, f"advertisers/{adv}", endpoint="advertiser", account=adv)
            info = self._account_info(field(data, "data", dict, **where), where)
            yield Entity(
                level="account",
                external_id=info.external_id,
                parent_external_id=None,
                name=info.name,
                status=info.status,
                raw=info.raw,
            )
            return
        if level not in OBJECT_PATHS:
            raise PermanentError(
                f"unknown level {level!r}; one of account, {', '.join(OBJECT_PATHS)}",
                platform=self.spec.slug,
                account=adv,
            )
        path = OBJECT_PATHS[level]
        where = {"platform": self.spec.slug, "endpoint": path, "account": adv}
        for at, item in self._pages(token, f"advertisers/{adv}/{path}", endpoint=path, account=adv):
            status = STATUSES.get(field(item, "status", str, at=at, **where), "unknown")
            yield Entity(
                level=level,
                external_id=field(item, "id", str, at=at, **where),
                parent_external_id=field(item, PARENT_FIELDS[level], str, at=at, **where),
                name=field(item, "name", str, at=at, **where),
                status=status,
                raw=item,
                deleted=status == "deleted",
            )

    def fetch_report(
        self, token: TokenSet, account: AccountRef, level: str, granularity: str, start: date, end: date
    ) -> Iterator[ReportRow]:
        adv = account.external_id
        where = {"platform": self.spec.slug, "endpoint": "reports", "account": adv}
        if level not in self.spec.levels:
            raise PermanentError(f"unknown level {level!r}", **where)
        if granularity not in self.spec.granularities:
            raise PermanentError(f"unknown granularity {granularity!r}; one of hour, day", **where)
        page = 1
        while True:
            data = self._get(
                token,
                f"advertisers/{adv}/reports",
                endpoint="reports",
                account=adv,
                params={
                    "level": self.spec.levels[level],
                    "granularity": granularity,
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "page": page,
                    "page_size": PAGE_SIZE,
                    # Spend of objects deleted inside the window counts too (the level then adds
                    # up to the account); an app's extra {"include_deleted": false} turns it off.
                    "include_deleted": "false" if self.app.extra.get("include_deleted") is False else "true",
                },
            )
            rows = field(data, "data.rows", list, **where)
            tz_name = field(data, "data.timezone", str, **where)
            try:
                tz = ZoneInfo(tz_name)
            except (ValueError, KeyError):
                raise MalformedResponse(f"unknown time zone {tz_name!r}", field="data.timezone", **where) from None
            currency = field(data, "data.currency", str, **where)
            for n, raw in enumerate(rows):
                yield self._row(raw, f"data.rows.{n}", level, granularity, tz, currency, where)
            total_pages = field(data, "data.page_info.total_pages", int, **where)
            if page >= total_pages:
                return
            page += 1

    def _row(self, raw, path: str, level: str, granularity: str, tz, currency: str, where: dict) -> ReportRow:
        # Fast path: plain lookups, types checked in one go. Only a row that fails them is
        # walked again field by field, so the error names the exact field.
        try:
            stamp, entity_id, show, click, cost_text, convert = (
                raw["stat_time"],
                raw["entity_id"],
                raw["show"],
                raw["click"],
                raw["cost"],
                raw["convert"],
            )
            if not (
                type(stamp) is str
                and type(entity_id) is str
                and type(show) is int
                and type(click) is int
                and type(cost_text) is str
                and type(convert) in (int, float)
            ):
                raise TypeError
            extra = {
                name: float(raw[name])
                for name in self.spec.extra_metrics
                if name in raw
                if type(raw[name]) in (int, float)
            }
            if len(extra) != sum(1 for name in self.spec.extra_metrics if name in raw):
                raise TypeError
        except (KeyError, TypeError):
            return self._row_checked(raw, path, where)
        try:
            stat_time = datetime.fromisoformat(stamp)
        except ValueError:
            raise MalformedResponse(
                f"{path}.stat_time is not an ISO time: {stamp!r}", field=f"{path}.stat_time", **where
            ) from None
        stat_time = stat_time.astimezone(tz) if stat_time.tzinfo else stat_time.replace(tzinfo=tz)
        try:
            cost = Decimal(cost_text)
        except InvalidOperation:
            raise MalformedResponse(
                f"{path}.cost is not a decimal: {cost_text!r}", field=f"{path}.cost", **where
            ) from None
        return ReportRow(
            level=level,
            granularity=granularity,
            entity_id=entity_id,
            stat_time=stat_time,
            impressions=show,
            clicks=click,
            cost=cost,
            conversions=float(convert),
            currency=currency,
            extra=extra,
        )

    def _row_checked(self, raw, path: str, where: dict):
        """Raise the MalformedResponse naming the first bad field of a row."""
        if not isinstance(raw, dict):
            raise MalformedResponse(f"{path} should be an object", field=path, **where)
        for name, kind in (
            ("stat_time", str),
            ("entity_id", str),
            ("show", int),
            ("click", int),
            ("cost", str),
            ("convert", (int, float)),
        ):
            field(raw, name, kind, at=path, **where)
        for name in self.spec.extra_metrics:
            if name in raw:
                field(raw, name, (int, float), at=path, **where)
        raise AssertionError("unreachable: the fast path rejected a row the checks accept")


PASSWORD_SPEC = dataclasses.replace(
    SPEC,
    slug="sandbox_password",
    display_name="Sandbox (password sign-in)",
    auth_type="password",
    supports_refresh=False,
    refresh_rotates=False,
    supports_pkce=False,
    refresh_token_lifetime=None,
)


class SandboxPasswordConnector(SandboxConnector):
    """The same sandbox, signed into with user name and password (like Baidu's accounts):
    user `demo` (or `user-SEED-ACCOUNTS-ADS`), password `sandbox-password`. A "refresh"
    signs in again with the stored secrets."""

    spec = PASSWORD_SPEC

    def login(self, *, username: str, password: str, extra: dict[str, str] | None = None) -> TokenSet:
        token = super().login(username=username, password=password, extra=extra)
        return TokenSet(
            access_token=token.access_token,
            refresh_token="",
            expires_at=token.expires_at,
            scopes=token.scopes,
            secrets={"username": username, "password": password},
            raw=token.raw,
        )

    def refresh(self, token: TokenSet) -> TokenSet:
        if not token.secrets.get("username"):
            raise AuthorizationRevoked(
                "no stored sign-in; enter the user name and password again", platform=self.spec.slug
            )
        return self.login(username=token.secrets["username"], password=token.secrets.get("password", ""))

    def revoke(self, token: TokenSet) -> None:
        oauth2.revoke_token(
            self.http,
            self.app,
            revoke_url=f"{self.base}/oauth/revoke",
            token=token.access_token,
            token_type_hint="access_token",  # noqa: S106 (RFC 7009 hint)
        )
