"""KuaishouConnector: the Kuaishou (磁力引擎) Marketing API behind our Connector interface.

Endpoints (overridable through settings.PLATFORM_ENDPOINTS["kuaishou"] or the app):
  authorize  https://developers.e.kuaishou.com/tools/authorize
  token      https://ad.e.kuaishou.com/rest/openapi/oauth2/authorize/access_token
  refresh    https://ad.e.kuaishou.com/rest/openapi/oauth2/authorize/refresh_token
  api        https://ad.e.kuaishou.com/rest/openapi

App `extra`: `scopes` (default ad_query, report_service, account_service), `agent: true` for an
agency authorization, `oauth` ("standard" / "native"), `rate_limit` ([requests, seconds]).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.base import AccountInfo, AccountRef, Connector, Entity, PlatformSpec, ReportRow, TokenSet
from connectors.errors import MalformedResponse, PermanentError
from connectors.http import field
from connectors.kuaishou import auth, mapping
from connectors.kuaishou.api import PLATFORM, REPORT_PAGE_SIZE, KuaishouApi, raise_for_code
from connectors.primitives import classify_envelope, date_chunks, hour_of, stat_time

SPEC = PlatformSpec(
    slug=PLATFORM,
    display_name="Kuaishou (磁力引擎)",
    auth_type="oauth2",
    access_token_lifetime=timedelta(hours=24),
    refresh_token_lifetime=timedelta(days=30),
    refresh_lead_time=timedelta(hours=2),
    supports_refresh=True,
    refresh_rotates=True,
    supports_pkce=False,
    supports_revoke=False,
    levels={
        "account": "advertiser",
        "campaign": "campaign 广告计划",
        "ad_group": "unit 广告组",
        "ad": "creative 创意 and programmatic creative 2.0 程序化创意",
    },
    granularities=("hour", "day"),
    core_metrics=mapping.CORE_METRICS,
    extra_metrics=mapping.EXTRA_METRICS,
    report_lookback_days=7,  # conversions reported by callback time keep arriving for days
    rate_limit_requests=10,  # per app; documented QPS varies by endpoint (unconfirmed default)
    rate_limit_period=1.0,
    default_endpoints={
        "authorize": "https://developers.e.kuaishou.com/tools/authorize",
        "token": "https://ad.e.kuaishou.com/rest/openapi/oauth2/authorize/access_token",
        "refresh": "https://ad.e.kuaishou.com/rest/openapi/oauth2/authorize/refresh_token",
        "api": "https://ad.e.kuaishou.com/rest/openapi",
    },
    scopes=auth.DEFAULT_SCOPES,
    templates_dir=Path(__file__).resolve().parent / "templates",
)

PROGRAM_LIST = "v2/creative/advanced/program/list"
PROGRAM_REPORT = "v1/report/program_creative_report"
# our level -> [(list path, id key, name key, parent key)]. The ad level is two lists: custom
# creatives and programmatic creatives 2.0 (one package per unit, named by its unit).
METADATA: dict[str, list[tuple[str, str, str, str | None]]] = {
    "campaign": [("v1/campaign/list", "campaign_id", "campaign_name", None)],
    "ad_group": [("v1/ad_unit/list", "unit_id", "unit_name", "campaign_id")],
    "ad": [
        ("v1/creative/list", "creative_id", "creative_name", "unit_id"),
        (PROGRAM_LIST, "unit_id", "package_name", "unit_id"),
    ],
}
# our level -> [(report path, id key)]
REPORTS: dict[str, list[tuple[str, str | None]]] = {
    "account": [("v1/report/account_report", None)],
    "campaign": [("v1/report/campaign_report", "campaign_id")],
    "ad_group": [("v1/report/unit_report", "unit_id")],
    "ad": [("v1/report/creative_report", "creative_id"), (PROGRAM_REPORT, "unit_id")],
}
GRANULARITY = {"hour": "HOURLY", "day": "DAILY"}
DAILY_SPAN_DAYS = 30  # one request covers at most a month of days; hourly: one day (unconfirmed limits)
ALL_INCLUDING_DELETED = -2  # list filter: every status, deleted ones too


class KuaishouConnector(Connector):
    spec = SPEC

    @property
    def api(self) -> KuaishouApi:
        return KuaishouApi(self.http, self.endpoints["api"])

    def _where(self, endpoint: str, account: str = "") -> dict:
        return {"platform": PLATFORM, "endpoint": endpoint, "account": account}

    # --- authorization ---
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        return auth.authorization_url(self.app, self.endpoints, state=state, redirect_uri=redirect_uri)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        return auth.exchange_code(self.http, self.app, self.endpoints, code=code, redirect_uri=redirect_uri)

    def refresh(self, token: TokenSet) -> TokenSet:
        return auth.refresh(self.http, self.app, self.endpoints, token)

    def classify_error(self, response, where: dict[str, str]) -> None:
        classify_envelope(response, where, raise_for_code, self.http)

    # --- accounts ---
    def list_accounts(self, token: TokenSet) -> Iterator[AccountInfo]:
        """The advertisers of the grant (approval list: agency grants reach many), with names."""
        endpoint = "oauth2/authorize/approval/list"
        where = self._where(endpoint)
        page, seen = 1, set()
        while True:
            data = self.api.post(
                endpoint,
                {
                    "app_id": auth._app_id(self.app),
                    "secret": self.app.client_secret,
                    "access_token": token.access_token,
                    "page_no": page,
                    "page_size": 1000,
                },
                endpoint=endpoint,
            )
            ids = field(data, "details", list, default=[], at="data", **where)
            for n, adv in enumerate(ids):
                if isinstance(adv, bool) or not isinstance(adv, (int, str)):
                    raise MalformedResponse(
                        f"data.details.{n} should be an advertiser id", field=f"data.details.{n}", **where
                    )
                if str(adv) not in seen:
                    seen.add(str(adv))
                    yield self._info(token, str(adv))
            if field(data, "isEnd", bool, default=True, at="data", **where) or not ids:
                return
            page += 1

    def _info(self, token: TokenSet, adv: str) -> AccountInfo:
        endpoint = "v1/advertiser/info"
        where = self._where(endpoint, adv)
        data = self.api.post(
            endpoint, {"advertiser_id": int(adv) if adv.isdigit() else adv}, token=token.access_token, account=adv
        )
        name = data.get("user_name") or data.get("corporation_name")
        if not isinstance(name, str):
            raise MalformedResponse("data.user_name is missing", field="data.user_name", **where)
        return AccountInfo(
            external_id=adv,
            name=name,
            currency=mapping.CURRENCY,
            timezone=str(mapping.PLATFORM_TZ),
            status="active",
            raw=data,
        )

    # --- metadata ---
    def fetch_metadata(self, token: TokenSet, account: AccountRef, level: str) -> Iterator[Entity]:
        adv = account.external_id
        if level == "account":
            info = self._info(token, adv)
            yield Entity(
                level="account",
                external_id=adv,
                parent_external_id=None,
                name=info.name,
                status=info.status,
                raw=info.raw,
            )
            return
        if level not in METADATA:
            raise PermanentError(
                f"unknown level {level!r}; one of {', '.join(self.spec.levels)}", **self._where("metadata", adv)
            )
        body = {"advertiser_id": int(adv) if adv.isdigit() else adv, "status": ALL_INCLUDING_DELETED}
        for path, id_key, name_key, parent_key in METADATA[level]:
            where = self._where(path, adv)
            for at, item in self.api.pages(path, body, token=token.access_token, account=adv):
                state = mapping.status(item)
                entity_id = str(field(item, id_key, (int, str), at=at, **where))
                yield Entity(
                    level=level,
                    external_id=mapping.program_id(entity_id) if path == PROGRAM_LIST else entity_id,
                    parent_external_id=str(field(item, parent_key, (int, str), at=at, **where)) if parent_key else adv,
                    name=str(item.get(name_key) or ""),
                    status=state,
                    raw=item,
                    deleted=state == "deleted",
                )

    # --- reports ---
    def fetch_report(
        self, token: TokenSet, account: AccountRef, level: str, granularity: str, start: date, end: date
    ) -> Iterator[ReportRow]:
        adv = account.external_id
        where = self._where("report", adv)
        if level not in REPORTS:
            raise PermanentError(f"unknown level {level!r}; one of {', '.join(REPORTS)}", **where)
        if granularity not in GRANULARITY:
            raise PermanentError(f"unknown granularity {granularity!r}; one of hour, day", **where)
        if end < start:
            raise PermanentError(f"end {end} is before start {start}", **where)
        tz = ZoneInfo(account.timezone or str(mapping.PLATFORM_TZ))
        for first, last in date_chunks(start, end, 1 if granularity == "hour" else DAILY_SPAN_DAYS):
            body = {
                "advertiser_id": int(adv) if adv.isdigit() else adv,
                "start_date": first.isoformat(),
                "end_date": last.isoformat(),
                "temporal_granularity": GRANULARITY[granularity],
            }
            for path, id_key in REPORTS[level]:
                where = self._where(path, adv)
                for at, row in self.api.pages(
                    path, body, token=token.access_token, account=adv, page_size=REPORT_PAGE_SIZE
                ):
                    hour = hour_of(row.get("stat_hour"), f"{at}.stat_hour", where) if granularity == "hour" else None
                    when = stat_time(
                        row.get("stat_date"), f"{at}.stat_date", where, tz=tz, source_tz=mapping.PLATFORM_TZ, hour=hour
                    )
                    if not start <= when.date() <= end:
                        continue
                    entity = str(field(row, id_key, (int, str), at=at, **where)) if id_key else adv
                    if path == PROGRAM_REPORT:
                        entity = mapping.program_id(entity)
                    yield mapping.report_row(
                        row, path=at, level=level, granularity=granularity, entity_id=entity, when=when, where=where
                    )
