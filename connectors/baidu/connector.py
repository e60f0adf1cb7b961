"""BaiduConnector: Baidu search promotion (百度营销 搜索推广) behind our Connector interface.

Endpoints (overridable through settings.PLATFORM_ENDPOINTS["baidu"] or the app):
  api   https://api.baidu.com/json/sms/service   (AccountService, CampaignService, AdgroupService,
                                                   CreativeService, OpenApiReportService)
  feed  https://api.baidu.com/json/feed/v1       (MccFeedService: accounts under an account manager)

Two ways in, chosen by the app's `extra.auth`:
- "password" (default): the sign-in form (user name, password, developer token or the app's
  `extra.developer_token`); every request carries them (connectors/baidu/auth.py);
- "oauth2": Baidu's OAuth2 (u.baidu.com/oauth, connectors/baidu/oauth.py), which Baidu's SDKs
  moved to in 2024; the app's client id / secret are its appId / secretKey and `extra.scope`
  its permission code; every request carries `{userName, accessToken}`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.baidu import async_report, auth, mapping, oauth
from connectors.baidu.api import PLATFORM, BaiduApi
from connectors.base import AccountInfo, AccountRef, AppConfig, Connector, Entity, PlatformSpec, ReportRow, TokenSet
from connectors.errors import AccountAccessLost, AuthorizationFailed, ConnectorError, MalformedResponse, PermanentError
from connectors.http import field
from connectors.primitives import date_chunks, stat_time

logger = logging.getLogger(__name__)

SPEC = PlatformSpec(
    slug=PLATFORM,
    display_name="Baidu (百度营销)",
    auth_type="password",
    access_token_lifetime=None,  # nothing expires: the password is sent with every request
    refresh_token_lifetime=None,
    supports_refresh=False,
    refresh_rotates=False,
    supports_pkce=False,
    supports_revoke=False,
    levels={
        "account": "account 推广账户",
        "campaign": "plan 推广计划",
        "ad_group": "unit 推广单元",
        "ad": "creative 创意",
    },
    granularities=("hour", "day"),
    core_metrics=mapping.CORE_METRICS,
    extra_metrics=mapping.EXTRA_METRICS,
    report_lookback_days=3,  # search conversions are mostly same-day; oCPC conversions arrive within days
    # Baidu budgets a daily quota of API units per account plus a per-token QPS; 5/s per app
    # stays well inside it (unconfirmed figure).
    rate_limit_requests=5,
    rate_limit_period=1.0,
    default_endpoints={
        "api": "https://api.baidu.com/json/sms/service",
        "feed": "https://api.baidu.com/json/feed/v1",
        "authorize": "https://u.baidu.com/oauth/page/index",
        "token": "https://u.baidu.com/oauth/accessToken",
        "refresh": "https://u.baidu.com/oauth/refreshToken",
        "userinfo": "https://u.baidu.com/oauth/getUserInfo",
    },
    scopes=(),
    templates_dir=Path(__file__).resolve().parent / "templates",
)

# The same platform authorized through OAuth2: tokens expire (each answer says when) and refresh.
OAUTH_SPEC = dataclasses.replace(
    SPEC,
    auth_type="oauth2",
    supports_refresh=True,
    refresh_rotates=True,  # a refresh may answer a new refresh token; we keep whichever is newest
    refresh_lead_time=timedelta(hours=2),
)
AUTH_MODES = ("password", "oauth2")

ACCOUNT_FIELDS = [
    "userId",
    "balance",
    "budget",
    "userStat",
    "regDomain",
    "openDomains",
    "regionTarget",
    "cost",
    "payment",
]
# Plan fields of the search CampaignService (campaignFields enum of model/search/campaign/getCampaign.go;
# campaignType and bidPrefer belong to feed plans).
CAMPAIGN_FIELDS = ["campaignId", "campaignName", "budget", "pause", "status", "adType"]
ADGROUP_FIELDS = ["adgroupId", "campaignId", "adgroupName", "pause", "status", "maxPrice", "adType"]
CREATIVE_FIELDS = [
    "creativeId",
    "adgroupId",
    "title",
    "pause",
    "status",
    "description1",
    "pcDestinationUrl",
    "mobileDestinationUrl",
]
CAMPAIGN_BATCH = 100  # AdgroupService/getAdgroup: at most 100 plan ids per call (idType 3)
ADGROUP_BATCH = 1000  # CreativeService/getCreative: at most 1000 unit ids per call (idType 5)
REPORT_PAGE = 10000  # getReportData rowCount per page (unconfirmed maximum)
REPORT_SPAN_DAYS = 31
ASYNC_REPORT_ROWS = 100_000  # ten pages: above this a createReportTask file is cheaper (app extra.async_report_rows)


class BaiduConnector(Connector):
    spec = SPEC
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # between report-task polls (tests pass their own)

    def __init__(self, app: AppConfig, **kwargs):
        mode = str(app.extra.get("auth") or "password")
        if mode not in AUTH_MODES:
            raise ValueError(f'baidu app extra.auth: {mode!r}; use "password" or "oauth2"')
        self.oauth = mode == "oauth2"
        if self.oauth:
            self.spec = OAUTH_SPEC
        super().__init__(app, **kwargs)
        self._own: dict[str, str] = {}  # sign-in user name -> its own userId
        self._managed: dict[str, dict[str, str]] = {}  # sign-in user name -> {userId: user name}
        self._names: dict[str, str] = {}  # OAuth2: userId -> user name, of the accounts the grant reaches
        self.async_rows = int(app.extra.get("async_report_rows") or ASYNC_REPORT_ROWS)

    @property
    def api(self) -> BaiduApi:
        return BaiduApi(self.http, self.endpoints["api"])

    # --- OAuth2 ---
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        if not self.oauth:
            return super().authorization_url(state=state, redirect_uri=redirect_uri)
        return oauth.authorization_url(self.app, self.endpoints, state=state, redirect_uri=redirect_uri)

    def exchange_callback(
        self, *, params: Mapping[str, str], redirect_uri: str, code_verifier: str | None = None
    ) -> TokenSet:
        """Baidu's callback says `authCode` and the consenting account's `userId`."""
        if not self.oauth:
            return super().exchange_callback(params=params, redirect_uri=redirect_uri)
        code = params.get("authCode") or params.get("code") or ""
        if not code:
            raise AuthorizationFailed("the callback has no authCode", platform=PLATFORM, endpoint="oauth/accessToken")
        return oauth.exchange(self.http, self.app, self.endpoints, auth_code=code, user_id=params.get("userId") or "")

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        return self.exchange_callback(params={"authCode": code}, redirect_uri=redirect_uri)

    # --- sign-in ---
    def login(self, *, username: str, password: str, extra: dict[str, str] | None = None) -> TokenSet:
        token_value = auth.developer_token(self.app, extra)
        auth.validate_form(username, password, token_value)
        token = TokenSet(secrets={"username": username.strip(), "password": password, "token": token_value})
        try:
            self._own_account(token)
        except ConnectorError as exc:
            failed = auth.as_failed(exc)
            if failed is not None:
                raise failed from None
            raise
        # Remember the account's own id: requests for it then need no lookup (each call costs quota).
        return TokenSet(secrets={**token.secrets, "user_id": self._own[token.secrets["username"]]})

    def refresh(self, token: TokenSet) -> TokenSet:
        """OAuth2: a new access token. Password: nothing expires; check the stored sign-in
        still works (a changed password is AuthorizationRevoked) and hand it back."""
        if self.oauth:
            return oauth.refresh(self.http, self.app, self.endpoints, token)
        self._own.pop(token.secrets.get("username", ""), None)
        self._own_account(token)
        return token

    def _own_account(self, token: TokenSet) -> dict:
        data = self.api.call(
            "AccountService", "getAccountInfo", {"accountFields": ACCOUNT_FIELDS}, header=auth.header(token)
        )
        where = {"platform": PLATFORM, "endpoint": "AccountService/getAccountInfo"}
        if not data or not isinstance(data[0], dict):
            raise MalformedResponse("body.data is empty", field="body.data", **where)
        own = data[0]
        self._own[token.secrets["username"]] = str(field(own, "userId", (int, str), at="body.data.0", **where))
        return own

    # --- accounts ---
    def list_accounts(self, token: TokenSet) -> Iterator[AccountInfo]:
        """The signed-in account, then (for an account manager) every account it manages."""
        if self.oauth:
            for user_id, name, raw in oauth.accounts(self.http, self.endpoints, token):
                if user_id not in self._names:
                    self._names[user_id] = name
                    yield self._info(user_id, name, raw)
            return
        own = self._own_account(token)
        own_id = self._own[token.secrets["username"]]
        yield self._info(own_id, token.secrets["username"], own)
        for user_id, name, raw in self._managed_accounts(token):
            if user_id != own_id:
                yield self._info(user_id, name, raw)

    def _info(self, user_id: str, name: str, raw: dict) -> AccountInfo:
        state = {1: "active", 2: "active", 3: "pending", 4: "paused", 6: "paused", 7: "paused"}.get(
            raw.get("userStat", 0), "active"
        )
        return AccountInfo(
            external_id=user_id,
            name=name,
            currency=mapping.CURRENCY,
            timezone=str(mapping.PLATFORM_TZ),
            status=state,
            raw=raw,
        )

    def _managed_accounts(self, token: TokenSet) -> Iterator[tuple[str, str, dict]]:
        """MccFeedService/getUserListByMccid; an ordinary account is refused (not a manager),
        which only means it manages nobody."""
        endpoint = "MccFeedService/getUserListByMccid"
        where = {"platform": PLATFORM, "endpoint": endpoint}
        try:
            data = self.api.call(
                "MccFeedService", "getUserListByMccid", {}, header=auth.header(token), base=self.endpoints["feed"]
            )
        except PermanentError as exc:
            if isinstance(exc, MalformedResponse):
                raise
            return
        managed = self._managed.setdefault(token.secrets["username"], {})
        for n, item in enumerate(data):
            at = f"body.data.{n}"
            user_id = str(field(item, "userid", (int, str), at=at, **where))
            name = field(item, "username", str, at=at, **where)
            managed[user_id] = name
            yield user_id, name, item

    def _header(self, token: TokenSet, account: str) -> dict:
        """The request header for `account`: the sign-in itself, or a managed account as target;
        OAuth2: the account's user name with the access token."""
        if self.oauth:
            if account not in self._names:
                for _ in self.list_accounts(token):
                    pass
            if account not in self._names:
                raise AccountAccessLost(
                    f"account {account} is not among the accounts this authorization reaches; authorize it again",
                    platform=PLATFORM,
                    endpoint="oauth/getUserInfo",
                    account=account,
                )
            return auth.oauth_header(token, self._names[account])
        username = token.secrets.get("username", "")
        if token.secrets.get("user_id") and username not in self._own:
            self._own[username] = token.secrets["user_id"]
        if username not in self._own:
            self._own_account(token)
        if self._own[username] == account:
            return auth.header(token)
        if username not in self._managed:
            for _ in self._managed_accounts(token):
                pass
        target = self._managed.get(username, {}).get(account)
        if target is None:
            raise AccountAccessLost(
                f"account {account} is not managed by the signed-in account; sign in with it",
                platform=PLATFORM,
                endpoint="MccFeedService/getUserListByMccid",
                account=account,
            )
        return auth.header(token, target=target)

    # --- metadata ---
    def fetch_metadata(self, token: TokenSet, account: AccountRef, level: str) -> Iterator[Entity]:
        user = account.external_id
        if level not in self.spec.levels:
            raise PermanentError(
                f"unknown level {level!r}; one of {', '.join(self.spec.levels)}", platform=PLATFORM, account=user
            )
        header = self._header(token, user)
        if level == "account":
            data = self.api.call(
                "AccountService", "getAccountInfo", {"accountFields": ACCOUNT_FIELDS}, header=header, account=user
            )
            own = field(
                data,
                "0",
                dict,
                at="body.data",
                platform=PLATFORM,
                endpoint="AccountService/getAccountInfo",
                account=user,
            )
            info = self._info(user, header.get("target") or header.get("username") or header["userName"], own)
            yield Entity(
                level="account", external_id=user, parent_external_id=None, name=info.name, status=info.status, raw=own
            )
            return
        if level == "campaign":
            yield from self._campaigns(header, user)
        elif level == "ad_group":
            yield from self._adgroups(header, user)
        else:
            yield from self._creatives(header, user)

    def _campaigns(self, header: dict, user: str) -> Iterator[Entity]:
        where = {"platform": PLATFORM, "endpoint": "CampaignService/getCampaign", "account": user}
        # No ids: every plan of the account, in one answer (the service does not page).
        for n, item in enumerate(
            self.api.call(
                "CampaignService", "getCampaign", {"campaignFields": CAMPAIGN_FIELDS}, header=header, account=user
            )
        ):
            at = f"body.data.{n}"
            yield Entity(
                level="campaign",
                external_id=str(field(item, "campaignId", (int, str), at=at, **where)),
                parent_external_id=user,
                name=str(item.get("campaignName") or ""),
                status=mapping.status(item, mapping.CAMPAIGN_STATUS),
                raw=item,
            )

    def _batched_ids(self, entities: Iterator[Entity], size: int) -> Iterator[list[int]]:
        batch: list[int] = []
        for entity in entities:
            batch.append(int(entity.external_id))
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _adgroups(self, header: dict, user: str) -> Iterator[Entity]:
        """Units by plan-id batches (the service's own paging: up to 100 plans per call)."""
        where = {"platform": PLATFORM, "endpoint": "AdgroupService/getAdgroup", "account": user}
        for ids in self._batched_ids(self._campaigns(header, user), CAMPAIGN_BATCH):
            data = self.api.call(
                "AdgroupService",
                "getAdgroup",
                {"ids": ids, "idType": 3, "adgroupFields": ADGROUP_FIELDS},
                header=header,
                account=user,
            )
            for n, item in enumerate(data):
                at = f"body.data.{n}"
                yield Entity(
                    level="ad_group",
                    external_id=str(field(item, "adgroupId", (int, str), at=at, **where)),
                    parent_external_id=str(field(item, "campaignId", (int, str), at=at, **where)),
                    name=str(item.get("adgroupName") or ""),
                    status=mapping.status(item, mapping.ADGROUP_STATUS),
                    raw=item,
                )

    def _creatives(self, header: dict, user: str) -> Iterator[Entity]:
        where = {"platform": PLATFORM, "endpoint": "CreativeService/getCreative", "account": user}
        for ids in self._batched_ids(self._adgroups(header, user), ADGROUP_BATCH):
            data = self.api.call(
                "CreativeService",
                "getCreative",
                {"ids": ids, "idType": 5, "creativeFields": CREATIVE_FIELDS, "getTemp": 0},
                header=header,
                account=user,
            )
            for n, item in enumerate(data):
                at = f"body.data.{n}"
                yield Entity(
                    level="ad",
                    external_id=str(field(item, "creativeId", (int, str), at=at, **where)),
                    parent_external_id=str(field(item, "adgroupId", (int, str), at=at, **where)),
                    name=str(item.get("title") or ""),
                    status=mapping.status(item, mapping.CREATIVE_STATUS),
                    raw=item,
                )

    # --- reports ---
    def fetch_report(
        self, token: TokenSet, account: AccountRef, level: str, granularity: str, start: date, end: date
    ) -> Iterator[ReportRow]:
        user = account.external_id
        endpoint = "OpenApiReportService/getReportData"
        where = {"platform": PLATFORM, "endpoint": endpoint, "account": user}
        if level not in mapping.REPORT_TYPES:
            raise PermanentError(f"unknown level {level!r}; one of {', '.join(mapping.REPORT_TYPES)}", **where)
        if granularity not in ("hour", "day"):
            raise PermanentError(f"unknown granularity {granularity!r}; one of hour, day", **where)
        if end < start:
            raise PermanentError(f"end {end} is before start {start}", **where)
        header = self._header(token, user)
        tz = ZoneInfo(account.timezone or str(mapping.PLATFORM_TZ))
        id_column = mapping.ID_COLUMNS[level]
        columns = [
            "date",
            "userId",
            *([id_column] if id_column != "userId" else []),
            *mapping.CORE_METRICS,
            *mapping.EXTRA_METRICS,
        ]
        for first, last in date_chunks(start, end, 1 if granularity == "hour" else REPORT_SPAN_DAYS):
            # the documented request (model/report/getReportData.go): no account list, the
            # header's user (or target) is the account
            request = {
                "reportType": mapping.REPORT_TYPES[level],
                "timeUnit": "HOUR" if granularity == "hour" else "DAY",
                "startDate": first.isoformat(),
                "endDate": last.isoformat(),
                "columns": columns,
                "needSum": False,
            }
            for at, row in self._report_rows(header, user, request, where):
                if not isinstance(row, dict):
                    raise MalformedResponse(f"{at} should be an object", field=at, **where)
                when = stat_time(
                    row.get("date"),
                    f"{at}.date",
                    where,
                    tz=tz,
                    formats=mapping.time_formats(granularity),
                    source_tz=mapping.PLATFORM_TZ,
                )
                if not start <= when.date() <= end:
                    continue
                entity = row.get(id_column)
                if entity is None and level == "ad" and isinstance(row.get("ideaInfo"), dict):
                    entity = row["ideaInfo"].get("ideaId")
                if isinstance(entity, bool) or not isinstance(entity, (int, str)) or entity == "":
                    raise MalformedResponse(f"{at}.{id_column} is missing", field=f"{at}.{id_column}", **where)
                yield mapping.report_row(
                    row,
                    path=at,
                    level=level,
                    granularity=granularity,
                    entity_id=str(entity),
                    when=when,
                    where=where,
                )

    def _report_rows(self, header: dict, user: str, request: dict, where: dict) -> Iterator[tuple[str, Any]]:
        """getReportData page by page (startRow/rowCount), or, when the first page says the
        report has more than `async_rows` rows, the file of a createReportTask; a task the
        platform fails is read page by page."""
        start_row = 0
        while True:
            data = self.api.call(
                "OpenApiReportService",
                "getReportData",
                {**request, "startRow": start_row, "rowCount": REPORT_PAGE},
                header=header,
                account=user,
            )
            page = data[0] if data else {}  # body.data is an object {rowCount, totalRowCount, rows}
            rows = field(page, "rows", list, default=[], at="body.data", **where)
            total = field(page, "totalRowCount", int, default=0, at="body.data", **where)
            if start_row == 0 and total > self.async_rows:
                try:
                    yield from self._report_file(header, user, request)
                    return
                except async_report.TaskFailed as exc:
                    logger.warning("baidu %s: %s; reading the report page by page", user, exc)
            for n, row in enumerate(rows):
                yield f"body.data.rows.{n}", row
            start_row += len(rows)
            if not rows or start_row >= total:
                return
            del data, page, rows  # one page in memory

    def _report_file(self, header: dict, user: str, request: dict) -> Iterator[tuple[str, Any]]:
        try:
            task = async_report.create(self.api, header, user, request)
        except PermanentError as exc:  # a refused task: the pages still work
            if isinstance(exc, MalformedResponse):
                raise
            raise async_report.TaskFailed(str(exc)) from None
        status = async_report.wait(self.api, header, user, task, sleep=self.sleep)
        yield from async_report.download(self.http, status, user)
