"""Baidu connector on recorded responses in the documented shapes, and the shared contract.

Sources of the shapes (bububa/baidu-marketing @17ed0be, whose models copy Baidu's docs):
- getReportData request and answer: `model/report/getReportData.go` (reportType, timeUnit, startDate,
  endDate, columns, sorts, filters, startRow, rowCount, needSum: no account list; `data` is an object
  {rowCount, totalRowCount, rows}); row columns `model/report/stat.go` (CommonMetric impression, click,
  cost, ctr, cpc, cpm), `model/report/dimension.go`, `model/report/searchMetric.go` (ocpcConversions,
  deepOCPCConversions, topPageViews, ...; the feed columns ocpcTargetTrans* are `model/report/feedMetric.go`);
  report types `enum/reportType.go`;
- search plans: `model/search/campaign/getCampaign.go` (the campaignFields enum), `model/search/campaign/campaign.go`;
  unit statuses `model/search/adgroup/adgroup.go` (31-33, 43); creative statuses
  `model/search/creative/creative.go` (51-57, 59).
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from decimal import Decimal

import pytest
import responses

from connectors.baidu.api import seconds_to_quota_reset
from connectors.baidu.connector import BaiduConnector
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
from connectors.http import LocalRateLimiter
from tests.connectors.contract import ConnectorContract, Faults
from tests.connectors.test_oceanengine import TIMEOUT, FakePlatform

USER = "30000001"
DAY = date(2024, 5, 1)
APP = AppConfig(client_id="baidu-app", extra={"developer_token": "dev-token-1"})
ACCOUNT = AccountRef(external_id=USER, timezone="Asia/Shanghai", currency="CNY")


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakePlatform(mock, "baidu", "https://api.baidu.com")


@pytest.fixture
def bd(platform):
    return BaiduConnector(APP, limiter=LocalRateLimiter())


@pytest.fixture
def signed_in(bd):
    return bd.login(username="baidu-demo", password="s3cret-pw")


class BaiduFaults(Faults):
    def __init__(self, platform):
        self.platform = platform

    def _next(self, name, status=200):
        @contextlib.contextmanager
        def arranged():
            self.platform.fail_next(name, path="/OpenApiReportService/", status=status)
            yield

        return arranged()

    def rate_limited(self):
        return self._next("rate_limited")

    def server_error(self):
        return self._next("server_error")

    def malformed(self):
        return self._next("malformed")

    def token_expired(self):  # the API gateway refusing the session: sign in again and retry
        return self._next("token_expired", status=401)

    def revoked(self):
        return self._next("revoked")

    def slow(self):
        return self._next(TIMEOUT)


class TestBaiduContract(ConnectorContract):
    @pytest.fixture
    def connector(self, bd):
        return bd

    @pytest.fixture
    def token(self, signed_in):
        return signed_in

    @pytest.fixture
    def account(self):
        return ACCOUNT

    @pytest.fixture
    def report_range(self):
        return DAY, DAY

    @pytest.fixture
    def faults(self, platform):
        return BaiduFaults(platform)

    @pytest.fixture
    def report_levels(self):
        return ["account", "campaign", "ad_group", "ad"]


def test_login_sends_the_header_and_keeps_the_secrets(bd, platform):
    token = bd.login(username=" baidu-demo ", password="s3cret-pw")
    sent = platform.calls("/getAccountInfo")[0]["json"]
    assert sent["header"] == {"username": "baidu-demo", "password": "s3cret-pw", "token": "dev-token-1"}
    assert token.secrets == {"username": "baidu-demo", "password": "s3cret-pw", "token": "dev-token-1", "user_id": USER}
    assert token.access_token == "" and token.expires_at is None
    assert "s3cret-pw" not in repr(token)
    typed = bd.login(username="baidu-demo", password="s3cret-pw", extra={"token": "typed-token"})
    assert typed.secrets["token"] == "typed-token"
    # the stored account id spares a lookup: a report costs one call
    before = len(platform.calls("/"))
    list(BaiduConnector(APP, limiter=LocalRateLimiter()).fetch_report(token, ACCOUNT, "account", "day", DAY, DAY))
    assert [c["path"].rsplit("/", 2)[-2] for c in platform.calls("/")[before:]] == ["OpenApiReportService"]


def test_login_failures_are_authorization_failed(bd):
    with pytest.raises(AuthorizationFailed, match="8206"):
        bd.login(username="baidu-demo", password="wrong-password")
    with pytest.raises(AuthorizationFailed, match="developer token"):
        bd.login(username="baidu-demo", password="x", extra={"token": "bad-dev-token"})
    with pytest.raises(AuthorizationFailed, match="password is required"):
        bd.login(username="baidu-demo", password="")
    with pytest.raises(AuthorizationFailed, match="developer token is required"):
        BaiduConnector(AppConfig(client_id="x")).login(username="u", password="p")


def test_refresh_revalidates_and_a_changed_password_is_revoked(bd, signed_in):
    assert bd.refresh(signed_in) == signed_in
    changed = TokenSet(secrets={**signed_in.secrets, "password": "wrong-password"})
    with pytest.raises(AuthorizationRevoked, match="8206"):
        bd.refresh(changed)
    with pytest.raises(AuthorizationRevoked, match="lacks password"):
        bd.refresh(TokenSet(secrets={"username": "u", "token": "t"}))


def test_ordinary_account_lists_itself(bd, signed_in):
    (account,) = bd.list_accounts(signed_in)
    assert (account.external_id, account.name, account.currency, account.timezone) == (
        USER,
        "baidu-demo",
        "CNY",
        "Asia/Shanghai",
    )


def test_account_manager_lists_and_targets_managed_accounts(bd, platform):
    token = bd.login(username="baidu-mcc", password="pw")
    assert [(a.external_id, a.name) for a in bd.list_accounts(token)] == [
        ("39999999", "baidu-mcc"),
        ("30000002", "sub-a"),
        ("30000003", "sub-b"),
    ]
    (entity,) = bd.fetch_metadata(token, AccountRef("30000002"), "account")
    assert entity.name == "sub-a"
    assert platform.calls("/getAccountInfo")[-1]["json"]["header"]["target"] == "sub-a"
    with pytest.raises(AuthorizationRevoked, match="not managed"):
        list(bd.fetch_metadata(token, AccountRef("12345"), "campaign"))


def test_metadata_batches_ids_down_the_hierarchy(bd, signed_in, platform):
    plans = list(bd.fetch_metadata(signed_in, ACCOUNT, "campaign"))
    assert [(p.external_id, p.status) for p in plans] == [("101000001", "active"), ("101000002", "paused")]
    units = list(bd.fetch_metadata(signed_in, ACCOUNT, "ad_group"))
    assert [(u.external_id, u.parent_external_id, u.status) for u in units] == [
        ("202000001", "101000001", "active"),
        ("202000002", "101000001", "paused"),
        ("202000003", "101000002", "paused"),
    ]
    assert platform.calls("/getAdgroup")[0]["json"]["body"]["ids"] == [101000001, 101000002]
    assert platform.calls("/getCampaign")[0]["json"]["body"]["campaignFields"] == [
        "campaignId",
        "campaignName",
        "budget",
        "pause",
        "status",
        "adType",
    ]
    creatives = list(bd.fetch_metadata(signed_in, ACCOUNT, "ad"))
    assert [(c.external_id, c.parent_external_id, c.name, c.status) for c in creatives] == [
        ("303000001", "202000001", "{示例}官网-正品保障", "active"),
        ("303000002", "202000003", "产品对比", "paused"),
    ]
    assert platform.calls("/getCreative")[0]["json"]["body"]["ids"] == [202000001, 202000002, 202000003]


def test_batches_respect_the_service_limits(bd, signed_in, platform, monkeypatch):
    from connectors.baidu import connector as module

    monkeypatch.setattr(module, "CAMPAIGN_BATCH", 1)
    list(bd.fetch_metadata(signed_in, ACCOUNT, "ad_group"))
    assert [c["json"]["body"]["ids"] for c in platform.calls("/getAdgroup")] == [[101000001], [101000002]]


def test_reports_page_by_start_row_and_map_metrics(bd, signed_in, platform):
    rows = list(bd.fetch_report(signed_in, ACCOUNT, "ad_group", "day", DAY, DAY))
    assert [(r.entity_id, r.impressions, r.clicks, r.cost, r.conversions) for r in rows] == [
        ("202000001", 1200, 45, Decimal("67.5"), 3.0),
        ("202000003", 2400, 90, Decimal("135.0"), 6.0),
    ]
    assert [c["json"]["body"]["startRow"] for c in platform.calls("/getReportData")] == [0, 1]
    body = platform.calls("/getReportData")[0]["json"]["body"]
    assert (body["reportType"], body["timeUnit"]) == (2284618, "DAY")
    # only documented request fields; only search columns
    assert set(body) <= {
        "reportType",
        "timeUnit",
        "startDate",
        "endDate",
        "columns",
        "sorts",
        "filters",
        "startRow",
        "rowCount",
        "needSum",
    }
    assert {"impression", "click", "cost", "ocpcConversions", "deepOCPCConversions", "adGroupId", "date"} <= set(
        body["columns"]
    )
    assert not [c for c in body["columns"] if c.startswith("ocpcTargetTrans") or c == "deepConversions"]
    assert rows[0].extra["topPageViews"] == 800.0 and "userId" not in rows[0].extra and "adGroupId" not in rows[0].extra
    hourly = list(bd.fetch_report(signed_in, ACCOUNT, "campaign", "hour", DAY, DAY))
    assert [(r.entity_id, r.stat_time.hour) for r in hourly] == [
        ("101000001", 9),
        ("101000001", 10),
        ("101000002", 9),
        ("101000002", 10),
    ]
    assert hourly[0].stat_time == datetime(2024, 5, 1, 9, tzinfo=hourly[0].stat_time.tzinfo)


@pytest.mark.parametrize(
    "name, error",
    [
        ("rate_limited", RateLimited),
        ("too_frequent", RateLimited),
        ("revoked", AuthorizationRevoked),
        ("server_error", TransientError),
        ("bad_param", PermanentError),
        ("developer_token", PermanentError),
    ],
)
def test_header_failures_map_onto_the_taxonomy(bd, signed_in, platform, name, error):
    platform.fail_next(name, path="/getCampaign")
    with pytest.raises(error) as info:
        list(bd.fetch_metadata(signed_in, ACCOUNT, "campaign"))
    assert type(info.value) is error
    assert str(platform.errors[name]["header"]["failures"][0]["code"]) in str(info.value)


def test_quota_waits_until_beijing_midnight():
    from zoneinfo import ZoneInfo

    assert seconds_to_quota_reset(datetime(2024, 5, 1, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai"))) == 3600
    assert seconds_to_quota_reset(datetime(2024, 5, 1, 15, 30, tzinfo=ZoneInfo("UTC"))) == 30 * 60  # 23:30 Beijing


def test_token_expired_and_malformed(bd, signed_in, platform):
    platform.fail_next("token_expired", path="/getCampaign", status=401)
    with pytest.raises(TokenExpired):
        list(bd.fetch_metadata(signed_in, ACCOUNT, "campaign"))
    platform.fail_next("malformed", path="/getReportData")
    with pytest.raises(MalformedResponse, match=r"body\.data\.rows\.0\.impression"):
        list(bd.fetch_report(signed_in, ACCOUNT, "account", "day", DAY, DAY))
    platform.fail_next(
        {
            "header": {"status": 0},
            "body": {
                "data": {
                    "rows": [{"date": "2024-05-01 25:00", "impression": 1, "click": 1, "cost": 1}],
                    "totalRowCount": 1,
                }
            },
        },
        path="/getReportData",
    )
    with pytest.raises(MalformedResponse, match="date"):
        list(bd.fetch_report(signed_in, ACCOUNT, "account", "hour", DAY, DAY))


@pytest.mark.parametrize(
    "code, ours",
    [
        (51, "active"),
        (52, "paused"),
        (53, "rejected"),
        (54, "pending"),
        (55, "pending"),
        (56, "limited"),
        (59, "pending"),
    ],
)
def test_search_creative_statuses(code, ours):
    from connectors.baidu import mapping

    assert mapping.status({"status": code, "pause": False}, mapping.CREATIVE_STATUS) == ours


# --- OAuth2 (bububa/baidu-marketing model/oauth/{url,accessToken,refreshToken,getUserInfo}.go,
# model/request.go: the header {userName, accessToken}; model/const.go: https://u.baidu.com/oauth/) ---

OAUTH_APP = AppConfig(
    client_id="bd-app-id",
    client_secret="bd-secret-key",
    redirect_uri="https://ads.example.com/accounts/callback/baidu/",
    extra={"auth": "oauth2", "scope": "100,101"},
)


@pytest.fixture
def hosts():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakePlatform(mock, "baidu", "https://api.baidu.com"), FakePlatform(mock, "baidu", "https://u.baidu.com")


def test_the_app_extra_picks_the_flow():
    assert BaiduConnector(APP).spec.auth_type == "password"
    connector = BaiduConnector(OAUTH_APP)
    assert (connector.spec.auth_type, connector.spec.supports_refresh) == ("oauth2", True)
    assert BaiduConnector.spec.auth_type == "password"  # the class (and other apps) keep the password flow
    with pytest.raises(ValueError, match=r"extra\.auth"):
        BaiduConnector(AppConfig(client_id="x", extra={"auth": "sso"}))


def test_oauth_authorization_url():
    from urllib.parse import parse_qs, urlsplit

    url = BaiduConnector(OAUTH_APP).authorization_url(state="st-7", redirect_uri=OAUTH_APP.redirect_uri)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://u.baidu.com/oauth/page/index"
    assert parse_qs(parts.query) == {
        "appId": ["bd-app-id"],
        "scope": ["100,101"],
        "state": ["st-7"],
        "callback": [OAUTH_APP.redirect_uri],
    }
    with pytest.raises(AuthorizationFailed, match=r"extra\.scope"):
        BaiduConnector(AppConfig(client_id="x", extra={"auth": "oauth2"})).authorization_url(
            state="s", redirect_uri="r"
        )


def test_oauth_flow_end_to_end(hosts):
    """The callback's authCode and userId are exchanged, the grant's accounts come from getUserInfo
    (paged by the last ucId), and API calls carry {userName, accessToken}."""
    from connectors.auth import AuthorizationFlow
    from tests.connectors.test_sandbox_oauth import MemoryAuthorizationStore

    api, oauth = hosts
    connector = BaiduConnector(OAUTH_APP, limiter=LocalRateLimiter())
    flow = AuthorizationFlow(connector, MemoryAuthorizationStore())
    start = flow.start(redirect_uri=OAUTH_APP.redirect_uri, context={})
    result = flow.finish(params={"state": start.state, "authCode": "bd-auth-code", "userId": "39999999"})
    assert oauth.calls("/oauth/accessToken")[0]["json"] == {
        "appId": "bd-app-id",
        "authCode": "bd-auth-code",
        "secretKey": "bd-secret-key",
        "grantType": "auth_code",
        "userId": 39999999,
    }
    token = result.token
    assert (token.access_token, token.refresh_token, token.account_ids) == (
        "bd-access-1",
        "bd-refresh-1",
        ("39999999",),
    )
    assert token.secrets == {"auth": "oauth2", "user_id": "39999999", "open_id": "bd-open-1"}
    assert [(a.external_id, a.name) for a in result.accounts] == [
        ("39999999", "baidu-mcc"),
        ("30000002", "sub-a"),
        ("30000003", "sub-b"),
    ]
    assert [c["json"]["lastPageMaxUcId"] for c in oauth.calls("/getUserInfo")] == [1, 30000002]
    assert oauth.calls("/getUserInfo")[0]["json"]["accessToken"] == "bd-access-1"
    list(connector.fetch_metadata(token, AccountRef("30000002"), "campaign"))
    assert api.calls("/getCampaign")[0]["json"]["header"] == {"userName": "sub-a", "accessToken": "bd-access-1"}
    with pytest.raises(AccountAccessLost):
        list(connector.fetch_metadata(token, AccountRef("12345"), "campaign"))
    start = flow.start(redirect_uri=OAUTH_APP.redirect_uri, context={})
    with pytest.raises(AuthorizationFailed, match="authCode已失效"):
        flow.finish(params={"state": start.state, "authCode": "used-code", "userId": "39999999"})


def test_oauth_refresh(hosts):
    _, oauth = hosts
    connector = BaiduConnector(OAUTH_APP, limiter=LocalRateLimiter())
    old = TokenSet(
        access_token="bd-access-1",
        refresh_token="bd-refresh-1",
        account_ids=("39999999",),
        secrets={"auth": "oauth2", "user_id": "39999999", "open_id": "bd-open-1"},
    )
    fresh = connector.refresh(old)
    assert (fresh.access_token, fresh.refresh_token) == ("bd-access-2", "bd-refresh-2")
    assert fresh.secrets["open_id"] == "bd-open-1" and fresh.expires_at is not None
    assert oauth.calls("/refreshToken")[0]["json"] == {
        "appId": "bd-app-id",
        "refreshToken": "bd-refresh-1",
        "secretKey": "bd-secret-key",
        "userId": 39999999,
    }
    with pytest.raises(AuthorizationRevoked, match="refreshToken已失效"):
        connector.refresh(TokenSet(access_token="x", refresh_token="bd-refresh-spent", secrets=old.secrets))


# --- async report tasks (bububa/baidu-marketing model/report/createReportTask.go, getTaskStatus.go:
# taskId; taskStatus SUBMITTED/RUNNING/SUCCESS/FAIL, fileUrl, dataStartRow, tableHeader) ---

RUNNING = {
    "header": {"desc": "success", "failures": [], "status": 0},
    "body": {"data": [{"taskStatus": "RUNNING", "submitTime": "2024-05-02 10:30:00"}]},
}


@pytest.fixture
def files():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield (
            FakePlatform(mock, "baidu", "https://api.baidu.com"),
            FakePlatform(mock, "baidu", "https://report-file.baidu.com"),
        )


def _async_connector(waits: list) -> BaiduConnector:
    app = AppConfig(client_id="baidu-app", extra={"developer_token": "dev-token-1", "async_report_rows": 1})
    connector = BaiduConnector(app, limiter=LocalRateLimiter())
    connector.sleep = waits.append
    return connector


def test_report_task_gives_the_same_rows_as_the_pages(files):
    api, storage = files
    plain = BaiduConnector(APP, limiter=LocalRateLimiter())
    sync = list(
        plain.fetch_report(plain.login(username="baidu-demo", password="pw"), ACCOUNT, "ad_group", "day", DAY, DAY)
    )
    waits: list[float] = []
    connector = _async_connector(waits)
    token = connector.login(username="baidu-demo", password="pw")
    api.fail_next(RUNNING, path="/getTaskStatus")
    rows = list(connector.fetch_report(token, ACCOUNT, "ad_group", "day", DAY, DAY))
    assert rows == sync and [r.entity_id for r in rows] == ["202000001", "202000003"]
    (create,) = api.calls("/createReportTask")
    assert create["json"]["body"] == {
        "reportType": 2284618,
        "timeUnit": "DAY",
        "startDate": "2024-05-01",
        "endDate": "2024-05-01",
        "columns": api.calls("/getReportData")[-1]["json"]["body"]["columns"],
        "needSum": False,
    }
    assert [c["json"]["body"] for c in api.calls("/getTaskStatus")] == [{"taskId": "b7f3c1d2e4a5"}] * 2
    assert waits == [1.0] and len(storage.calls("/report/b7f3c1d2e4a5.csv")) == 1


def test_a_failed_report_task_falls_back_to_the_pages(files):
    api, storage = files
    api.fail_next(
        {"header": {"status": 0}, "body": {"data": [{"taskStatus": "FAIL"}]}},
        path="/getTaskStatus",
    )
    connector = _async_connector([])
    token = connector.login(username="baidu-demo", password="pw")
    rows = list(connector.fetch_report(token, ACCOUNT, "ad_group", "day", DAY, DAY))
    assert [r.entity_id for r in rows] == ["202000001", "202000003"] and storage.calls("/report/") == []
    assert [c["json"]["body"]["startRow"] for c in api.calls("/getReportData")] == [0, 1]


def test_report_file_skips_what_comes_before_the_data():
    from connectors.baidu.async_report import rows_of

    where = {"platform": "baidu", "endpoint": "x", "account": USER}
    text = "标题\n日期,展现\n2024-05-01,10\n2024-05-02,20\n".encode("gb18030")
    for start in (2, 3):  # the header line and the first data line: both read the same rows
        rows = [row for _, row in rows_of(text, header=["date", "impression"], data_start_row=start, where=where)]
        assert rows == [{"date": "2024-05-01", "impression": "10"}, {"date": "2024-05-02", "impression": "20"}]
    with pytest.raises(MalformedResponse, match="tableHeader 3"):
        list(rows_of(text, header=["date", "impression", "click"], data_start_row=3, where=where))


def test_error_text_keeps_the_failure_code_and_blanks_secrets(bd, signed_in, platform):
    platform.fail_next(
        {
            "header": {
                "desc": "failure",
                "status": 2,
                "failures": [{"code": 8206, "message": "password: s3cret-pw 错误", "position": ""}],
            },
            "body": {},
        },
        path="/getCampaign",
    )
    with pytest.raises(AuthorizationRevoked) as info:
        list(bd.fetch_metadata(signed_in, ACCOUNT, "campaign"))
    assert "failure 8206" in str(info.value) and "s3cret-pw" not in str(info.value)
