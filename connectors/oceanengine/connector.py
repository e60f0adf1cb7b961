"""OceanEngineConnector: Ocean Engine (巨量引擎) Marketing API behind our Connector interface.

Endpoints (all overridable through settings.PLATFORM_ENDPOINTS["oceanengine"] or the app):
  authorize  https://open.oceanengine.com/audit/oauth.html
  token      https://api.oceanengine.com/open_api/oauth2/access_token/
  refresh    https://api.oceanengine.com/open_api/oauth2/refresh_token/
  api        https://api.oceanengine.com/open_api   (2/... = 1.0 API, v3.0/... = 2.0 API)
The official SDK (oceanengine/ad_open_sdk_go config/configuration.go) sends every path, 2/ and
v3.0/ alike, to api.oceanengine.com; ad.oceanengine.com is older and not shown to serve v3.0/.

App `extra` options: `api_versions` (default ["2.0"]: which hierarchies to read; ["2.0", "1.0"]
for an app that still has 1.0 objects and the 1.0 API permission: advertisers created after
the 1.0 retirement have only 2.0), `oauth` ("standard" / "native"), `rate_limit` ([requests,
seconds], when the platform granted the app more QPS).

Accounts of a grant (oauth2/advertiser/get, read by `account_id`/`account_name`/`account_type`;
the `advertiser_*` and `account_role` fields are deprecated and only a fallback): ADVERTISER
is imported; AGENT and CHILD_AGENT bring the advertisers they manage (agent/advertiser/select,
cursor paging, which the platform requires from 10,000 advertisers on); CUSTOMER_ADMIN and
CUSTOMER_OPERATOR (巨量引擎工作台) bring the ad accounts of the workspace
(customer_center/advertiser/list, account_source AD). Every other type (Xingtu 星图, Douyin 抖音号,
shops, Qianchuan or local-push agencies, ...) is not an ad account of this API and is skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.base import AccountInfo, AccountRef, AppConfig, Connector, Entity, PlatformSpec, ReportRow, TokenSet
from connectors.errors import MalformedResponse, PermanentError
from connectors.http import field
from connectors.oceanengine import async_report, auth, mapping, metric_config
from connectors.oceanengine.api import PLATFORM, OceanEngineApi, raise_for_code
from connectors.primitives import classify_envelope, date_chunks, numbered_pages

logger = logging.getLogger(__name__)

SPEC = PlatformSpec(
    slug=PLATFORM,
    display_name="Ocean Engine (巨量引擎)",
    auth_type="oauth2",
    access_token_lifetime=timedelta(hours=24),
    refresh_token_lifetime=timedelta(days=30),
    refresh_lead_time=timedelta(hours=2),
    supports_refresh=True,
    refresh_rotates=True,
    supports_pkce=False,
    supports_revoke=False,  # no revocation API: the advertiser cancels the grant in the UI
    levels={
        "account": "advertiser",
        "campaign": "project (2.0) / campaign 广告组 (1.0)",
        "ad_group": "ad 计划 (1.0)",
        "ad": "promotion (2.0)",
        "creative": "creative (1.0)",
    },
    granularities=("hour", "day"),
    core_metrics=mapping.CORE_METRICS,
    extra_metrics=mapping.EXTRA_METRICS,
    # Conversions are attributed back to the click/show day for several days (deep conversions
    # longer); re-fetch a week. (The exact attribution window is per conversion type.)
    report_lookback_days=7,
    # Documented per-app QPS differs by endpoint and permission level (report endpoints commonly
    # 5-20 QPS); 10/s per app is a safe default (unconfirmed), raised per app via extra.rate_limit.
    rate_limit_requests=10,
    rate_limit_period=1.0,
    default_endpoints={
        "authorize": "https://open.oceanengine.com/audit/oauth.html",
        "token": "https://api.oceanengine.com/open_api/oauth2/access_token/",
        "refresh": "https://api.oceanengine.com/open_api/oauth2/refresh_token/",
        "api": "https://api.oceanengine.com/open_api",
    },
    scopes=(),  # chosen on the app in the developer console, not per request
    templates_dir=Path(__file__).resolve().parent / "templates",
)

# (our level, api version) -> (list path, id key, name key, parent key, status key, extra params)
METADATA = {
    # Lists hide deleted objects unless asked for every status (2.0: "不传默认返回不限（不含已删除）";
    # project PROJECT_STATUS_ALL, promotion ALL in ad_open_sdk_go's models/model_{project,promotion}_list_v3_0_
    # filtering_status.go), and a deleted object's spend is still in the reports of the look-back.
    ("campaign", "2.0"): (
        "v3.0/project/list/",
        "project_id",
        "name",
        None,
        "status",
        {"filtering": {"status": "PROJECT_STATUS_ALL"}},
    ),
    ("ad", "2.0"): (
        "v3.0/promotion/list/",
        "promotion_id",
        "promotion_name",
        "project_id",
        "status",
        {"filtering": {"status": "ALL"}},
    ),
    ("campaign", "1.0"): (
        "2/campaign/get/",
        "id",
        "name",
        None,
        "status",
        {"filtering": {"status": "CAMPAIGN_STATUS_ALL"}},
    ),
    ("ad_group", "1.0"): (
        "2/ad/get/",
        "id",
        "name",
        "campaign_id",
        "status",
        {"filtering": {"status": "AD_STATUS_ALL"}},
    ),
    ("creative", "1.0"): (
        "2/creative/get/",
        "creative_id",
        "title",
        "ad_id",
        "status",
        {"filtering": {"status": "CREATIVE_STATUS_ALL"}},
    ),
}
# 2.0 custom report dimension of each level (None = the whole advertiser)
V2_REPORT_DIMENSION = {"account": None, "campaign": "cdp_project_id", "ad": "cdp_promotion_id"}
# 1.0 reports leave deleted objects out unless filtering.status asks for every status
# ("默认不获取删除…数据…传CAMPAIGN_STATUS_ALL"): their spend would be missing below the account.
V1_REPORT = {
    "campaign": ("2/report/campaign/get/", "campaign_id", "CAMPAIGN_STATUS_ALL"),
    "ad_group": ("2/report/ad/get/", "ad_id", "AD_STATUS_ALL"),
    "creative": ("2/report/creative/get/", "creative_id", "CREATIVE_STATUS_ALL"),
}
DATA_TOPIC = "BASIC_DATA"  # the custom report's topic of advertiser/project/promotion figures
CUSTOM_PAGE = 1000  # custom report page_size: 1-1000
ASYNC_REPORT_ROWS = 20_000  # 20 pages; the platform allows only 10 async tasks per advertiser a day
GRANULARITY = {"hour": "STAT_TIME_GRANULARITY_HOURLY", "day": "STAT_TIME_GRANULARITY_DAILY"}
V2_TIME_DIMENSION = {"hour": "stat_time_hour", "day": "stat_time_day"}
REPORT_SPAN_DAYS = (
    30  # documented: "时间跨度不能超过30天"; hourly requests go one day each (span limit for hourly unconfirmed)
)
ADVERTISER_FIELDS = ["id", "name", "status", "company", "role", "reason", "address"]
AD_ACCOUNT = frozenset({"ADVERTISER"})
AGENCY = frozenset({"AGENT", "CHILD_AGENT"})
WORKSPACE = frozenset({"CUSTOMER_ADMIN", "CUSTOMER_OPERATOR"})
# the deprecated account_role / advertiser_role values of grants made before account_type
LEGACY_ROLES = {
    "PLATFORM_ROLE_ADVERTISER": "ADVERTISER",
    "PLATFORM_ROLE_AGENT": "AGENT",
    "PLATFORM_ROLE_CHILD_AGENT": "CHILD_AGENT",
    "PLATFORM_ROLE_CUSTOMER_ADMIN": "CUSTOMER_ADMIN",
    "PLATFORM_ROLE_CUSTOMER_OPERATOR": "CUSTOMER_OPERATOR",
    "1": "ADVERTISER",
    "2": "CUSTOMER_ADMIN",
    "3": "AGENT",
    "4": "CHILD_AGENT",
}
AGENCY_COUNT = 100  # advertisers per agent/advertiser/select cursor page
WORKSPACE_PAGE = 100
INFO_BATCH = 100  # 2/advertiser/info takes up to 100 ids


def account_type(item: dict) -> str:
    """An oauth2/advertiser/get item's account type, from `account_type` or the deprecated roles."""
    if item.get("account_type"):
        return str(item["account_type"])
    for key in ("account_role", "advertiser_role"):
        if item.get(key) is not None:
            role = str(item[key])
            return LEGACY_ROLES.get(role, role)
    return "ADVERTISER"


