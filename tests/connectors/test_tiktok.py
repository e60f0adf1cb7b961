"""TikTok API for Business connector on recorded answers in the documented shapes (`responses`):
the shared contract, auth_code exchange for a long-term token (no refresh), the advertiser list,
page paging, integrated BASIC reports by the day and by the hour, and the envelope's codes."""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
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
from connectors.http import LocalRateLimiter
from connectors.tiktok.connector import TikTokConnector
from tests.connectors.contract import ConnectorContract, Faults
from tests.connectors.test_oceanengine import TIMEOUT, FakePlatform

ADV = "7012345678901234567"
DAY = date(2024, 5, 1)
APP = AppConfig(
    client_id="7300000000000000001",
    client_secret="tt-secret",
    redirect_uri="https://ads.example.com/accounts/callback/tiktok/",
)
TOKEN = TokenSet(access_token="tt-access-1")
ACCOUNT = AccountRef(external_id=ADV, timezone="America/Los_Angeles", currency="USD")


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakePlatform(mock, "tiktok", "https://business-api.tiktok.com")


@pytest.fixture
def tiktok(platform):
    return TikTokConnector(APP, limiter=LocalRateLimiter(sleep=lambda s: None))


class TikTokFaults(Faults):
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


class TestTikTokContract(ConnectorContract):
    @pytest.fixture
    def connector(self, tiktok):
        return tiktok

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
    def report_levels(self):
        return ["account", "campaign", "ad_group", "ad"]

    @pytest.fixture
    def faults(self, platform):
        return TikTokFaults(platform)


def test_authorization_url(tiktok):
    parts = urlsplit(tiktok.authorization_url(state="st-3", redirect_uri=APP.redirect_uri))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://business-api.tiktok.com/portal/auth"
    assert parse_qs(parts.query) == {"app_id": [APP.client_id], "state": ["st-3"], "redirect_uri": [APP.redirect_uri]}


def test_exchange_gives_a_long_term_token_and_the_advertisers(tiktok, platform):
    token = tiktok.exchange_code(code="tt-auth-code", redirect_uri=APP.redirect_uri)
    assert platform.calls("/oauth2/access_token/")[0]["json"] == {
        "app_id": APP.client_id,
        "secret": "tt-secret",
        "auth_code": "tt-auth-code",
    }
    assert token.access_token == "tt-access-1" and token.expires_at is None and token.refresh_token == ""
    assert token.account_ids == (ADV, "7012345678901234568") and token.scopes == ("4", "5", "6", "7")
    with pytest.raises(AuthorizationFailed, match="40002"):
        tiktok.exchange_code(code="used-code", redirect_uri=APP.redirect_uri)
    assert not tiktok.spec.supports_refresh
    with pytest.raises(AuthorizationRevoked, match="re-authorize"):
        tiktok.refresh(token)


def test_list_accounts(tiktok, platform):
    accounts = list(tiktok.list_accounts(TOKEN))
    assert [(a.external_id, a.currency, a.timezone, a.status) for a in accounts] == [
        (ADV, "USD", "America/Los_Angeles", "active"),
        ("7012345678901234568", "SGD", "Asia/Singapore", "active"),
    ]
    listing = platform.calls("/oauth2/advertiser/get/")[0]
    assert (
        listing["query"] == {"app_id": APP.client_id, "secret": "tt-secret"}
        and listing["headers"]["Access-Token"] == "tt-access-1"
    )
    info = platform.calls("/advertiser/info/")[0]["query"]
    assert json.loads(info["advertiser_ids"]) == [ADV, "7012345678901234568"] and "currency" in json.loads(
        info["fields"]
    )


