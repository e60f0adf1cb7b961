"""OceanEngineConnector: Ocean Engine (巨量引擎) Marketing API behind our Connector interface.

Endpoints (all overridable through settings.PLATFORM_ENDPOINTS["oceanengine"] or the app):
  authorize  https://open.oceanengine.com/audit/oauth.html
  token      https://ad.oceanengine.com/open_api/oauth2/access_token/
  refresh    https://ad.oceanengine.com/open_api/oauth2/refresh_token/
  api        https://ad.oceanengine.com/open_api   (2/... = 1.0 API, v3.0/... = 2.0 API)

App `extra` options: `api_versions` (default ["2.0", "1.0"]: which hierarchies to read; an
advertiser created after the 1.0 retirement has only 2.0), `oauth` ("standard" / "native"),
`rate_limit` ([requests, seconds], when the platform granted the app more QPS).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.base import AccountInfo, AccountRef, AppConfig, Connector, Entity, PlatformSpec, ReportRow, TokenSet
from connectors.errors import PermanentError
from connectors.http import field
from connectors.oceanengine import auth, mapping
from connectors.oceanengine.api import PLATFORM, OceanEngineApi, raise_for_code
from connectors.primitives import classify_envelope, date_chunks, stat_time

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
        "token": "https://ad.oceanengine.com/open_api/oauth2/access_token/",
        "refresh": "https://ad.oceanengine.com/open_api/oauth2/refresh_token/",
        "api": "https://ad.oceanengine.com/open_api",
    },
    scopes=(),  # chosen on the app in the developer console, not per request
    templates_dir=Path(__file__).resolve().parent / "templates",
)

# (our level, api version) -> (list path, id key, name key, parent key, status key, extra params)
METADATA = {
    ("campaign", "2.0"): ("v3.0/project/list/", "project_id", "name", None, "status", {}),
    ("ad", "2.0"): ("v3.0/promotion/list/", "promotion_id", "promotion_name", "project_id", "status", {}),
    # 1.0 lists hide deleted objects unless asked for every status.
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
V1_REPORT = {
    "campaign": ("2/report/campaign/get/", "campaign_id"),
    "ad_group": ("2/report/ad/get/", "ad_id"),
    "creative": ("2/report/creative/get/", "creative_id"),
}
GRANULARITY = {"hour": "STAT_TIME_GRANULARITY_HOURLY", "day": "STAT_TIME_GRANULARITY_DAILY"}
V2_TIME_DIMENSION = {"hour": "stat_time_hour", "day": "stat_time_day"}
REPORT_SPAN_DAYS = (
    30  # documented: "时间跨度不能超过30天"; hourly requests go one day each (span limit for hourly unconfirmed)
)
ADVERTISER_FIELDS = ["id", "name", "status", "company", "role", "reason", "address"]


class OceanEngineConnector(Connector):
    spec = SPEC

    def __init__(self, app: AppConfig, **kwargs):
        super().__init__(app, **kwargs)
        versions = app.extra.get("api_versions") or ["2.0", "1.0"]
        unknown = set(versions) - {"2.0", "1.0"}
        if unknown:
            raise ValueError(f'oceanengine app extra.api_versions: unknown {sorted(unknown)}; use "2.0" and/or "1.0"')
        self.versions = tuple(versions)

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
        """Advertisers of the grant; agencies (AGENT) and account managers (CUSTOMER_ADMIN,
        巨量引擎工作台) reach their sub-advertisers, which are listed too."""
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
            adv_id = str(field(item, "advertiser_id", (int, str), at=at, **where))
            role = str(item.get("account_role") or item.get("advertiser_role") or "ADVERTISER")
            if role in ("AGENT", "PLATFORM_ROLE_AGENT", "CHILD_AGENT", "3", "4"):
                yield from self._children(token, adv_id, seen, "2/agent/advertiser/select/")
            elif role in ("CUSTOMER_ADMIN", "PLATFORM_ROLE_CUSTOMER_ADMIN", "2"):
                yield from self._children(token, adv_id, seen, "2/majordomo/advertiser/select/")
            elif adv_id not in seen and item.get("is_valid", True):
                seen.add(adv_id)
                yield self._account(adv_id, field(item, "advertiser_name", str, at=at, **where), "active", item)

    def _account(self, adv_id: str, name: str, status: str, raw: dict) -> AccountInfo:
        return AccountInfo(
            external_id=adv_id,
            name=name,
            currency=mapping.CURRENCY,
            timezone=str(mapping.PLATFORM_TZ),
            status=status,
            raw=raw,
        )

    def _children(self, token: TokenSet, parent: str, seen: set[str], path: str) -> Iterator[AccountInfo]:
        endpoint = path.strip("/")
        where = self._where(endpoint, parent)
        ids: list[str] = []
        for at, item in self._pages_or_list(token, path, parent):
            # agent select lists bare ids; majordomo select lists {advertiser_id, advertiser_name}
            if isinstance(item, dict):
                child = str(field(item, "advertiser_id", (int, str), at=at, **where))
                if child not in seen:
                    seen.add(child)
                    yield self._account(child, str(item.get("advertiser_name") or ""), "active", item)
            else:
                child = str(item)
                if child not in seen:
                    seen.add(child)
                    ids.append(child)
            if len(ids) >= 100:
                yield from self._infos(token, ids)
                ids = []
        if ids:
            yield from self._infos(token, ids)

    def _pages_or_list(self, token: TokenSet, path: str, parent: str):
        return self.api.pages(
            path,
            token=token.access_token,
            endpoint=path.strip("/"),
            account=parent,
            params={"advertiser_id": parent},
            kinds=(dict, int, str),
        )

    def _infos(self, token: TokenSet, ids: list[str]) -> Iterator[AccountInfo]:
        endpoint = "2/advertiser/info"
        where = self._where(endpoint)
        data = self.api.call(
            "GET",
            "2/advertiser/info/",
            token=token.access_token,
            endpoint=endpoint,
            params={"advertiser_ids": [int(i) if i.isdigit() else i for i in ids], "fields": ADVERTISER_FIELDS},
        )
        for n, item in enumerate(field(data, "list", list, at="data", **where)):
            at = f"data.list.{n}"
            yield self._account(
                str(field(item, "id", (int, str), at=at, **where)),
                field(item, "name", str, at=at, **where),
                mapping.status(item.get("status")),
                item,
            )

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
        endpoint = "2/advertiser/info"
        where = self._where(endpoint, adv)
        data = self.api.call(
            "GET",
            "2/advertiser/info/",
            token=token.access_token,
            endpoint=endpoint,
            account=adv,
            params={"advertiser_ids": [int(adv) if adv.isdigit() else adv], "fields": ADVERTISER_FIELDS},
        )
        items = field(data, "list", list, at="data", **where)
        if not items:
            raise PermanentError("the advertiser is not visible to this grant", **where)
        item = items[0]
        state = mapping.status(field(item, "status", str, at="data.list.0", default="", **where))
        yield Entity(
            level="account",
            external_id=str(field(item, "id", (int, str), at="data.list.0", **where)),
            parent_external_id=None,
            name=field(item, "name", str, at="data.list.0", **where),
            status=state,
            raw=item,
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

    def _custom_report(self, token, adv, level, granularity, start, end, tz, first, last) -> Iterator[ReportRow]:
        """2.0 custom report: rows of {dimensions: {...}, metrics: {...}}."""
        path, endpoint = "v3.0/report/custom/get/", "v3.0/report/custom/get"
        where = self._where(endpoint, adv)
        time_dim = V2_TIME_DIMENSION[granularity]
        entity_dim = V2_REPORT_DIMENSION[level]
        dims = [d for d in (entity_dim, time_dim) if d]
        metrics = list(mapping.CORE_V2) + list(mapping.EXTRA_V2)
        for at, row in self.api.pages(
            path,
            token=token.access_token,
            endpoint=endpoint,
            account=adv,
            list_key="rows",
            page_size=1000,
            params={
                "advertiser_id": adv,
                "dimensions": dims,
                "metrics": metrics,
                "filters": [],
                "order_by": [],
                "start_time": start.isoformat(),
                "end_time": end.isoformat(),
            },
        ):
            dimensions = field(row, "dimensions", dict, at=at, **where)
            values = field(row, "metrics", dict, at=at, **where)
            when = stat_time(
                field(dimensions, time_dim, str, at=f"{at}.dimensions", **where),
                f"{at}.dimensions.{time_dim}",
                where,
                tz=tz,
                formats=mapping.TIME_FORMATS,
                source_tz=mapping.PLATFORM_TZ,
            )
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
        path, id_key = V1_REPORT[level]
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
            },
        ):
            when = stat_time(
                field(row, "stat_datetime", str, at=at, **where),
                f"{at}.stat_datetime",
                where,
                tz=tz,
                formats=mapping.TIME_FORMATS,
                source_tz=mapping.PLATFORM_TZ,
            )
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
