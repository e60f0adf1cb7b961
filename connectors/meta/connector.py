"""MetaConnector: the Meta Marketing API behind our Connector interface.

Endpoints (overridable through settings.PLATFORM_ENDPOINTS["meta"] or the app's endpoints):
  authorize  https://www.facebook.com/v25.0/dialog/oauth
  token      https://graph.facebook.com/v25.0/oauth/access_token
  graph      https://graph.facebook.com/v25.0

App `extra`: `scopes` (default ads_read, business_management), `config_id` (Facebook Login for
Business), `sync_max_days` (longest daily range fetched synchronously, default 7; longer ranges
and any hourly range over a day run as async report runs), `rate_limit` ([requests, seconds]).

Insights (https://developers.facebook.com/docs/marketing-api/insights, .../insights/best-practices):
  sync   GET  /act_<id>/insights?level=..&fields=..&time_range={"since","until"}&time_increment=1
              [&breakdowns=hourly_stats_aggregated_by_advertiser_time_zone]&limit=..
  async  POST /act_<id>/insights (same parameters) -> {"report_run_id"}; GET /<run id> until
         `async_status` is "Job Completed" (`async_percent_completion` 100); then GET
         /<run id>/insights, cursor-paged. "Job Failed" / "Job Skipped": the range is split in
         halves and each half runs again (a one-day range that fails is a TransientError).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import AccountInfo, AccountRef, Connector, Entity, PlatformSpec, ReportRow, TokenSet
from connectors.errors import (
    AuthorizationRevoked,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.http import RETRY_STATUSES, field
from connectors.meta import auth, mapping
from connectors.meta.api import GRAPH_VERSION, PLATFORM, GraphApi, TooMuchData, raise_for_error, usage_wait
from connectors.primitives import stat_time

SPEC = PlatformSpec(
    slug=PLATFORM,
    display_name="Meta (Facebook, Instagram)",
    auth_type="oauth2",
    access_token_lifetime=timedelta(days=60),  # the long-lived user token
    refresh_token_lifetime=None,  # there is none
    # No refresh: this is the warning window. Inside it the credential is flagged "re-authorize
    # before expiry" (see auth.reauthorization_due); Meta cannot extend it for us.
    refresh_lead_time=timedelta(days=7),
    supports_refresh=False,
    refresh_rotates=False,
    supports_pkce=False,
    supports_revoke=True,
    levels={
        "account": "ad account",
        "campaign": "campaign",
        "ad_group": "ad set",
        "ad": "ad",
        "creative": "ad creative",
    },
    granularities=("hour", "day"),
    core_metrics=mapping.CORE_METRICS,
    extra_metrics=mapping.EXTRA_METRICS,
    report_lookback_days=28,  # attribution windows (default 7-day click, 1-day view; up to 28 days) restate numbers
    # Meta's budgets are usage percentages per business use case, not a fixed rate; this local
    # pace keeps bursts moderate and the usage headers pause everyone when Meta says so.
    rate_limit_requests=10,
    rate_limit_period=1.0,
    default_endpoints={
        "authorize": f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth",
        "token": f"https://graph.facebook.com/{GRAPH_VERSION}/oauth/access_token",
        "graph": f"https://graph.facebook.com/{GRAPH_VERSION}",
    },
    scopes=auth.DEFAULT_SCOPES,
    templates_dir=Path(__file__).resolve().parent / "templates",
)

# our level -> (edge of the ad account, fields, parent key)
METADATA = {
    "campaign": (
        "campaigns",
        "id,name,status,effective_status,configured_status,objective,buying_type,daily_budget,"
        "lifetime_budget,start_time,stop_time,created_time,updated_time",
        None,
    ),
    "ad_group": (
        "adsets",
        "id,name,campaign_id,status,effective_status,configured_status,optimization_goal,billing_event,"
        "daily_budget,lifetime_budget,start_time,end_time,created_time,updated_time",
        "campaign_id",
    ),
    "ad": (
        "ads",
        "id,name,adset_id,campaign_id,status,effective_status,configured_status,creative{id},created_time,updated_time",
        "adset_id",
    ),
    "creative": (
        "adcreatives",
        "id,name,status,object_type,title,body,thumbnail_url,object_story_id,effective_object_story_id",
        None,
    ),
}
ACCOUNT_FIELDS = "id,account_id,name,currency,timezone_name,timezone_offset_hours_utc,account_status,business{id,name}"
# Without an effective_status filter the campaigns/adsets/ads edges leave out ARCHIVED objects
# ("When unset, defaults to not return deleted or archived"); archived objects still have
# insights, so we ask for them. DELETED objects cannot be read through an edge at all. Each edge
# gets its own enum (facebook/facebook-python-business-sdk v25.0 facebook_business/adobjects/
# campaign.py, adset.py, ad.py `EffectiveStatus`) minus DELETED: Graph refuses a value outside the
# edge's enum ("(#100) Param effective_status[n] must be one of ..."). The app's extra
# `effective_status` ({level: [...]}) replaces a level's list, [] sends none.
EFFECTIVE_STATUS = {
    "campaign": ("ACTIVE", "PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"),
    "ad_group": ("ACTIVE", "PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES", "CAMPAIGN_PAUSED"),
    "ad": (
        "ACTIVE",
        "PAUSED",
        "ARCHIVED",
        "IN_PROCESS",
        "WITH_ISSUES",
        "CAMPAIGN_PAUSED",
        "ADSET_PAUSED",
        "PENDING_REVIEW",
        "DISAPPROVED",
        "PREAPPROVED",
        "PENDING_BILLING_INFO",
    ),
}
# Insights at campaign/ad set/ad level leave out deleted (and archived) objects unless asked
# ("/act_<ID>/insights?level=ad does not return stats for the deleted object", Meta's "Manage your
# ad object's status" best practice); their spend inside the look-back window then vanishes from
# every level but the account's. Every delivery state, as Airbyte's source-facebook-marketing
# sends it (streams/base_streams.py _filter_all_statuses, base_insight_streams.py request_params).
DELIVERY_INFO = (
    "active",
    "archived",
    "completed",
    "limited",
    "not_delivering",
    "deleted",
    "not_published",
    "pending_review",
    "permanently_deleted",
    "recently_completed",
    "recently_rejected",
    "rejected",
    "scheduled",
    "inactive",
)
PAGE_LIMIT = 500
INSIGHTS_LIMIT = 500
DONE, FAILED = "Job Completed", ("Job Failed", "Job Skipped")
POLL_TIMEOUT = 1800.0  # seconds an async run may take before we give the slot back (TransientError)


def act(account_id: str) -> str:
    return account_id if account_id.startswith("act_") else f"act_{account_id}"


class MetaConnector(Connector):
    spec = SPEC
    # Graph answers "Please reduce the amount of data" (code 1) with HTTP 500: asking again is
    # the same answer, so 500 is not retried inside the request (the async fallback handles it).
    retry_statuses = RETRY_STATUSES - {500}
    # How the async poll waits (tests replace it); starts at 1 s and doubles up to 30 s.
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def api(self, token: TokenSet) -> GraphApi:
        return GraphApi(self.http, self.endpoints["graph"], token.access_token, self.app.client_secret)

    def _where(self, endpoint: str, account: str = "") -> dict:
        return {"platform": PLATFORM, "endpoint": endpoint, "account": account}

    # --- authorization ---
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        return auth.authorization_url(self.app, self.endpoints, state=state, redirect_uri=redirect_uri)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        return auth.exchange_code(self.http, self.app, self.endpoints, code=code, redirect_uri=redirect_uri)

    def refresh(self, token: TokenSet) -> TokenSet:
        """Meta has no refresh. A caller that asks anyway (a refresh sweep inside the warning window,
        or a retry after a token error) learns whether the token still works: it comes back unchanged
        if Meta still accepts it (`GET /me`), so fetching goes on until the user re-authorizes; once
        Meta refuses it, AuthorizationRevoked says re-authorize (nothing else can renew it)."""
        where = {"platform": PLATFORM, "endpoint": "me"}
        now = datetime.now(UTC)
        if not token.access_token or (token.expires_at is not None and token.expires_at <= now):
            raise AuthorizationRevoked(
                "the long-lived token expired and Meta issues no refresh token: re-authorize the account", **where
            )
        try:
            self.api(token).call("GET", "me", {"fields": "id"}, endpoint="me")
        except (TokenExpired, AuthorizationRevoked) as exc:
            raise AuthorizationRevoked(
                f"{exc}; Meta issues no refresh token: re-authorize the account", **where
            ) from None
        return token

    def revoke(self, token: TokenSet) -> None:
        auth.revoke(self.http, self.app, self.endpoints, token)

    def reauthorization_due(self, token: TokenSet, now=None) -> bool:
        return auth.reauthorization_due(token, warning=self.spec.refresh_lead_time, now=now)

    def classify_error(self, response, where: dict[str, str]) -> None:
        try:
            body = response.json()
        except ValueError:
            return
        regain, _ = usage_wait(response.headers)
        try:
            raise_for_error(body, where, status=response.status_code, retry_after=regain or None)
        except RateLimited as exc:
            if self.http.rate and exc.retry_after:
                self.http.limiter.pause(self.http.bucket, min(exc.retry_after, 3600.0))
            raise

    # --- accounts ---
    def list_accounts(self, token: TokenSet) -> Iterator[AccountInfo]:
        """Every ad account the user reaches (`/me/adaccounts`, cursor-paged)."""
        where = self._where("me/adaccounts")
        for at, item in self.api(token).pages("me/adaccounts", {"fields": ACCOUNT_FIELDS, "limit": PAGE_LIMIT}):
            yield self._info(item, at, where)

    def _info(self, item: dict, at: str, where: dict) -> AccountInfo:
        account_id = str(item.get("account_id") or str(field(item, "id", str, at=at, **where)).removeprefix("act_"))
        tz = field(item, "timezone_name", str, at=at, **where)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise MalformedResponse(
                f"{at}.timezone_name is not a known timezone: {tz[:40]!r}", field=f"{at}.timezone_name", **where
            ) from None
        status = item.get("account_status")
        return AccountInfo(
            external_id=account_id,
            name=str(item.get("name") or ""),
            currency=field(item, "currency", str, at=at, **where),
            timezone=tz,
            status=mapping.ACCOUNT_STATUS.get(status, f"status_{status}"),
            raw=item,
        )

    # --- metadata ---
    def fetch_metadata(self, token: TokenSet, account: AccountRef, level: str) -> Iterator[Entity]:
        adv = account.external_id.removeprefix("act_")
        if level == "account":
            where = self._where("ad account", adv)
            item = self.api(token).call("GET", act(adv), {"fields": ACCOUNT_FIELDS}, account=adv, endpoint="ad account")
            info = self._info(item, "<body>", where)
            yield Entity(
                level="account", external_id=adv, parent_external_id=None, name=info.name, status=info.status, raw=item
            )
            return
        if level not in METADATA:
            raise PermanentError(
                f"unknown level {level!r}; one of {', '.join(self.spec.levels)}", **self._where("metadata", adv)
            )
        edge, fields, parent_key = METADATA[level]
        where = self._where(edge, adv)
        params = {"fields": fields, "limit": PAGE_LIMIT}
        override = self.app.extra.get("effective_status")
        if isinstance(override, dict):
            statuses = override.get(level, EFFECTIVE_STATUS.get(level))
        elif override is not None:  # one list for every edge (the older form of the setting)
            statuses = override
        else:
            statuses = EFFECTIVE_STATUS.get(level)
        if level != "creative" and statuses:
            params["effective_status"] = json.dumps(list(statuses), separators=(",", ":"))
        for at, item in self.api(token).pages(f"{act(adv)}/{edge}", params, account=adv):
            state = mapping.status(item)
            yield Entity(
                level=level,
                external_id=str(field(item, "id", (str, int), at=at, **where)),
                parent_external_id=str(field(item, parent_key, (str, int), at=at, **where)) if parent_key else adv,
                name=str(item.get("name") or ""),
                status=state,
                raw=item,
                deleted=state == "deleted",
            )

    # --- reports ---
    def insights_params(self, level: str, granularity: str, start: date, end: date) -> dict:
        fields = [
            "account_id",
            "account_currency",
            *(
                mapping.IDS[lv]
                for lv in ("campaign", "ad_group", "ad")[: ("account", "campaign", "ad_group", "ad").index(level)]
            ),
            *mapping.CORE_METRICS,
            *(f for f in mapping.EXTRA_FIELDS if granularity == "day" or f not in mapping.NOT_HOURLY),
        ]
        params = {
            "level": "adset" if level == "ad_group" else level,
            "fields": ",".join(fields),
            "time_range": json.dumps({"since": start.isoformat(), "until": end.isoformat()}, separators=(",", ":")),
            "time_increment": 1,
            "limit": INSIGHTS_LIMIT,
        }
        if granularity == "hour":
            params["breakdowns"] = mapping.HOURLY_BREAKDOWN
        if level != "account":  # the account row already holds every object's spend
            params["filtering"] = json.dumps(
                [{"field": f"{params['level']}.delivery_info", "operator": "IN", "value": list(DELIVERY_INFO)}],
                separators=(",", ":"),
            )
        return params

    def fetch_report(
        self, token: TokenSet, account: AccountRef, level: str, granularity: str, start: date, end: date
    ) -> Iterator[ReportRow]:
        adv = account.external_id.removeprefix("act_")
        where = self._where("insights", adv)
        if level not in mapping.IDS:
            raise PermanentError(f"unknown report level {level!r}; one of {', '.join(mapping.IDS)}", **where)
        if granularity not in ("hour", "day"):
            raise PermanentError(f"unknown granularity {granularity!r}; one of hour, day", **where)
        if end < start:
            raise PermanentError(f"end {end} is before start {start}", **where)
        tz = ZoneInfo(account.timezone or "UTC")
        sync_days = 1 if granularity == "hour" else int(self.app.extra.get("sync_max_days", 7))
        api = self.api(token)
        if (end - start).days + 1 <= sync_days:
            yielded = 0
            try:
                pages = api.pages(
                    f"{act(adv)}/insights", self.insights_params(level, granularity, start, end), account=adv
                )
                for row in self._rows(pages, level, granularity, account, tz, start, end):
                    yielded += 1
                    yield row
                return
            except TooMuchData:
                if yielded:  # rows already went out: starting over would repeat them; the task retries
                    raise
                # Meta asks for less data per request: the async run has no such limit
        yield from self._async(api, adv, level, granularity, account, tz, start, end)

    def _rows(self, pages, level, granularity, account, tz, start, end) -> Iterator[ReportRow]:
        where = self._where("insights", account.external_id)
        id_key = mapping.IDS[level]
        for at, row in pages:
            hour = mapping.hour_of_span(row, at, where) if granularity == "hour" else None
            when = stat_time(row.get("date_start"), f"{at}.date_start", where, tz=tz, hour=hour)
            if not start <= when.date() <= end:
                continue
            entity = str(field(row, id_key, (str, int), at=at, **where))
            yield mapping.report_row(
                row,
                path=at,
                level=level,
                granularity=granularity,
                entity_id=entity,
                when=when,
                currency=account.currency,
                where=where,
            )

    def _async(
        self, api: GraphApi, adv: str, level, granularity, account, tz, start: date, end: date
    ) -> Iterator[ReportRow]:
        where = self._where("insights (async)", adv)
        started = api.call(
            "POST",
            f"{act(adv)}/insights",
            self.insights_params(level, granularity, start, end),
            account=adv,
            endpoint="insights (async)",
        )
        run_id = str(field(started, "report_run_id", (str, int), **where))
        status = self._poll(api, run_id, adv)
        if status in FAILED:
            if start == end:
                raise TransientError(
                    f"async report run {run_id} ended {status!r} for one day ({start}); retry later", **where
                )
            middle = start + timedelta(days=(end - start).days // 2)
            yield from self._async(api, adv, level, granularity, account, tz, start, middle)
            yield from self._async(api, adv, level, granularity, account, tz, middle + timedelta(days=1), end)
            return
        pages = api.pages(f"{run_id}/insights", {"limit": INSIGHTS_LIMIT}, account=adv)
        yield from self._rows(pages, level, granularity, account, tz, start, end)

    def _poll(self, api: GraphApi, run_id: str, adv: str) -> str:
        where = self._where("report run", adv)
        waited, delay = 0.0, 1.0
        while True:
            run = api.call(
                "GET",
                run_id,
                {"fields": "id,async_status,async_percent_completion"},
                account=adv,
                endpoint="report run",
            )
            status = field(run, "async_status", str, **where)
            if status == DONE or status in FAILED:
                return status
            if waited >= POLL_TIMEOUT:
                raise TransientError(
                    f"async report run {run_id} still {status!r} "
                    f"({run.get('async_percent_completion', '?')}%) after {waited:.0f}s",
                    **where,
                )
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, 30.0)
