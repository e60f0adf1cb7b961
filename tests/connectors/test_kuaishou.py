"""Kuaishou connector on recorded responses in the documented shapes, the shared contract,
and the OAuth2 flows against the sandbox's standards-compliant server.

Sources of the shapes (bububa/kwai-marketing-api @3c6f336, whose models copy the platform docs):
- consent page: `model/oauth/url_request.go` (`Url() = "tools/authorize"`) on `core/const.go` OAUTH_URL
  `https://developers.e.kuaishou.com`;
- unit list: `model/unit/list_request.go` (`v1/ad_unit/list`, status -2 = every status incl. deleted),
  `model/unit/list_response.go`, `model/unit/unit.go` (unit_type 7 = programmatic creative 2.0);
- programmatic creatives 2.0: `model/creative/advanced_program_list_request.go`
  (`v2/creative/advanced/program/list`), `model/creative/advanced_program_creative.go` (unit_id,
  package_name, put_status, view_status 40 = deleted), `model/creative/advanced_program_list_response.go`;
- their report: `model/report/program_creative_report_request.go` (`v1/report/program_creative_report`,
  the common ReportRequest) answered as `model/report/report_response.go` with `model/report/stat.go` rows.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from connectors.base import AccountRef, AppConfig, TokenSet
from connectors.errors import (
    AuthorizationFailed,
    AuthorizationRevoked,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.http import LocalRateLimiter
from connectors.kuaishou.connector import KuaishouConnector
from tests.connectors.contract import ConnectorContract, Faults
from tests.connectors.test_oceanengine import TIMEOUT, FakePlatform

ADV = "20000993"
DAY = date(2024, 5, 1)
APP = AppConfig(
    client_id="165900000", client_secret="ks-secret", redirect_uri="https://ads.example.com/accounts/callback/kuaishou/"
)
TOKEN = TokenSet(access_token="ks-access-1", refresh_token="ks-refresh-1")
ACCOUNT = AccountRef(external_id=ADV, timezone="Asia/Shanghai", currency="CNY")


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakePlatform(mock, "kuaishou", "https://ad.e.kuaishou.com")


@pytest.fixture
def ks(platform):
    return KuaishouConnector(APP, limiter=LocalRateLimiter())


class KuaishouFaults(Faults):
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


class TestKuaishouContract(ConnectorContract):
    @pytest.fixture
    def connector(self, ks):
        return ks

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
        return KuaishouFaults(platform)


def test_authorization_url(ks):
    parts = urlsplit(ks.authorization_url(state="s-9", redirect_uri=APP.redirect_uri))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://developers.e.kuaishou.com/tools/authorize"
    query = parse_qs(parts.query)
    assert (
        query["app_id"] == [APP.client_id] and query["state"] == ["s-9"] and query["redirect_uri"] == [APP.redirect_uri]
    )
    assert json.loads(query["scope"][0]) == ["ad_query", "report_service", "account_service"]
    agent = KuaishouConnector(AppConfig(client_id="1", extra={"agent": True}))
    assert parse_qs(urlsplit(agent.authorization_url(state="s", redirect_uri="https://x/cb")).query)["oauth_type"] == [
        "agent"
    ]


def test_exchange_and_refresh(ks, platform):
    before = datetime.now(UTC)
    token = ks.exchange_code(code="ks-auth-code", redirect_uri=APP.redirect_uri)
    assert platform.calls("/access_token")[0]["json"] == {
        "app_id": 165900000,
        "secret": "ks-secret",
        "auth_code": "ks-auth-code",
    }
    assert (token.access_token, token.refresh_token) == ("ks-access-1", "ks-refresh-1")
    assert timedelta(hours=23, minutes=59) < token.expires_at - before <= timedelta(hours=24, seconds=5)
    assert timedelta(days=29, hours=23) < token.refresh_expires_at - before <= timedelta(days=30, seconds=5)
    assert token.account_ids == (ADV, "20000994")
    fresh = ks.refresh(token)
    assert (fresh.access_token, fresh.refresh_token, fresh.account_ids) == (
        "ks-access-2",
        "ks-refresh-2",
        (ADV, "20000994"),
    )
    with pytest.raises(AuthorizationRevoked, match="401003"):
        ks.refresh(TokenSet(access_token="x", refresh_token="spent"))
    with pytest.raises(AuthorizationFailed, match="402001"):
        ks.exchange_code(code="used", redirect_uri=APP.redirect_uri)


def test_list_accounts_pages_the_approval_list(ks, platform):
    accounts = list(ks.list_accounts(TOKEN))
    assert [(a.external_id, a.name) for a in accounts] == [
        (ADV, "快手示例账户"),
        ("20000994", "快手示例账户二"),
        ("20000995", "代理子公司"),
    ]
    assert [c["json"]["page_no"] for c in platform.calls("/approval/list")] == [1, 2]
    assert platform.calls("/approval/list")[0]["json"]["access_token"] == "ks-access-1"
    assert platform.calls("/advertiser/info")[0]["headers"]["Access-Token"] == "ks-access-1"


def test_metadata_levels_statuses_and_paging(ks, platform):
    units = list(ks.fetch_metadata(TOKEN, ACCOUNT, "ad_group"))
    assert [(u.external_id, u.parent_external_id, u.status, u.deleted) for u in units] == [
        ("6000001", "5000001", "active", False),
        ("6000002", "5000001", "deleted", True),
        ("6000003", "5000002", "paused", False),
        ("6000004", "5000002", "active", False),
    ]
    assert [c["path"] for c in platform.calls("unit/list")] == ["/rest/openapi/v1/ad_unit/list"]
    assert platform.calls("/ad_unit/list")[0]["json"] == {
        "advertiser_id": 20000993,
        "status": -2,
        "page": 1,
        "page_size": 500,
    }
    creatives = list(ks.fetch_metadata(TOKEN, ACCOUNT, "ad"))
    assert [(c.external_id, c.parent_external_id) for c in creatives[:2]] == [
        ("7000001", "6000001"),
        ("7000002", "6000003"),
    ]
    assert [c["json"]["page"] for c in platform.calls("/v1/creative/list")] == [1, 2]
    (account,) = ks.fetch_metadata(TOKEN, ACCOUNT, "account")
    assert (account.name, account.raw["corporation_name"]) == ("快手示例账户", "示例网络科技有限公司")
    with pytest.raises(PermanentError, match="unknown level"):
        list(ks.fetch_metadata(TOKEN, ACCOUNT, "creative"))


def test_programmatic_creatives_complete_the_ad_level(ks, platform):
    """Programmatic creatives 2.0 are listed and reported apart from custom creatives; both make the ad level."""
    ads = list(ks.fetch_metadata(TOKEN, ACCOUNT, "ad"))
    assert [(a.external_id, a.parent_external_id, a.name, a.status, a.deleted) for a in ads[2:]] == [
        ("program:6000004", "6000004", "程序化创意包A", "active", False),
        ("program:6000002", "6000002", "程序化创意包B", "deleted", True),
    ]
    assert platform.calls("/advanced/program/list")[0]["json"] == {
        "advertiser_id": 20000993,
        "status": -2,
        "page": 1,
        "page_size": 500,
    }
    rows = list(ks.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    assert [(r.entity_id, r.cost, r.impressions, r.conversions) for r in rows] == [
        ("7000001", Decimal("66.6"), 8000, 9.0),
        ("7000002", Decimal("133.2"), 16000, 18.0),
        ("program:6000004", Decimal("42.5"), 5100, 4.0),
    ]
    assert "unit_id" not in rows[2].extra
    assert platform.calls("/program_creative_report")[0]["json"] == {
        "advertiser_id": 20000993,
        "start_date": "2024-05-01",
        "end_date": "2024-05-01",
        "temporal_granularity": "DAILY",
        "page": 1,
        "page_size": 2000,
    }
    hourly = list(ks.fetch_report(TOKEN, ACCOUNT, "ad", "hour", DAY, DAY))
    assert [(r.entity_id, r.stat_time.hour) for r in hourly if r.entity_id.startswith("program:")] == [
        ("program:6000004", 9),
        ("program:6000004", 10),
    ]


def test_hourly_report_rows(ks, platform):
    rows = list(ks.fetch_report(TOKEN, ACCOUNT, "ad_group", "hour", DAY, DAY))
    assert [(r.entity_id, r.stat_time.hour) for r in rows] == [
        ("6000001", 9),
        ("6000001", 10),
        ("6000003", 9),
        ("6000003", 10),
    ]
    r = rows[3]
    assert (r.impressions, r.clicks, r.cost, r.conversions, r.currency) == (24000, 720, Decimal("199.8"), 27.0, "CNY")
    assert (
        r.extra["aclick"] == 27000.0
        and r.extra["play_3s_ratio"] == 0.41
        and "stat_hour" not in r.extra
        and "unit_id" not in r.extra
    )
    assert platform.calls("/unit_report")[0]["json"] == {
        "advertiser_id": 20000993,
        "start_date": "2024-05-01",
        "end_date": "2024-05-01",
        "temporal_granularity": "HOURLY",
        "page": 1,
        "page_size": 2000,
    }


def test_daily_report_splits_long_ranges(ks, platform):
    list(ks.fetch_report(TOKEN, ACCOUNT, "account", "day", date(2024, 3, 1), date(2024, 5, 1)))
    assert [(c["json"]["start_date"], c["json"]["end_date"]) for c in platform.calls("/account_report")] == [
        ("2024-03-01", "2024-03-30"),
        ("2024-03-31", "2024-04-29"),
        ("2024-04-30", "2024-05-01"),
    ]
    (row,) = ks.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY)
    assert row.entity_id == ADV and row.stat_time == datetime(2024, 5, 1, tzinfo=row.stat_time.tzinfo)


@pytest.mark.parametrize(
    "name, error",
    [
        ("rate_limited", RateLimited),
        ("token_expired", TokenExpired),
        ("revoked", AuthorizationRevoked),
        ("server_error", TransientError),
        ("bad_param", PermanentError),
    ],
)
def test_codes_map_onto_the_taxonomy(ks, platform, name, error):
    platform.fail_next(name, path="/campaign/list")
    with pytest.raises(error) as info:
        list(ks.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert type(info.value) is error and str(platform.errors[name]["code"]) in str(info.value)


def test_message_classifies_unknown_codes(ks, platform):
    platform.fail_next({"code": 499999, "message": "access_token 无效", "data": {}}, path="/campaign/list")
    with pytest.raises(TokenExpired):
        list(ks.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    platform.fail_next({"code": 499998, "message": "接口限流", "data": {}}, path="/campaign/list")
    with pytest.raises(RateLimited):
        list(ks.fetch_metadata(TOKEN, ACCOUNT, "campaign"))


def test_malformed_rows_name_the_field(ks, platform):
    platform.fail_next("malformed", path="/report/")
    with pytest.raises(MalformedResponse, match=r"data\.details\.0\.charge"):
        list(ks.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
    platform.fail_next(
        {
            "code": 0,
            "message": "OK",
            "data": {
                "total_count": 1,
                "details": [{"stat_date": "2024-05-01", "stat_hour": 25, "charge": 1, "show": 1, "photo_click": 1}],
            },
        },
        path="/report/",
    )
    with pytest.raises(MalformedResponse, match="stat_hour"):
        list(ks.fetch_report(TOKEN, ACCOUNT, "account", "hour", DAY, DAY))


def test_standard_oauth2_server_code_flow_and_rotation(sandbox_server, settings):
    # The OAuth endpoints come from settings (ADPLATFORM_ENDPOINTS), as a deployment would set them.
    from types import SimpleNamespace

    from connectors.registry import connector_for_app

    base = sandbox_server.base
    settings.PLATFORM_ENDPOINTS = {
        **settings.PLATFORM_ENDPOINTS,
        "kuaishou": {
            "authorize": f"{base}/oauth/authorize",
            "token": f"{base}/oauth/token",
            "refresh": f"{base}/oauth/token",
        },
    }
    app = SimpleNamespace(
        platform="kuaishou", client_id="ks-std", client_secret="ks-std-secret", redirect_uri="", extra={}, endpoints={}
    )
    connector = connector_for_app(app, limiter=LocalRateLimiter())
    assert isinstance(connector, KuaishouConnector)
    redirect = "http://127.0.0.1/accounts/callback/kuaishou/"
    url = connector.authorization_url(state="ks-state", redirect_uri=redirect)
    answer = requests.get(f"{url}&auto_approve=1&profile=1:1:3", allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["ks-state"]
    token = connector.exchange_code(code=query["code"][0], redirect_uri=redirect)
    fresh = connector.refresh(token)
    assert fresh.access_token and fresh.refresh_token != token.refresh_token
    with pytest.raises(AuthorizationRevoked, match="invalid_grant"):
        connector.refresh(token)


def test_error_text_keeps_the_platforms_code_and_blanks_secrets(ks, platform):
    platform.fail_next(
        {"code": 401001, "message": "access_token=ks-access-1 已过期", "data": {}}, path="/campaign/list"
    )
    with pytest.raises(TokenExpired) as info:
        list(ks.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert "code 401001" in str(info.value) and "ks-access-1" not in str(info.value)