def test_metadata_pages_and_parents(tiktok, platform):
    campaigns = list(tiktok.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert [(c.external_id, c.name, c.status, c.parent_external_id) for c in campaigns] == [
        ("1790000000000001", "Spring sale", "active", ADV),
        ("1790000000000002", "Retargeting", "paused", ADV),
    ]
    assert [c["query"]["page"] for c in platform.calls("/campaign/get/")] == ["1", "2"]
    assert platform.calls("/campaign/get/")[0]["query"]["page_size"] == "1000"
    ads = list(tiktok.fetch_metadata(TOKEN, ACCOUNT, "ad"))
    assert [(a.external_id, a.parent_external_id, a.status, a.deleted) for a in ads] == [
        ("1790000000001001", "1790000000000101", "active", False),
        ("1790000000001002", "1790000000000102", "deleted", True),
    ]
    (account,) = tiktok.fetch_metadata(TOKEN, ACCOUNT, "account")
    assert (account.external_id, account.name) == (ADV, "Example US")
    with pytest.raises(PermanentError, match="unknown level"):
        list(tiktok.fetch_metadata(TOKEN, ACCOUNT, "creative"))


def test_hourly_report(tiktok, platform):
    rows = list(tiktok.fetch_report(TOKEN, ACCOUNT, "ad_group", "hour", DAY, DAY))
    assert [(r.entity_id, r.stat_time.hour) for r in rows] == [
        ("1790000000000101", 8),
        ("1790000000000101", 21),
        ("1790000000000102", 8),
        ("1790000000000102", 21),
    ]
    r = rows[3]
    assert r.stat_time.utcoffset() == timedelta(hours=-7)
    assert (r.impressions, r.clicks, r.cost, r.conversions, r.currency) == (971, 52, Decimal("42.50"), 2.0, "USD")
    assert (
        r.extra["video_views_p100"] == 80.0
        and r.extra["ctr"] == 5.36
        and "reach" not in r.extra
        and "spend" not in r.extra
    )
    query = platform.calls("/report/integrated/get/")[0]["query"]
    assert query["report_type"] == "BASIC" and query["data_level"] == "AUCTION_ADGROUP"
    assert json.loads(query["dimensions"]) == ["adgroup_id", "stat_time_hour"] and "reach" not in json.loads(
        query["metrics"]
    )
    assert (query["start_date"], query["end_date"], query["page"]) == ("2024-05-01", "2024-05-01", "1")


def test_daily_report_and_range_splitting(tiktok, platform):
    (row,) = tiktok.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY)
    assert row.entity_id == ADV and row.stat_time == datetime(2024, 5, 1, tzinfo=row.stat_time.tzinfo)
    assert (row.impressions, row.cost, row.conversions, row.extra["reach"]) == (15200, Decimal("312.70"), 12.0, 10640.0)
    list(tiktok.fetch_report(TOKEN, ACCOUNT, "account", "day", date(2024, 3, 1), date(2024, 5, 1)))
    spans = [(c["query"]["start_date"], c["query"]["end_date"]) for c in platform.calls("/report/integrated/get/")[1:]]
    assert spans == [("2024-03-01", "2024-03-30"), ("2024-03-31", "2024-04-29"), ("2024-04-30", "2024-05-01")]
    list(tiktok.fetch_report(TOKEN, ACCOUNT, "account", "hour", date(2024, 4, 30), DAY))
    hourly = [c["query"]["start_date"] for c in platform.calls("/report/integrated/get/")[4:]]
    assert hourly == ["2024-04-30", "2024-05-01"]  # one day per hourly request


@pytest.mark.parametrize(
    "name, error",
    [
        ("rate_limited", RateLimited),
        ("token_expired", TokenExpired),
        ("revoked", AuthorizationRevoked),
        ("no_permission", AccountAccessLost),  # 40001 on one advertiser: that advertiser only
        ("server_error", TransientError),
        ("bad_param", PermanentError),
    ],
)
def test_codes_map_onto_the_taxonomy(tiktok, platform, name, error):
    platform.fail_next(name, path="/campaign/get/")
    with pytest.raises(error) as info:
        list(tiktok.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert type(info.value) is error and str(platform.errors[name]["code"]) in str(info.value)
    assert "tt-access-1" not in str(info.value) and info.value.endpoint == "campaign/get"


def test_unknown_codes_classified_by_message(tiktok, platform):
    platform.fail_next(
        {"code": 40999, "message": "Request frequency exceeds the limit", "request_id": "r", "data": {}},
        path="/campaign/get/",
    )
    with pytest.raises(RateLimited):
        list(tiktok.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    platform.fail_next({"code": 51001, "message": "Service busy", "request_id": "r", "data": {}}, path="/campaign/get/")
    with pytest.raises(TransientError):
        list(tiktok.fetch_metadata(TOKEN, ACCOUNT, "campaign"))


def test_malformed_rows_name_the_field(tiktok, platform):
    platform.fail_next("malformed", path="/report/")
    with pytest.raises(MalformedResponse, match=r"data\.list\.0\.metrics\.spend"):
        list(tiktok.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
    platform.fail_next(
        {
            "code": 0,
            "message": "OK",
            "data": {
                "list": [
                    {
                        "dimensions": {"advertiser_id": ADV, "stat_time_hour": "2024-05-01 25:00:00"},
                        "metrics": {"spend": "1", "impressions": "1"},
                    }
                ],
                "page_info": {"page": 1, "total_page": 1},
            },
        },
        path="/report/",
    )
    with pytest.raises(MalformedResponse, match="stat_time_hour"):
        list(tiktok.fetch_report(TOKEN, ACCOUNT, "account", "hour", DAY, DAY))
    platform.fail_next({"code": 0, "message": "OK", "data": {"list": []}}, path="/campaign/get/")
    with pytest.raises(MalformedResponse, match="page_info"):
        list(tiktok.fetch_metadata(TOKEN, ACCOUNT, "campaign"))


def test_authorization_flow_end_to_end(tiktok, platform):
    """TikTok's callback names the code `auth_code`; the base flow takes it, exchanges it and lists the advertisers."""
    from connectors.auth import AuthorizationFlow
    from tests.connectors.test_sandbox_oauth import MemoryAuthorizationStore

    store = MemoryAuthorizationStore()
    flow = AuthorizationFlow(tiktok, store)
    start = flow.start(redirect_uri=APP.redirect_uri, context={})
    result = flow.finish(params={"state": start.state, "auth_code": "tt-auth-code"})
    assert result.token.account_ids == (ADV, "7012345678901234568")
    assert [a.external_id for a in result.accounts] == [ADV, "7012345678901234568"] and len(store.saved) == 1
    start = flow.start(redirect_uri=APP.redirect_uri, context={})
    with pytest.raises(AuthorizationFailed, match="40002"):
        flow.finish(params={"state": start.state, "auth_code": "used-code"})
    assert len(store.saved) == 1  # nothing stored on failure
