"""Ocean Engine connector on recorded responses in the documented shapes (`responses`), the
shared contract, and the OAuth2 flows against the sandbox's standards-compliant server.

`FakePlatform` (also used by the Kuaishou and Baidu tests) serves recordings from
tests/connectors/recordings/<platform>/*.json: each entry names method, path, an optional
subset of query parameters (`query`) and of the JSON body (`json`) it answers, and the body.
Faults queued with `fail_next` answer the next matching request instead.

Sources of the recorded shapes:
- oceanengine/ad_open_sdk_go @9283cb7a (generated from Ocean Engine's spec):
  `models/model_oauth2_advertiser_get_response_data_list_inner.go` (account_id, account_name,
  account_type; advertiser_id/advertiser_name/account_role/advertiser_role marked 废弃) and
  `models/model_oauth2_advertiser_get_data_list_account_type.go` (the account types);
  `models/model_advertiser_info_v2_response.go` (`Data []*AdvertiserInfoV2ResponseData`: a list);
  `api/api_agent_advertiser_select_v2.go`, `models/model_agent_advertiser_select_v2_response_data*.go`
  (cursor + count, `cursor_page_info` {cursor, count, has_more, total_number});
  `api/api_customer_center_advertiser_list_v2.go`, `models/model_customer_center_advertiser_list_v2_*.go`
  (cc_account_id, account_source AD, list of {account_id (string), account_name, ...}, page_info);
  `api/api_report_custom_config_get_v30.go`, `models/model_report_custom_config_get_v3_0_*.go`
  (advertiser_id, data_topics; list of {data_topic, dimensions, metrics[{field, name, description,
  exclusion_dims}]}); `api/api_report_custom_get_v30.go` (data_topic);
  `models/model_project_list_v3_0_filtering_status.go` (PROJECT_STATUS_ALL),
  `models/model_promotion_list_v3_0_filtering_status.go` (ALL: every status, deleted included);
  `api/api_report_custom_async_task_{create,get,download}_v30.go` and
  `models/model_report_custom_async_task_*_v3_0_*.go` (task_id, task_status, the file as bytes).
- bububa/oceanengine @e3ac8d5: `marketing-api/api/report/campaign_get.go`, `ad_get.go` ("默认不获取删除…
  在filtering中设置status，传…_STATUS_ALL"), `marketing-api/model/report/get_request.go` (filtering.status,
  a CreativeStatus for creatives), `marketing-api/model/agent/advertiser_select.go` ("cursor+count适用于获取
  数据记录数≥10000的场景").
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from connectors.base import AccountRef, AppConfig, TokenSet
from connectors.errors import (
    AccountAccessLost,
    AuthorizationFailed,
    AuthorizationRevoked,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.http import HTTP_RETRIES, LocalRateLimiter
from connectors.oceanengine import metric_config
from connectors.oceanengine.connector import OceanEngineConnector, account_type
from tests.connectors.contract import ConnectorContract, Faults

RECORDINGS = Path(__file__).parent / "recordings"
ADV = "1760000000000001"
DAY = date(2024, 5, 1)
TIMEOUT = "<read timeout>"  # fail_next(TIMEOUT): the request times out


def _subset(expected: dict, actual: dict) -> bool:
    return all(
        k in actual
        and (actual[k] == v if not isinstance(v, dict) else isinstance(actual[k], dict) and _subset(v, actual[k]))
        for k, v in expected.items()
    )


class FakePlatform:
    """Recorded answers of one platform behind `responses`, with queued faults and a request log.
    An entry matches on method, path and the subsets of query, JSON body, form and headers it
    names; the first matching entry answers."""

    def __init__(self, mock: responses.RequestsMock, platform: str, host: str):
        self.entries: list[dict] = []
        for path in sorted((RECORDINGS / platform).glob("*.json")):
            data = json.loads(path.read_text())
            if isinstance(data, list):
                self.entries.extend(data)
        self.errors = json.loads((RECORDINGS / platform / "errors.json").read_text())
        self.faults: list[tuple[str, int, dict | str, dict]] = []
        self.log: list[dict] = []
        for method in ("GET", "POST"):
            mock.add_callback(method, re.compile(re.escape(host) + r".*"), callback=self._answer)

    def fail_next(self, body, *, path: str = "", status: int = 200, headers: dict | None = None, times: int = 1):
        """The next `times` requests whose path contains `path` get this answer (a GET that
        fails on HTTP status is retried inside the request: give it 1 + HTTP_RETRIES)."""
        for _ in range(times):
            self.faults.append(
                (
                    path,
                    status,
                    self.errors[body] if isinstance(body, str) and body in self.errors else body,
                    headers or {},
                )
            )

    def _answer(self, request):
        parts = urlsplit(request.url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = request.body
        if isinstance(body, bytes):
            body = body.decode()
        form = {}
        payload = {}
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                form = {k: v[-1] for k, v in parse_qs(body).items()}
        self.log.append(
            {
                "method": request.method,
                "path": parts.path,
                "query": query,
                "json": payload,
                "form": form,
                "headers": dict(request.headers),
            }
        )
        for n, (path, status, fault, headers) in enumerate(self.faults):
            if path in parts.path:
                del self.faults[n]
                if fault == TIMEOUT:
                    raise requests.exceptions.ReadTimeout(f"read timed out ({parts.path})")
                return (
                    status,
                    {"Content-Type": "application/json", **headers},
                    fault if isinstance(fault, str) else json.dumps(fault),
                )
        for entry in self.entries:
            if (
                entry["method"] == request.method
                and entry["path"] == parts.path
                and _subset(entry.get("query", {}), query)
                and _subset(entry.get("json", {}), payload if isinstance(payload, dict) else {})
                and _subset(entry.get("form", {}), form)
                and _subset(
                    {k.lower(): v for k, v in entry.get("headers", {}).items()},
                    {k.lower(): v for k, v in request.headers.items()},
                )
            ):
                if "text" in entry:  # a file, not JSON (an async report's download)
                    return entry.get("status", 200), {"Content-Type": entry["content_type"]}, entry["text"]
                return entry.get("status", 200), {"Content-Type": "application/json"}, json.dumps(entry["body"])
        return (
            404,
            {},
            json.dumps({"test_error": f"no recording for {request.method} {parts.path} {query} {payload or form}"}),
        )

    def calls(self, path_part: str) -> list[dict]:
        return [c for c in self.log if path_part in c["path"]]


APP = AppConfig(
    client_id="1712345678901234",
    client_secret="oe-secret",
    redirect_uri="https://ads.example.com/accounts/callback/oceanengine/",
)
TOKEN = TokenSet(access_token="oe-access-1", refresh_token="oe-refresh-1")


@pytest.fixture
def recorded():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def platform(recorded):
    return FakePlatform(recorded, "oceanengine", "https://api.oceanengine.com")


BOTH = AppConfig(
    client_id=APP.client_id,
    client_secret=APP.client_secret,
    redirect_uri=APP.redirect_uri,
    extra={"api_versions": ["2.0", "1.0"]},
)


@pytest.fixture(autouse=True)
def fresh_metric_config():
    metric_config.forget()
    yield
    metric_config.forget()


@pytest.fixture
def oe(platform):
    """An app that reads both hierarchies (the recordings hold 1.0 objects too)."""
    return OceanEngineConnector(BOTH, limiter=LocalRateLimiter())


ACCOUNT = AccountRef(external_id=ADV, timezone="Asia/Shanghai", currency="CNY")


class OceanEngineFaults(Faults):
    def __init__(self, platform):
        self.platform = platform

    def _next(self, name):
        @contextlib.contextmanager
        def arranged():
            self.platform.fail_next(name, path="/report/")
            yield

        return arranged()

    def rate_limited(self):
        return self._next("rate_limited")

    def server_error(self):
        return self._next("server_error")

    def malformed(self):
        return self._next("malformed")

    def token_expired(self):
        return self._next("token_expired")

    def revoked(self):
        return self._next("revoked")

    def slow(self):
        return self._next(TIMEOUT)


class TestOceanEngineContract(ConnectorContract):
    @pytest.fixture
    def connector(self, oe):
        return oe

    @pytest.fixture
    def token(self):
        return TOKEN

    @pytest.fixture
    def account(self):
        return ACCOUNT

    @pytest.fixture
    def report_range(self):
        return DAY, DAY

    @pytest.fixture
    def faults(self, platform):
        return OceanEngineFaults(platform)


# --- authorization ---


def test_authorization_url_is_the_platforms(oe):
    url = oe.authorization_url(state="st-1", redirect_uri=APP.redirect_uri)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://open.oceanengine.com/audit/oauth.html"
    assert parse_qs(parts.query) == {"app_id": [APP.client_id], "state": ["st-1"], "redirect_uri": [APP.redirect_uri]}


def test_exchange_code_posts_json_and_reads_the_envelope(oe, platform):
    before = datetime.now(UTC)
    token = oe.exchange_code(code="valid-auth-code", redirect_uri=APP.redirect_uri)
    sent = platform.calls("/oauth2/access_token/")[0]["json"]
    assert sent == {
        "app_id": 1712345678901234,
        "secret": "oe-secret",
        "grant_type": "auth_code",
        "auth_code": "valid-auth-code",
    }
    assert token.access_token == "oe-access-1" and token.refresh_token == "oe-refresh-1"
    assert timedelta(hours=23, minutes=59) < token.expires_at - before <= timedelta(hours=24, seconds=5)
    assert timedelta(days=29, hours=23) < token.refresh_expires_at - before <= timedelta(days=30, seconds=5)
    assert token.account_ids == (ADV, "1700000000000009")
    assert "oe-access-1" not in json.dumps(token.raw)


def test_bad_auth_code_is_authorization_failed(oe):
    with pytest.raises(AuthorizationFailed, match="40106"):
        oe.exchange_code(code="used-code", redirect_uri=APP.redirect_uri)


def test_refresh_rotates_and_keeps_the_grant_accounts(oe, platform):
    old = TokenSet(access_token="oe-access-1", refresh_token="oe-refresh-1", account_ids=(ADV,))
    fresh = oe.refresh(old)
    assert (fresh.access_token, fresh.refresh_token) == ("oe-access-2", "oe-refresh-2")
    assert fresh.account_ids == (ADV,)
    assert platform.calls("/oauth2/refresh_token/")[0]["json"]["grant_type"] == "refresh_token"
    with pytest.raises(AuthorizationRevoked, match="40107"):
        oe.refresh(TokenSet(access_token="x", refresh_token="oe-refresh-spent"))
    with pytest.raises(AuthorizationRevoked, match="no refresh token"):
        oe.refresh(TokenSet(access_token="x"))


# --- accounts and metadata ---


def test_list_accounts_expands_agency_children(oe, platform):
    accounts = list(oe.list_accounts(TOKEN))
    # the direct advertiser, the agency's advertisers, the workspace's ad account; the Xingtu account,
    # the Douyin account and the advertiser whose management ended (is_valid false) are not imported
    assert [(a.external_id, a.name, a.status) for a in accounts] == [
        (ADV, "示例科技-直客", "active"),
        ("1760000000000002", "代理子账户A", "active"),
        ("1760000000000003", "代理子账户B", "paused"),
        ("1760000000000004", "工作台广告账户", "active"),
    ]
    assert {a.currency for a in accounts} == {"CNY"} and {a.timezone for a in accounts} == {"Asia/Shanghai"}
    # cursor + count paging (required from 10,000 advertisers on): the next cursor is the answer's
    selects = platform.calls("/agent/advertiser/select/")
    assert [(c["query"].get("cursor"), c["query"]["count"]) for c in selects] == [
        (None, "100"),
        ("1760000000000001", "100"),
    ]
    assert all("page" not in c["query"] for c in selects)
    info = platform.calls("/advertiser/info/")
    assert [json.loads(c["query"]["advertiser_ids"]) for c in info] == [[1760000000000002, 1760000000000003]]
    workspace = platform.calls("/customer_center/advertiser/list/")
    assert [(c["query"]["cc_account_id"], c["query"]["account_source"]) for c in workspace] == [
        ("1800000000000077", "AD")
    ]
    assert platform.calls("/majordomo/") == []
    assert platform.calls("/oauth2/advertiser/get/")[0]["query"]["app_id"] == APP.client_id


def test_account_type_falls_back_to_the_deprecated_role():
    assert account_type({"account_type": "CUSTOMER_OPERATOR", "account_role": "ADVERTISER"}) == "CUSTOMER_OPERATOR"
    assert account_type({"account_role": "PLATFORM_ROLE_AGENT"}) == "AGENT"
    assert account_type({"advertiser_role": 2}) == "CUSTOMER_ADMIN"
    assert account_type({}) == "ADVERTISER"


def test_advertiser_info_answers_a_list(oe, platform):
    (account,) = oe.fetch_metadata(TOKEN, ACCOUNT, "account")
    assert (account.external_id, account.name, account.status) == (ADV, "示例科技-直客", "active")
    assert account.raw["company"] == "示例科技有限公司"
    platform.fail_next(
        {"code": 0, "message": "OK", "data": {"list": []}, "request_id": "r"}, path="/2/advertiser/info/"
    )
    with pytest.raises(MalformedResponse, match="data should be a list"):
        list(oe.fetch_metadata(TOKEN, ACCOUNT, "account"))


def test_metadata_maps_both_hierarchies(oe, platform):
    campaigns = {e.external_id: e for e in oe.fetch_metadata(TOKEN, ACCOUNT, "campaign")}
    assert {k: (v.raw["_api_version"], v.status, v.parent_external_id) for k, v in campaigns.items()} == {
        "7300000000000101": ("2.0", "active", ADV),
        "7300000000000102": ("2.0", "paused", ADV),
        "1690000000000011": ("1.0", "active", ADV),
    }
    ads = list(oe.fetch_metadata(TOKEN, ACCOUNT, "ad"))
    assert [(e.external_id, e.parent_external_id, e.status, e.deleted) for e in ads] == [
        ("7300000000001001", "7300000000000101", "active", False),
        ("7300000000001002", "7300000000000101", "paused", False),
        ("7300000000001003", "7300000000000102", "deleted", True),
    ]
    assert [c["query"]["page"] for c in platform.calls("/promotion/list/")] == ["1", "2"]
    # deleted 2.0 objects are listed too (their spend is in the look-back's reports)
    assert json.loads(platform.calls("/project/list/")[0]["query"]["filtering"]) == {"status": "PROJECT_STATUS_ALL"}
    assert json.loads(platform.calls("/promotion/list/")[0]["query"]["filtering"]) == {"status": "ALL"}
    groups = list(oe.fetch_metadata(TOKEN, ACCOUNT, "ad_group"))
    assert [(e.name, e.parent_external_id) for e in groups] == [
        ("1.0计划-通投", "1690000000000011"),
        ("1.0计划-定向", "1690000000000011"),
    ]
    assert json.loads(platform.calls("/2/ad/get/")[0]["query"]["filtering"]) == {"status": "AD_STATUS_ALL"}
    assert platform.calls("/2/ad/get/")[0]["headers"]["Access-Token"] == "oe-access-1"
    (creative,) = oe.fetch_metadata(TOKEN, ACCOUNT, "creative")
    assert (creative.name, creative.parent_external_id) == ("夏季新品上市", "1690000000000211")


def test_only_2_0_when_the_app_says_so(platform):
    connector = OceanEngineConnector(
        AppConfig(client_id="1", client_secret="s", extra={"api_versions": ["2.0"]}), limiter=LocalRateLimiter()
    )
    assert {e.raw["_api_version"] for e in connector.fetch_metadata(TOKEN, ACCOUNT, "campaign")} == {"2.0"}
    assert list(connector.fetch_metadata(TOKEN, ACCOUNT, "creative")) == []
    with pytest.raises(ValueError, match="api_versions"):
        OceanEngineConnector(AppConfig(client_id="1", extra={"api_versions": ["3.0"]}))


# --- reports ---


def test_daily_custom_report_maps_core_and_keeps_extras(oe, platform):
    rows = list(oe.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    assert [r.entity_id for r in rows] == ["7300000000001001", "7300000000001002"]
    first = rows[0]
    assert (
        first.stat_time == datetime(2024, 5, 1, tzinfo=first.stat_time.tzinfo)
        and str(first.stat_time.tzinfo) == "Asia/Shanghai"
    )
    assert (first.impressions, first.clicks, first.cost, first.conversions) == (10000, 250, Decimal("123.45"), 12.0)
    assert first.currency == "CNY"
    assert first.extra["ctr"] == 2.5 and "stat_cost" not in first.extra
    query = platform.calls("/report/custom/get/")[0]["query"]
    assert json.loads(query["dimensions"]) == ["cdp_promotion_id", "stat_time_day"]
    assert (query["start_time"], query["end_time"], query["page_size"]) == ("2024-05-01", "2024-05-01", "1000")
    assert query["data_topic"] == "BASIC_DATA"


def test_custom_report_requests_only_listed_metrics(oe, platform):
    """Metrics come from v3.0/report/custom/config/get for BASIC_DATA, asked once and cached:
    dy_* (not listed) are never sent, play_duration_3s (excluded with stat_time_hour) not by the hour."""
    list(oe.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    list(oe.fetch_report(TOKEN, ACCOUNT, "campaign", "hour", DAY, DAY))
    (config,) = platform.calls("/report/custom/config/get/")
    assert (config["query"]["advertiser_id"], json.loads(config["query"]["data_topics"])) == (ADV, ["BASIC_DATA"])
    daily, hourly = (json.loads(c["query"]["metrics"]) for c in platform.calls("/report/custom/get/"))
    assert set(daily[:4]) == {"stat_cost", "show_cnt", "click_cnt", "convert_cnt"}
    assert not [m for m in daily if m.startswith("dy_")] and "play_duration_3s" in daily
    assert hourly == [m for m in daily if m != "play_duration_3s"]
    platform.fail_next(
        {
            "code": 0,
            "message": "OK",
            "data": {"list": [{"data_topic": "BASIC_DATA", "dimensions": [], "metrics": [{"field": "stat_cost"}]}]},
        },
        path="/config/get/",
    )
    metric_config.forget()
    with pytest.raises(PermanentError, match="does not list show_cnt, click_cnt, convert_cnt"):
        list(oe.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))


def test_v1_reports_ask_for_deleted_objects_too(oe, platform):
    for level in ("campaign", "ad_group", "creative"):
        list(oe.fetch_report(TOKEN, ACCOUNT, level, "day", DAY, DAY))
    sent = {c["path"]: json.loads(c["query"]["filtering"]) for c in platform.calls("/2/report/")}
    assert sent == {
        "/open_api/2/report/campaign/get/": {"status": "CAMPAIGN_STATUS_ALL"},
        "/open_api/2/report/ad/get/": {"status": "AD_STATUS_ALL"},
        "/open_api/2/report/creative/get/": {"status": "CREATIVE_STATUS_ALL"},
    }


def test_2_0_is_the_default_hierarchy(platform):
    connector = OceanEngineConnector(APP, limiter=LocalRateLimiter())
    assert connector.versions == ("2.0",)
    assert {e.raw["_api_version"] for e in connector.fetch_metadata(TOKEN, ACCOUNT, "campaign")} == {"2.0"}
    assert list(connector.fetch_report(TOKEN, ACCOUNT, "ad_group", "day", DAY, DAY)) == []
    assert platform.calls("/2/campaign/get/") == [] and platform.calls("/2/report/") == []


def test_no_permission_on_one_advertiser_is_that_account_only(oe, platform):
    platform.fail_next("no_permission", path="/report/custom/get/")
    with pytest.raises(AccountAccessLost, match=r"code 40002") as info:
        list(oe.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
    assert info.value.account == ADV and "other advertisers keep fetching" in str(info.value)
    platform.fail_next("no_permission", path="/oauth2/advertiser/get/")
    with pytest.raises(AuthorizationRevoked) as info:
        list(oe.list_accounts(TOKEN))
    assert type(info.value) is AuthorizationRevoked  # no one advertiser named: the grant itself


def test_hourly_requests_one_day_each_and_stamps_hours(oe, platform):
    rows = list(oe.fetch_report(TOKEN, ACCOUNT, "ad_group", "hour", DAY, DAY + timedelta(days=2)))
    # one request per day (hourly reports span one day); the recordings answer every day alike,
    # rows outside the requested day's range are dropped only if they fall outside start..end
    calls = platform.calls("/2/report/ad/get/")
    assert [(c["query"]["start_date"], c["query"]["end_date"]) for c in calls] == [
        ("2024-05-01", "2024-05-01"),
        ("2024-05-02", "2024-05-02"),
        ("2024-05-03", "2024-05-03"),
    ]
    assert calls[0]["query"]["time_granularity"] == "STAT_TIME_GRANULARITY_HOURLY"
    assert json.loads(calls[0]["query"]["group_by"]) == ["STAT_GROUP_BY_FIELD_ID", "STAT_GROUP_BY_FIELD_STAT_TIME"]
    hours = sorted({r.stat_time.hour for r in rows})
    assert hours == [9, 10]
    row = next(r for r in rows if r.entity_id == "1690000000000212" and r.stat_time.hour == 10)
    assert (row.impressions, row.clicks, row.cost, row.conversions) == (15000, 360, Decimal("266.4"), 18.0)
    assert row.extra["play_100_feed_break"] == 600.0 and "stat_datetime" not in row.extra and "ad_id" not in row.extra


def test_daily_range_is_one_request_per_30_days(oe, platform):
    list(oe.fetch_report(TOKEN, ACCOUNT, "creative", "day", date(2024, 4, 1), date(2024, 5, 15)))
    calls = platform.calls("/2/report/creative/get/")
    assert [(c["query"]["start_date"], c["query"]["end_date"]) for c in calls] == [
        ("2024-04-01", "2024-04-30"),
        ("2024-05-01", "2024-05-15"),
    ]


def test_account_timezone_conversion(oe):
    tokyo = AccountRef(external_id=ADV, timezone="Asia/Tokyo")
    (row,) = [r for r in oe.fetch_report(TOKEN, tokyo, "account", "hour", DAY, DAY) if r.stat_time.hour == 11]
    assert row.stat_time.utcoffset() == timedelta(hours=9)
    assert row.stat_time.astimezone(UTC) == datetime(2024, 5, 1, 2, tzinfo=UTC)  # 10:00 Beijing


@pytest.mark.parametrize(
    "name, error",
    [
        ("rate_limited", RateLimited),
        ("token_expired", TokenExpired),
        ("token_invalid", TokenExpired),
        ("revoked", AuthorizationRevoked),
        ("no_permission", AccountAccessLost),
        ("server_error", TransientError),
        ("bad_param", PermanentError),
    ],
)
def test_envelope_codes_map_onto_the_taxonomy(oe, platform, name, error):
    platform.fail_next(name, path="/campaign/get/")
    with pytest.raises(error) as info:
        list(oe.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert type(info.value) is error
    assert str(platform.errors[name]["code"]) in str(info.value) and "2/campaign/get" in str(info.value)


def test_envelope_behind_an_http_error_status(oe, platform):
    platform.fail_next("token_expired", path="/project/list/", status=401)
    with pytest.raises(TokenExpired, match="40102"):
        list(oe.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    platform.fail_next("<html>busy</html>", path="/project/list/", status=502, times=1 + HTTP_RETRIES)
    with pytest.raises(TransientError, match="HTTP 502"):
        list(oe.fetch_metadata(TOKEN, ACCOUNT, "campaign"))


def test_rate_limit_code_pauses_the_shared_bucket(platform):
    limiter = LocalRateLimiter()
    connector = OceanEngineConnector(APP, limiter=limiter)
    platform.fail_next("rate_limited", path="/project/list/")
    with pytest.raises(RateLimited) as info:
        list(connector.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert info.value.retry_after == 1.0
    bucket = limiter._buckets[connector.http.bucket]
    assert bucket[2] > 0  # paused_until set: every worker of this app waits


def test_malformed_names_the_field(oe, platform):
    platform.fail_next(
        {
            "code": 0,
            "message": "OK",
            "data": {"list": [{"name": "x", "status": "CAMPAIGN_STATUS_ENABLE"}], "page_info": {"total_page": 1}},
        },
        path="/2/campaign/get/",
    )
    with pytest.raises(MalformedResponse, match=r"data\.list\.0\.id is missing"):
        list(
            OceanEngineConnector(
                AppConfig(client_id="1", extra={"api_versions": ["1.0"]}), limiter=LocalRateLimiter()
            ).fetch_metadata(TOKEN, ACCOUNT, "campaign")
        )
    platform.fail_next({"message": "no code"}, path="/report/")
    with pytest.raises(MalformedResponse, match="code"):
        list(oe.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))


def test_endpoints_follow_settings(settings, platform):
    from connectors.registry import endpoints_for

    settings.PLATFORM_ENDPOINTS = {"oceanengine": {"api": "https://proxy.example/open_api"}}
    endpoints = endpoints_for("oceanengine")
    assert endpoints["api"] == "https://proxy.example/open_api"
    # the official SDK's host (ad_open_sdk_go config/configuration.go) for every path
    assert endpoints["token"] == "https://api.oceanengine.com/open_api/oauth2/access_token/"


# --- the standard OAuth2 dialect against the sandbox's compliant server ---


def test_standard_oauth2_server_code_flow_and_rotation(sandbox_server, settings):
    # The OAuth endpoints come from settings (ADPLATFORM_ENDPOINTS), as a deployment would set them.
    from types import SimpleNamespace

    from connectors.registry import connector_for_app

    base = sandbox_server.base
    settings.PLATFORM_ENDPOINTS = {
        **settings.PLATFORM_ENDPOINTS,
        "oceanengine": {
            "authorize": f"{base}/oauth/authorize",
            "token": f"{base}/oauth/token",
            "refresh": f"{base}/oauth/token",
        },
    }
    app = SimpleNamespace(
        platform="oceanengine",
        client_id="oe-std",
        client_secret="oe-std-secret",
        redirect_uri="",
        extra={},
        endpoints={},
    )
    connector = connector_for_app(app, limiter=LocalRateLimiter())
    assert isinstance(connector, OceanEngineConnector)
    redirect = "http://127.0.0.1/accounts/callback/oceanengine/"
    url = connector.authorization_url(state="std-state", redirect_uri=redirect)
    assert parse_qs(urlsplit(url).query)["client_id"] == ["oe-std"]
    answer = requests.get(f"{url}&auto_approve=1&profile=1:1:3", allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["std-state"]
    token = connector.exchange_code(code=query["code"][0], redirect_uri=redirect)
    assert token.access_token and token.refresh_token
    fresh = connector.refresh(token)
    assert fresh.refresh_token != token.refresh_token and fresh.access_token != token.access_token
    with pytest.raises(AuthorizationRevoked, match="invalid_grant"):
        connector.refresh(token)


@pytest.mark.redis
def test_rate_limit_code_pauses_every_worker_through_redis(platform, settings):
    """Two workers (two connectors, two Redis limiters, one app): a 40100 seen by one makes
    the other wait before its next request, instead of each discovering the limit."""
    import time

    import redis

    from connectors.http import RedisRateLimiter

    client = redis.Redis.from_url(settings.REDIS_URL or settings.CELERY_BROKER_URL)
    app = AppConfig(client_id=f"oe-redis-{time.time_ns()}", client_secret="s")
    first = OceanEngineConnector(app, limiter=RedisRateLimiter(client))
    second = OceanEngineConnector(app, limiter=RedisRateLimiter(client))
    assert first.http.bucket == second.http.bucket
    platform.fail_next("rate_limited", path="/project/list/")
    with pytest.raises(RateLimited):
        list(first.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    started = time.monotonic()
    assert list(second.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert time.monotonic() - started >= 0.8  # waited out the shared pause (1 s from the first's 40100)
    client.delete(RedisRateLimiter.prefix + first.http.bucket)


# --- async custom reports (v3.0/report/custom/async_task/*: ad_open_sdk_go api/api_report_custom_async_task_
# {create,get,download}_v30.go and models; bububa model/report/asynctask/task.go, enum/async_task_status.go) ---

EXECUTING = {
    "code": 0,
    "message": "OK",
    "data": {
        "list": [
            {"task_id": 7352000000000001, "task_status": "ASYNC_TASK_STATUS_EXECUTING", "data_topic": "BASIC_DATA"}
        ],
        "page_info": {"page": 1, "page_size": 10, "total_number": 1, "total_page": 1},
    },
    "request_id": "r",
}


def _async_connector(waits: list) -> OceanEngineConnector:
    app = AppConfig(client_id=APP.client_id, client_secret="s", extra={"async_report_rows": 1})
    connector = OceanEngineConnector(app, limiter=LocalRateLimiter())
    connector.sleep = waits.append
    return connector


def test_async_task_gives_the_same_rows_as_the_sync_report(oe, platform):
    """Above the threshold (here 1 row) the report comes from an async task's file; the rows
    are the ones the synchronous pages give for the same recorded data."""
    sync = list(oe.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    waits: list[float] = []
    platform.fail_next(EXECUTING, path="/async_task/get/")
    rows = list(_async_connector(waits).fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    assert rows == sync and len(rows) == 2
    (create,) = platform.calls("/async_task/create/")
    sync_query = platform.calls("/report/custom/get/")[0]["query"]
    assert create["json"]["advertiser_id"] == int(ADV) and create["json"]["force"] is True
    assert create["json"]["dimensions"] == json.loads(sync_query["dimensions"])
    assert create["json"]["metrics"] == json.loads(sync_query["metrics"])
    assert (create["json"]["data_topic"], create["json"]["start_time"], create["json"]["end_time"]) == (
        "BASIC_DATA",
        "2024-05-01",
        "2024-05-01",
    )
    assert len(create["json"]["task_name"]) <= 25
    polls = platform.calls("/async_task/get/")
    assert len(polls) == 2 and json.loads(polls[0]["query"]["filtering"]) == {"task_ids": [7352000000000001]}
    assert waits == [1.0]
    (download,) = platform.calls("/async_task/download/")
    assert download["query"] == {"advertiser_id": ADV, "task_id": "7352000000000001"}
    assert download["headers"]["Access-Token"] == TOKEN.access_token


def test_below_the_threshold_no_task_is_created(oe, platform):
    list(oe.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    assert platform.calls("/async_task/") == []


def test_a_failed_task_falls_back_to_the_pages(platform):
    platform.fail_next(
        {
            "code": 0,
            "message": "OK",
            "data": {
                "list": [
                    {"task_id": 7352000000000001, "task_status": "ASYNC_TASK_STATUS_FAILED", "err_msg": "内部错误"}
                ]
            },
            "request_id": "r",
        },
        path="/async_task/get/",
    )
    rows = list(_async_connector([]).fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    assert [r.entity_id for r in rows] == ["7300000000001001", "7300000000001002"]
    assert platform.calls("/async_task/download/") == []
    platform.fail_next("bad_param", path="/async_task/create/")  # e.g. the day's 10 tasks are spent
    assert len(list(_async_connector([]).fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))) == 2


def test_async_file_columns_by_field_or_display_name():
    from connectors.oceanengine.async_report import rows_of

    where = {"platform": "oceanengine", "endpoint": "x", "account": ADV}
    by_field = b"stat_time_day,stat_cost,show_cnt\n2024-05-01,1.50,10\n"
    by_name = "\ufeff日期,消耗,展示数\n2024-05-01,1.50,10\n".encode()
    names = {"日期": "stat_time_day", "消耗": "stat_cost", "展示数": "show_cnt"}
    expected = [
        (
            "file.rows.1",
            {"dimensions": {"stat_time_day": "2024-05-01"}, "metrics": {"stat_cost": "1.50", "show_cnt": "10"}},
        )
    ]
    assert list(rows_of(by_field, dimensions=["stat_time_day"], names=names, where=where)) == expected
    assert list(rows_of(by_name, dimensions=["stat_time_day"], names=names, where=where)) == expected
    with pytest.raises(MalformedResponse, match="no column cdp_project_id"):
        list(rows_of(by_field, dimensions=["cdp_project_id", "stat_time_day"], names=names, where=where))
    with pytest.raises(PermanentError, match="40001"):
        list(rows_of(b'{"code": 40001, "message": "bad"}', dimensions=[], names={}, where=where))


def test_error_text_keeps_the_platforms_code_and_blanks_secrets(oe, platform):
    platform.fail_next(
        {"code": 40105, "message": "access_token: oe-access-1 invalid", "data": {}, "request_id": "rq-9"},
        path="/report/custom/get/",
    )
    with pytest.raises(TokenExpired) as info:
        list(oe.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
    text = str(info.value)
    assert "code 40105" in text and "rq-9" in text and "oe-access-1" not in text
