"""GoogleAdsConnector: the Google Ads API behind our Connector interface.

Endpoints (overridable through settings.PLATFORM_ENDPOINTS["google_ads"] or the app's endpoints):
  authorize  https://accounts.google.com/o/oauth2/v2/auth
  token      https://oauth2.googleapis.com/token
  revoke     https://oauth2.googleapis.com/revoke
  api        https://googleads.googleapis.com/v24

App `extra`: `developer_token` (required: API Center of the manager account), `login_customer_ids`
({client id: manager id}: overrides what authorization found, rarely needed), `login_customer_id`
(one manager for every account that has none recorded), `extra_metrics` (more GAQL metric names to
keep), `scopes`, `rate_limit` ([requests, seconds]).

Accounts: `customers:listAccessibleCustomers` gives the customers the user can reach directly;
each is read with a `FROM customer` query (login-customer-id = itself), and a manager's client
accounts come from `FROM customer_client` (every level below it, `status = 'ENABLED'` only:
cancelled, suspended and closed clients answer every query with CUSTOMER_NOT_ENABLED). A client
found under a manager records that manager in `raw["login_customer_id"]`; the AdAccount keeps
it and every fetch of the client sends it as `login-customer-id` (Google's access model: a user
who reaches a client through a manager must name the manager, or the call is refused with
USER_PERMISSION_DENIED). Accounts that cannot be queried at discovery are skipped, not fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.base import AccountInfo, AccountRef, Connector, Entity, PlatformSpec, ReportRow, TokenSet
from connectors.errors import AccountAccessLost, MalformedResponse, PermanentError
from connectors.google_ads import auth, mapping
from connectors.google_ads.api import API_VERSION, PLATFORM, GoogleAdsApi, raise_for_status
from connectors.primitives import hour_of, stat_time

logger = logging.getLogger(__name__)

SPEC = PlatformSpec(
    slug=PLATFORM,
    display_name="Google Ads",
    auth_type="oauth2",
    access_token_lifetime=timedelta(hours=1),
    refresh_token_lifetime=None,  # until revoked (or 6 months unused; 7 days for "Testing" consent screens)
    refresh_lead_time=timedelta(minutes=5),
    supports_refresh=True,
    refresh_rotates=False,
    supports_pkce=True,
    supports_revoke=True,
    levels={"account": "customer", "campaign": "campaign", "ad_group": "ad group", "ad": "ad group ad"},
    granularities=("hour", "day"),
    core_metrics=mapping.CORE_METRICS,
    extra_metrics=mapping.EXTRA_METRICS,
    report_lookback_days=14,  # conversions are attributed back over the conversion window (Airbyte: 14 days)
    # Documented limits are operations per day per developer token (basic access: 15,000) plus
    # undisclosed per-customer QPS; this pace and RESOURCE_EXHAUSTED's retryDelay keep us under them.
    rate_limit_requests=10,
    rate_limit_period=1.0,
    default_endpoints={
        "authorize": "https://accounts.google.com/o/oauth2/v2/auth",
        "token": "https://oauth2.googleapis.com/token",
        "revoke": "https://oauth2.googleapis.com/revoke",
        "api": f"https://googleads.googleapis.com/{API_VERSION}",
    },
    scopes=(auth.SCOPE,),
    templates_dir=Path(__file__).resolve().parent / "templates",
)


class GoogleAdsConnector(Connector):
    spec = SPEC

    def api(self, token: TokenSet) -> GoogleAdsApi:
        return GoogleAdsApi(
            self.http,
            self.endpoints["api"],
            access_token=token.access_token,
            developer_token=str(self.app.extra.get("developer_token") or ""),
            login_customer_id=str(self.app.extra.get("login_customer_id") or "").replace("-", ""),
        )

    def login_for(self, account: AccountRef) -> str | None:
        """The login-customer-id for `account`: the app's per-client map if it names it (an
        operator's override), else the manager found above it at authorization (its `raw`),
        else None (the app's `login_customer_id`, or none for a customer the user reaches directly)."""
        cid = account.external_id.replace("-", "")
        per_client = self.app.extra.get("login_customer_ids") or {}
        manager = per_client.get(cid) if isinstance(per_client, dict) else None
        manager = manager or (account.raw or {}).get("login_customer_id")
        return str(manager).replace("-", "") if manager else None

    def _where(self, endpoint: str, account: str = "") -> dict:
        return {"platform": PLATFORM, "endpoint": endpoint, "account": account}

    # --- authorization ---
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        return auth.authorization_url(
            self.app, self.endpoints, state=state, redirect_uri=redirect_uri, code_challenge=code_challenge
        )

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        return auth.exchange_code(
            self.http, self.app, self.endpoints, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )

    def refresh(self, token: TokenSet) -> TokenSet:
        return auth.refresh(self.http, self.app, self.endpoints, token)

    def revoke(self, token: TokenSet) -> None:
        auth.revoke(self.http, self.app, self.endpoints, token)

    def classify_error(self, response, where: dict[str, str]) -> None:
        try:
            body = response.json()
        except ValueError:
            return
        if isinstance(body, list) and body and isinstance(body[0], dict):  # searchStream wraps errors in the array
            body = body[0]
        try:
            raise_for_status(body, where, http_status=response.status_code)
        except Exception as exc:
            retry_after = getattr(exc, "retry_after", None)
            if retry_after and self.http.rate:
                self.http.limiter.pause(self.http.bucket, min(retry_after, 3600.0))
            raise

    # --- accounts ---
    def list_accounts(self, token: TokenSet) -> Iterator[AccountInfo]:
        api = self.api(token)
        seen: set[str] = set()
        for customer_id in api.list_accessible():
            try:
                rows = list(api.search_stream(customer_id, mapping.ACCOUNT_QUERY, login_customer_id=customer_id))
            except MalformedResponse:
                raise
            except (PermanentError, AccountAccessLost) as exc:  # cancelled or unreachable: the others still count
                logger.info("google_ads: skipping customer %s: %s", customer_id, exc)
                continue
            for at, row in rows:
                customer = row.get("customer") if isinstance(row.get("customer"), dict) else {}
                if customer.get("manager"):
                    for c_at, client in api.search_stream(
                        customer_id, mapping.CLIENTS_QUERY, login_customer_id=customer_id
                    ):
                        info = self._info(
                            client.get("customerClient"), f"{c_at}.customerClient", customer_id, manager=customer_id
                        )
                        if info.external_id not in seen:
                            seen.add(info.external_id)
                            yield info
                else:
                    info = self._info(customer, f"{at}.customer", customer_id)
                    if info.external_id not in seen:
                        seen.add(info.external_id)
                        yield info

    def _info(self, obj, at: str, customer_id: str, manager: str = "") -> AccountInfo:
        where = self._where("googleAds:searchStream", customer_id)
        if not isinstance(obj, dict):
            raise MalformedResponse(f"{at} should be an object", field=at, **where)
        for key in ("id", "currencyCode", "timeZone"):
            if not isinstance(obj.get(key), str) or not obj[key]:
                raise MalformedResponse(f"{at}.{key} is missing", field=f"{at}.{key}", **where)
        try:
            ZoneInfo(obj["timeZone"])
        except Exception:
            raise MalformedResponse(f"{at}.timeZone is not a known timezone", field=f"{at}.timeZone", **where) from None
        raw = {**obj, **({"login_customer_id": manager} if manager else {})}
        return AccountInfo(
            external_id=obj["id"],
            name=str(obj.get("descriptiveName") or ""),
            currency=obj["currencyCode"],
            timezone=obj["timeZone"],
            status=mapping.status(obj),
            raw=raw,
        )

    # --- metadata ---
    def fetch_metadata(self, token: TokenSet, account: AccountRef, level: str) -> Iterator[Entity]:
        cid = account.external_id.replace("-", "")
        api = self.api(token)
        where = self._where("googleAds:searchStream", cid)
        if level == "account":
            for at, row in api.search_stream(cid, mapping.ACCOUNT_QUERY, login_customer_id=self.login_for(account)):
                info = self._info(row.get("customer"), f"{at}.customer", cid)
                yield Entity(
                    level="account",
                    external_id=cid,
                    parent_external_id=None,
                    name=info.name,
                    status=info.status,
                    raw=row,
                )
            return
        if level not in mapping.METADATA:
            raise PermanentError(f"unknown level {level!r}; one of {', '.join(self.spec.levels)}", **where)
        _, key, _, parent = mapping.METADATA[level]
        for at, row in api.search_stream(cid, mapping.metadata_query(level), login_customer_id=self.login_for(account)):
            obj = row.get(key)
            if not isinstance(obj, dict):
                raise MalformedResponse(f"{at}.{key} is missing", field=f"{at}.{key}", **where)
            ident = obj.get("ad", {}).get("id") if level == "ad" else obj.get("id")
            if not isinstance(ident, str) or not ident:
                path = f"{at}.{key}.ad.id" if level == "ad" else f"{at}.{key}.id"
                raise MalformedResponse(f"{path} is missing", field=path, **where)
            parent_id = mapping.dig(row, parent) if parent else cid
            if not isinstance(parent_id, str) or not parent_id:
                path = f"{at}.{'.'.join(parent)}"
                raise MalformedResponse(f"{path} is missing", field=path, **where)
            state = mapping.status(obj)
            name = obj.get("ad", {}).get("name", "") if level == "ad" else obj.get("name", "")
            yield Entity(
                level=level,
                external_id=ident,
                parent_external_id=parent_id,
                name=str(name or ""),
                status=state,
                raw=row,
                deleted=state == "removed",
            )

    # --- reports ---
    def fetch_report(
        self, token: TokenSet, account: AccountRef, level: str, granularity: str, start: date, end: date
    ) -> Iterator[ReportRow]:
        cid = account.external_id.replace("-", "")
        where = self._where("googleAds:searchStream", cid)
        if level not in mapping.REPORTS:
            raise PermanentError(f"unknown report level {level!r}; one of {', '.join(mapping.REPORTS)}", **where)
        if granularity not in ("hour", "day"):
            raise PermanentError(f"unknown granularity {granularity!r}; one of hour, day", **where)
        if end < start:
            raise PermanentError(f"end {end} is before start {start}", **where)
        extra = tuple(str(m) for m in self.app.extra.get("extra_metrics") or ())
        query = mapping.report_query(level, granularity, start, end, extra)
        tz = ZoneInfo(account.timezone or "UTC")
        id_path = mapping.REPORTS[level][2]
        for at, row in self.api(token).search_stream(cid, query, login_customer_id=self.login_for(account)):
            entity = mapping.dig(row, id_path)
            if not isinstance(entity, str) or not entity:
                path = f"{at}.{'.'.join(id_path)}"
                raise MalformedResponse(f"{path} is missing", field=path, **where)
            segments = row.get("segments") if isinstance(row.get("segments"), dict) else {}
            # proto3 JSON omits zeros, hour 0 included
            hour = hour_of(segments.get("hour", 0), f"{at}.segments.hour", where) if granularity == "hour" else None
            when = stat_time(segments.get("date"), f"{at}.segments.date", where, tz=tz, hour=hour)
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
