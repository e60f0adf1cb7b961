"""TikTokConnector: TikTok API for Business (Marketing API v1.3) behind our Connector interface.

Endpoints (overridable through settings.PLATFORM_ENDPOINTS["tiktok"] or the app's endpoints):
  authorize  https://business-api.tiktok.com/portal/auth
  token      https://business-api.tiktok.com/open_api/v1.3/oauth2/access_token/
  api        https://business-api.tiktok.com/open_api/v1.3

App `extra`: `rate_limit` ([requests, seconds]) for an app with a larger QPS tier.

Reports: GET report/integrated/get/ with report_type BASIC, data_level AUCTION_*, dimensions
[<level id>, stat_time_day | stat_time_hour], metrics, start_date, end_date, page/page_size.
Ranges are cut into requests of at most 30 days (daily) and 1 day (hourly), the documented
maxima for those time dimensions. Below the advertiser, reports ask for every status
(`filtering` campaign_status / adgroup_status / ad_status IN ["STATUS_ALL"]): by default TikTok
applies STATUS_NOT_DELETE at the level, so a deleted object's spend would vanish from the
campaign/ad group/ad totals while the advertiser total keeps it (bububa/tiktok-business
model/report/integrated_get.go, DataLevel).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import AccountInfo, AccountRef, Connector, Entity, PlatformSpec, ReportRow, TokenSet
from connectors.errors import AuthorizationRevoked, MalformedResponse, PermanentError
from connectors.http import field
from connectors.primitives import classify_envelope, date_chunks, stat_time
from connectors.tiktok import auth, mapping
from connectors.tiktok.api import PLATFORM, TikTokApi, raise_for_code

SPEC = PlatformSpec(
    slug=PLATFORM,
    display_name="TikTok API for Business",
    auth_type="oauth2",
    access_token_lifetime=None,  # long-term: valid until the advertiser revokes it
    refresh_token_lifetime=None,
    supports_refresh=False,
    refresh_rotates=False,
    supports_pkce=False,
    supports_revoke=True,
    levels={"account": "advertiser", "campaign": "campaign", "ad_group": "ad group", "ad": "ad"},
    granularities=("hour", "day"),
    core_metrics=mapping.CORE_METRICS,
    extra_metrics=mapping.EXTRA_METRICS,
    report_lookback_days=7,  # conversions attributed by the default 7-day click window
    rate_limit_requests=10,  # per app; TikTok's QPS depends on the endpoint and app tier (unconfirmed default)
    rate_limit_period=1.0,
    default_endpoints={
        "authorize": "https://business-api.tiktok.com/portal/auth",
        "token": "https://business-api.tiktok.com/open_api/v1.3/oauth2/access_token/",
        "revoke": "https://business-api.tiktok.com/open_api/v1.3/oauth2/revoke_token/",
        "api": "https://business-api.tiktok.com/open_api/v1.3",
    },
    scopes=(),  # permissions are chosen on the app and by the advertiser on the consent page
    templates_dir=Path(__file__).resolve().parent / "templates",
)

# our level -> (list path, fields, id key, parent key)
METADATA = {
    "campaign": (
        "campaign/get",
        [
            "campaign_id",
            "campaign_name",
            "advertiser_id",
            "operation_status",
            "secondary_status",
            "objective_type",
            "budget",
            "budget_mode",
            "create_time",
            "modify_time",
        ],
        "campaign_id",
        None,
    ),
    "ad_group": (
        "adgroup/get",
        [
            "adgroup_id",
            "adgroup_name",
            "campaign_id",
            "operation_status",
            "secondary_status",
            "optimization_goal",
            "placement_type",
            "budget",
            "schedule_start_time",
            "schedule_end_time",
            "create_time",
            "modify_time",
        ],
        "adgroup_id",
        "campaign_id",
    ),
    "ad": (
        "ad/get",
        [
            "ad_id",
            "ad_name",
            "adgroup_id",
            "campaign_id",
            "operation_status",
            "secondary_status",
            "ad_format",
            "call_to_action",
            "landing_page_url",
            "video_id",
            "create_time",
            "modify_time",
        ],
        "ad_id",
        "adgroup_id",
    ),
}
ADVERTISER_FIELDS = [
    "advertiser_id",
    "name",
    "currency",
    "timezone",
    "display_timezone",
    "status",
    "company",
    "country",
]
INFO_BATCH = 100  # advertiser/info takes up to 100 ids
SPAN_DAYS = {"day": 30, "hour": 1}
# our level -> the report filter that includes deleted objects at that data level
STATUS_FILTER = {"campaign": "campaign_status", "ad_group": "adgroup_status", "ad": "ad_status"}
TIME = "%Y-%m-%d %H:%M:%S"  # stat_time_day / stat_time_hour, in the advertiser's zone


class TikTokConnector(Connector):
    spec = SPEC

    @property
    def api(self) -> TikTokApi:
        return TikTokApi(self.http, self.endpoints["api"])

    def _where(self, endpoint: str, account: str = "") -> dict:
        return {"platform": PLATFORM, "endpoint": endpoint, "account": account}

    # --- authorization ---
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        return auth.authorization_url(self.app, self.endpoints, state=state, redirect_uri=redirect_uri)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        return auth.exchange_code(self.http, self.app, self.endpoints, code=code)

    def refresh(self, token: TokenSet) -> TokenSet:
        raise AuthorizationRevoked(
            "TikTok Marketing API tokens are long-term and have no refresh: re-authorize the advertiser",
            platform=PLATFORM,
            endpoint="oauth2/access_token",
        )

    def revoke(self, token: TokenSet) -> None:
        auth.revoke(self.http, self.app, self.endpoints, token)

    def classify_error(self, response, where: dict[str, str]) -> None:
        classify_envelope(response, where, raise_for_code, self.http)

    # --- accounts ---
    def list_accounts(self, token: TokenSet) -> Iterator[AccountInfo]:
        """The advertisers the grant reaches (oauth2/advertiser/get), with currency and timezone."""
        endpoint = "oauth2/advertiser/get"
        where = self._where(endpoint)
        data = self.api.get(
            endpoint, {"app_id": self.app.client_id, "secret": self.app.client_secret}, token=token.access_token
        )
        ids: list[str] = []
        for n, item in enumerate(field(data, "list", list, at="data", **where)):
            ident = field(item, "advertiser_id", (str, int), at=f"data.list.{n}", **where)
            if str(ident) not in ids:
                ids.append(str(ident))
        for start in range(0, len(ids), INFO_BATCH):
            yield from self._infos(token, ids[start : start + INFO_BATCH])

    def _infos(self, token: TokenSet, ids: list[str]) -> Iterator[AccountInfo]:
        endpoint = "advertiser/info"
        where = self._where(endpoint, ids[0] if len(ids) == 1 else "")
        data = self.api.get(
            endpoint,
            {"advertiser_ids": ids, "fields": ADVERTISER_FIELDS},
            token=token.access_token,
            account=where["account"],
        )
        for n, item in enumerate(field(data, "list", list, at="data", **where)):
            at = f"data.list.{n}"
            ident = str(field(item, "advertiser_id", (str, int), at=at, **where))
            yield AccountInfo(
                external_id=ident,
                name=str(item.get("name") or ""),
                currency=field(item, "currency", str, at=at, **where),
                timezone=self._timezone(item, at, where),
                status=mapping.ADVERTISER_STATUS.get(item.get("status"), str(item.get("status")).lower()),
                raw=item,
            )

    @staticmethod
    def _timezone(item: dict, at: str, where: dict) -> str:
        # `display_timezone` is the IANA name ("America/Los_Angeles"); `timezone` may be an offset
        # name ("Etc/GMT+8"). Either works with zoneinfo (field semantics unconfirmed).
        for key in ("display_timezone", "timezone"):
            value = item.get(key)
            if isinstance(value, str) and value:
                try:
                    ZoneInfo(value)
                    return value
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        raise MalformedResponse(f"{at}.timezone is missing or not a known timezone", field=f"{at}.timezone", **where)

    # --- metadata ---
    def fetch_metadata(self, token: TokenSet, account: AccountRef, level: str) -> Iterator[Entity]:
        adv = account.external_id
        if level == "account":
            for info in self._infos(token, [adv]):
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
        path, fields, id_key, parent_key = METADATA[level]
        where = self._where(path, adv)
        for at, item in self.api.pages(
            path, {"advertiser_id": adv, "fields": fields}, token=token.access_token, account=adv
        ):
            state = mapping.status(item)
            yield Entity(
                level=level,
                external_id=str(field(item, id_key, (str, int), at=at, **where)),
                parent_external_id=str(field(item, parent_key, (str, int), at=at, **where)) if parent_key else adv,
                name=str(item.get(id_key.replace("_id", "_name")) or ""),
                status=state,
                raw=item,
                deleted=state == "deleted",
            )

    # --- reports ---
    def fetch_report(
        self, token: TokenSet, account: AccountRef, level: str, granularity: str, start: date, end: date
    ) -> Iterator[ReportRow]:
        adv = account.external_id
        path = "report/integrated/get"
        where = self._where(path, adv)
        if level not in mapping.REPORTS:
            raise PermanentError(f"unknown report level {level!r}; one of {', '.join(mapping.REPORTS)}", **where)
        if granularity not in mapping.TIME_DIMENSION:
            raise PermanentError(f"unknown granularity {granularity!r}; one of hour, day", **where)
        if end < start:
            raise PermanentError(f"end {end} is before start {start}", **where)
        data_level, id_key = mapping.REPORTS[level]
        time_key = mapping.TIME_DIMENSION[granularity]
        tz = ZoneInfo(account.timezone or "UTC")
        for first, last in date_chunks(start, end, SPAN_DAYS[granularity]):
            params = {
                "advertiser_id": adv,
                "report_type": "BASIC",
                "data_level": data_level,
                "dimensions": [id_key, time_key],
                "metrics": mapping.metrics_for(granularity),
                "start_date": first.isoformat(),
                "end_date": last.isoformat(),
            }
            if level in STATUS_FILTER:
                params["filtering"] = [
                    {"field_name": STATUS_FILTER[level], "filter_type": "IN", "filter_value": '["STATUS_ALL"]'}
                ]
            for at, row in self.api.pages(path, params, token=token.access_token, account=adv):
                dimensions = row.get("dimensions")
                if not isinstance(dimensions, dict):
                    raise MalformedResponse(f"{at}.dimensions should be an object", field=f"{at}.dimensions", **where)
                key = mapping.TIME_DIMENSION[granularity]
                when = stat_time(
                    dimensions.get(key),
                    f"{at}.dimensions.{key}",
                    where,
                    tz=tz,
                    formats=(TIME,),
                    granularity=granularity,
                )
                if not start <= when.date() <= end:
                    continue
                entity = str(field(dimensions, id_key, (str, int), at=f"{at}.dimensions", **where))
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