class OceanEngineConnector(Connector):
    spec = SPEC
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # between async-task polls (tests pass their own)

    def __init__(self, app: AppConfig, **kwargs):
        super().__init__(app, **kwargs)
        versions = app.extra.get("api_versions") or ["2.0"]
        unknown = set(versions) - {"2.0", "1.0"}
        if unknown:
            raise ValueError(f'oceanengine app extra.api_versions: unknown {sorted(unknown)}; use "2.0" and/or "1.0"')
        self.versions = tuple(versions)
        # rows above which a custom report is read from an async task instead of page by page
        self.async_rows = int(app.extra.get("async_report_rows") or ASYNC_REPORT_ROWS)

    @property
    def api(self) -> OceanEngineApi:
        return OceanEngineApi(self.http, self.endpoints["api"])

    def _where(self, endpoint: str, account: str = "") -> dict:
        return {"platform": PLATFORM, "endpoint": endpoint, "account": account}

    # --- authorization ---
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        return auth.authorization_url(
            self.app, self.endpoints, state=state, redirect_uri=redirect_uri, scopes=self.spec.scopes
        )

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        return auth.exchange_code(self.http, self.app, self.endpoints, code=code, redirect_uri=redirect_uri)

    def refresh(self, token: TokenSet) -> TokenSet:
        return auth.refresh(self.http, self.app, self.endpoints, token)

    def classify_error(self, response, where: dict[str, str]) -> None:
        """An HTTP error status that still carries the envelope: its code is the better guide."""
        classify_envelope(response, where, raise_for_code, self.http)

    # --- accounts ---
    def list_accounts(self, token: TokenSet) -> Iterator[AccountInfo]:
        """The ad accounts of the grant, with the advertisers agencies and workspaces manage."""
        endpoint = "oauth2/advertiser/get"
        where = self._where(endpoint)
        data = self.api.call(
            "GET",
            "oauth2/advertiser/get/",
            token=token.access_token,
            endpoint=endpoint,
            params={
                "access_token": token.access_token,
                "app_id": self.app.client_id,
                "secret": self.app.client_secret,
            },
        )
        seen: set[str] = set()
        for n, item in enumerate(field(data, "list", list, at="data", **where)):
            at = f"data.list.{n}"
            if not isinstance(item, dict):
                raise MalformedResponse(f"{at} should be an object", field=at, **where)
            account_id = item.get("account_id") if item.get("account_id") is not None else item.get("advertiser_id")
            if isinstance(account_id, bool) or not isinstance(account_id, (int, str)) or account_id == "":
                raise MalformedResponse(f"{at}.account_id is missing", field=f"{at}.account_id", **where)
            account_id = str(account_id)
            kind = account_type(item)
            if item.get("is_valid") is False:  # the manager no longer manages it: nothing to fetch
                continue
            if kind in AGENCY:
                yield from self._agency_children(token, account_id, seen)
            elif kind in WORKSPACE:
                yield from self._workspace_children(token, account_id, seen)
            elif kind in AD_ACCOUNT and account_id not in seen:
                seen.add(account_id)
                name = item.get("account_name") or item.get("advertiser_name")
                if not isinstance(name, str):
                    raise MalformedResponse(f"{at}.account_name is missing", field=f"{at}.account_name", **where)
                yield self._account(account_id, name, "active", item)

    def _account(self, adv_id: str, name: str, status: str, raw: dict) -> AccountInfo:
        return AccountInfo(
            external_id=adv_id,
            name=name,
            currency=mapping.CURRENCY,
            timezone=str(mapping.PLATFORM_TZ),
            status=status,
            raw=raw,
        )

    def _agency_children(self, token: TokenSet, agency: str, seen: set[str]) -> Iterator[AccountInfo]:
        """agent/advertiser/select by cursor + count: ids only, named through advertiser/info."""
        path = "2/agent/advertiser/select/"
        endpoint = path.strip("/")
        where = self._where(endpoint, agency)
        cursor, pending = None, []
        while True:
            params = {"advertiser_id": agency, "count": AGENCY_COUNT, "cursor": cursor}
            data = self.api.call("GET", path, token=token.access_token, endpoint=endpoint, params=params)
            key = "list" if data.get("list") is not None else "advertiser_ids"
            ids = field(data, key, list, default=[], at="data", **where)
            for n, child in enumerate(ids):
                if isinstance(child, bool) or not isinstance(child, (int, str)):
                    raise MalformedResponse(f"data.{key}.{n} should be an id", field=f"data.{key}.{n}", **where)
                if str(child) not in seen:
                    seen.add(str(child))
                    pending.append(str(child))
            while len(pending) >= INFO_BATCH:
                yield from self._infos(token, pending[:INFO_BATCH])
                pending = pending[INFO_BATCH:]
            # official SDK: cursor_page_info {cursor, count, has_more, total_number}; bububa: cursor_info
            page = data.get("cursor_page_info") or data.get("cursor_info") or {}
            next_cursor = field(page, "cursor", (int, str), default=None, at="data.cursor_page_info", **where)
            has_more = field(page, "has_more", bool, default=False, at="data.cursor_page_info", **where)
            if not ids or not has_more or next_cursor in (None, cursor):
                break
            cursor = next_cursor
        if pending:
            yield from self._infos(token, pending)

    def _workspace_children(self, token: TokenSet, workspace: str, seen: set[str]) -> Iterator[AccountInfo]:
        """The ad accounts (account_source AD) of a 工作台 workspace, with their names."""
        path = "2/customer_center/advertiser/list/"
        endpoint = path.strip("/")
        where = self._where(endpoint, workspace)
        for at, item in self.api.pages(
            path,
            token=token.access_token,
            endpoint=endpoint,
            account="",
            params={"cc_account_id": workspace, "account_source": "AD"},
            page_size=WORKSPACE_PAGE,
        ):
            child = item.get("account_id") if item.get("account_id") is not None else item.get("advertiser_id")
            if isinstance(child, bool) or not isinstance(child, (int, str)) or child == "":
                raise MalformedResponse(f"{at}.account_id is missing", field=f"{at}.account_id", **where)
            if str(child) not in seen:
                seen.add(str(child))
                name = item.get("account_name") or item.get("advertiser_name") or ""
                yield self._account(str(child), str(name), "active", item)

    def _infos(self, token: TokenSet, ids: list[str], *, account: str = "") -> list[AccountInfo]:
        """2/advertiser/info for up to 100 ids: `data` is a list of advertisers."""
        endpoint = "2/advertiser/info"
        where = self._where(endpoint, account)
        data = self.api.call(
            "GET",
            "2/advertiser/info/",
            token=token.access_token,
            endpoint=endpoint,
            account=account,
            params={"advertiser_ids": [int(i) if i.isdigit() else i for i in ids], "fields": ADVERTISER_FIELDS},
            kind=list,
        )
        accounts = []
        for n, item in enumerate(data):
            at = f"data.{n}"
            if not isinstance(item, dict):
                raise MalformedResponse(f"{at} should be an object", field=at, **where)
            accounts.append(
                self._account(
                    str(field(item, "id", (int, str), at=at, **where)),
                    field(item, "name", str, at=at, **where),
                    mapping.status(item.get("status")),
                    item,
                )
            )
        return accounts

    # --- metadata ---
    def fetch_metadata(self, token: TokenSet, account: AccountRef, level: str) -> Iterator[Entity]:
        adv = account.external_id
        if level == "account":
            yield from self._advertiser(token, adv)
            return
        kinds = [(lvl, v) for (lvl, v) in METADATA if lvl == level and v in self.versions]
        if level not in self.spec.levels:
            raise PermanentError(
                f"unknown level {level!r}; one of {', '.join(self.spec.levels)}", **self._where("metadata", adv)
            )
        for _, version in kinds:
            path, id_key, name_key, parent_key, status_key, extra = METADATA[(level, version)]
            endpoint = path.strip("/")
            where = self._where(endpoint, adv)
            for at, item in self.api.pages(
                path, token=token.access_token, endpoint=endpoint, account=adv, params={"advertiser_id": adv, **extra}
            ):
                entity_id = str(field(item, id_key, (int, str), at=at, **where))
                parent = str(field(item, parent_key, (int, str), at=at, **where)) if parent_key else adv
                state = mapping.status(item.get(status_key) or item.get("opt_status"))
                yield Entity(
                    level=level,
                    external_id=entity_id,
                    parent_external_id=parent,
                    name=str(item.get(name_key) or ""),
                    status=state,
                    raw={**item, "_api_version": version},
                    deleted=state == "deleted",
                )

    def _advertiser(self, token: TokenSet, adv: str) -> Iterator[Entity]:
        infos = self._infos(token, [adv], account=adv)
        if not infos:
            raise PermanentError("the advertiser is not visible to this grant", **self._where("2/advertiser/info", adv))
        info = infos[0]
        yield Entity(
            level="account",
            external_id=info.external_id,
            parent_external_id=None,
            name=info.name,
            status=info.status,
            raw=info.raw,
        )

    # --- reports ---
    def fetch_report(
        self, token: TokenSet, account: AccountRef, level: str, granularity: str, start: date, end: date
    ) -> Iterator[ReportRow]:
        adv = account.external_id
        where = self._where("report", adv)
        if level not in self.spec.levels:
            raise PermanentError(f"unknown level {level!r}; one of {', '.join(self.spec.levels)}", **where)
        if granularity not in GRANULARITY:
            raise PermanentError(f"unknown granularity {granularity!r}; one of hour, day", **where)
        if end < start:
            raise PermanentError(f"end {end} is before start {start}", **where)
        tz = ZoneInfo(account.timezone or str(mapping.PLATFORM_TZ))
        for chunk_start, chunk_end in date_chunks(start, end, 1 if granularity == "hour" else REPORT_SPAN_DAYS):
            if level in V2_REPORT_DIMENSION and ("2.0" in self.versions or level == "account"):
                yield from self._custom_report(token, adv, level, granularity, chunk_start, chunk_end, tz, start, end)
            if level in V1_REPORT and "1.0" in self.versions:
                yield from self._v1_report(token, adv, level, granularity, chunk_start, chunk_end, tz, start, end)

    def _custom_metrics(self, token: TokenSet, adv: str, dims: list[str]) -> list[str]:
        """The metrics we want that the platform lists for the data topic and allows with `dims`."""
        listed = metric_config.listed(self.api, token.access_token, adv, DATA_TOPIC)
        wanted = [*mapping.CORE_V2, *mapping.EXTRA_V2]
        missing = [m for m in mapping.CORE_V2 if m not in listed]
        if missing:
            raise PermanentError(
                f"the custom report of {DATA_TOPIC} does not list {', '.join(missing)} for this advertiser "
                "(v3.0/report/custom/config/get); the 2.0 report cannot be mapped",
                **self._where("v3.0/report/custom/config/get", adv),
            )
        return [m for m in wanted if m in listed and not set(listed[m]) & set(dims)]

    def _custom_rows(self, token: TokenSet, adv: str, request: dict, where: dict) -> Iterator[tuple[str, dict]]:
        """The custom report's rows: page by page, or, when the first page says the report
        has more than `async_rows` rows, from an async task's file (fewer requests, one
        of the advertiser's 10 tasks a day). A task the platform fails is read page by page."""
        path, endpoint = "v3.0/report/custom/get/", "v3.0/report/custom/get"
        first: dict | None = None

        def fetch(page: int) -> dict:
            if page == 1 and first is not None:
                return first
            params = {**request, "page": page, "page_size": CUSTOM_PAGE}
            return self.api.call("GET", path, token=token.access_token, endpoint=endpoint, account=adv, params=params)

        first = fetch(1)
        total = field(first, "page_info.total_number", int, default=0, at="data", **where)
        if total > self.async_rows:
            try:
                yield from self._custom_async(token, adv, request)
                return
            except async_report.TaskFailed as exc:
                logger.warning("oceanengine %s: %s; reading the report page by page", adv, exc)
        yield from numbered_pages(fetch, list_key="rows", page_size=CUSTOM_PAGE, where=where, total_required=False)

    def _custom_async(self, token: TokenSet, adv: str, request: dict) -> Iterator[tuple[str, dict]]:
        name = f"adp{request['start_time'].replace('-', '')}{request['end_time'][5:].replace('-', '')}"
        try:
            task = async_report.create(self.api, token.access_token, adv, request, name)
        except PermanentError as exc:  # e.g. the day's 10 tasks are spent: the pages still work
            if isinstance(exc, MalformedResponse):
                raise
            raise async_report.TaskFailed(str(exc)) from None
        async_report.wait(self.api, token.access_token, adv, task, sleep=self.sleep)
        names = metric_config.field_names(self.api, token.access_token, adv, DATA_TOPIC)
        yield from async_report.download(
            self.http,
            self.endpoints["api"],
            token.access_token,
            adv,
            task,
            dimensions=request["dimensions"],
            names=names,
        )

    def _custom_report(self, token, adv, level, granularity, start, end, tz, first, last) -> Iterator[ReportRow]:
        """2.0 custom report: rows of {dimensions: {...}, metrics: {...}}."""
        where = self._where("v3.0/report/custom/get", adv)
        time_dim = V2_TIME_DIMENSION[granularity]
        entity_dim = V2_REPORT_DIMENSION[level]
        dims = [d for d in (entity_dim, time_dim) if d]
        metrics = self._custom_metrics(token, adv, dims)
        request = {
            "advertiser_id": adv,
            "dimensions": dims,
            "metrics": metrics,
            "filters": [],
            "order_by": [],
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
            "data_topic": DATA_TOPIC,
        }
        for at, row in self._custom_rows(token, adv, request, where):
            dimensions = field(row, "dimensions", dict, at=at, **where)
            values = field(row, "metrics", dict, at=at, **where)
            text = field(dimensions, time_dim, str, at=f"{at}.dimensions", **where)
            when = mapping.beijing_time(text, f"{at}.dimensions.{time_dim}", where, tz)
            if not first <= when.date() <= last:
                continue
            entity = (
                str(field(dimensions, entity_dim, (int, str), at=f"{at}.dimensions", **where)) if entity_dim else adv
            )
            yield mapping.report_row(
                values,
                path=f"{at}.metrics",
                level=level,
                granularity=granularity,
                entity_id=entity,
                when=when,
                core=mapping.CORE_V2,
                skip=frozenset(),
                where=where,
            )

    def _v1_report(self, token, adv, level, granularity, start, end, tz, first, last) -> Iterator[ReportRow]:
        path, id_key, all_statuses = V1_REPORT[level]
        endpoint = path.strip("/")
        where = self._where(endpoint, adv)
        skip = frozenset(
            {
                "stat_datetime",
                "advertiser_id",
                "campaign_id",
                "ad_id",
                "creative_id",
                "campaign_name",
                "ad_name",
                "creative_name",
                "inventory",
                "pricing",
                "image_mode",
                "landing_type",
                "external_action",
            }
        )
        for at, row in self.api.pages(
            path,
            token=token.access_token,
            endpoint=endpoint,
            account=adv,
            page_size=1000,
            params={
                "advertiser_id": adv,
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "time_granularity": GRANULARITY[granularity],
                "group_by": ["STAT_GROUP_BY_FIELD_ID", "STAT_GROUP_BY_FIELD_STAT_TIME"],
                "filtering": {"status": all_statuses},
            },
        ):
            text = field(row, "stat_datetime", str, at=at, **where)
            when = mapping.beijing_time(text, f"{at}.stat_datetime", where, tz)
            if not first <= when.date() <= last:
                continue
            entity = str(field(row, id_key, (int, str), at=at, **where))
            yield mapping.report_row(
                row,
                path=at,
                level=level,
                granularity=granularity,
                entity_id=entity,
                when=when,
                core=mapping.CORE_V1,
                skip=skip,
                where=where,
            )
