"""Meta connector on recorded Graph API answers in the documented shapes (`responses`): the
shared contract, the login flow (code -> short-lived -> long-lived token, no refresh token),
cursor paging, Insights sync and async report runs (poll, page, split on failure), usage
headers and every mapped error code."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
from datetime import UTC, date, datetime, timedelta
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
from connectors.meta.connector import MetaConnector
from tests.connectors.contract import ConnectorContract, Faults
from tests.connectors.test_oceanengine import TIMEOUT, FakePlatform

ACT = "1234567890"
DAY = date(2024, 5, 1)
APP = AppConfig(
    client_id="1712345", client_secret="meta-secret", redirect_uri="https://ads.example.com/accounts/callback/meta/"
)
TOKEN = TokenSet(access_token="meta-long-1", expires_at=datetime(2099, 1, 1, tzinfo=UTC))
ACCOUNT = AccountRef(external_id=ACT, timezone="America/Los_Angeles", currency="USD")
BUC = "X-Business-Use-Case-Usage"


class Clock:
    """A sleep that only counts, so async polls and limiter waits take no time."""

    def __init__(self):
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakePlatform(mock, "meta", "https://graph.facebook.com")
        mock.add_callback("DELETE", re.compile(r"https://graph\.facebook\.com/.*"), callback=fake._answer)
        yield fake


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def limiter(clock):
    return LocalRateLimiter(sleep=clock)


@pytest.fixture
def meta(platform, limiter, clock):
    connector = MetaConnector(APP, limiter=limiter)
    connector.sleep = clock
    return connector


class MetaFaults(Faults):
    def __init__(self, platform):
        self.platform = platform

    def _next(self, name, status=400, headers=None, times=1):
        @contextlib.contextmanager
        def arranged():
            self.platform.fail_next(name, path="/insights", status=status, headers=headers, times=times)
            yield

        return arranged()

    def rate_limited(self):
        usage = {
            "9900": [
                {
                    "type": "ads_insights",
                    "call_count": 100,
                    "total_cputime": 40,
                    "total_time": 60,
                    "estimated_time_to_regain_access": 5,
                }
            ]
        }
        return self._next("rate_limited", headers={BUC: json.dumps(usage)})

    def server_error(self):
        return self._next("server_error", status=500)

    def malformed(self):
        return self._next("malformed", status=200)

    def token_expired(self):
        return self._next("token_expired")

    def revoked(self):
        return self._next("revoked")

    def slow(self):
        return self._next(TIMEOUT)


class TestMetaContract(ConnectorContract):
    @pytest.fixture
    def connector(self, meta):
        return meta

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
        return MetaFaults(platform)


def test_authorization_url(meta):
    parts = urlsplit(meta.authorization_url(state="st-1", redirect_uri=APP.redirect_uri))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.facebook.com/v25.0/dialog/oauth"
    query = parse_qs(parts.query)
    assert query == {
        "client_id": [APP.client_id],
        "redirect_uri": [APP.redirect_uri],
        "state": ["st-1"],
        "scope": ["ads_read,business_management"],
        "response_type": ["code"],
    }
    business = MetaConnector(AppConfig(client_id="1", extra={"config_id": "777"}))
    query = parse_qs(urlsplit(business.authorization_url(state="s", redirect_uri="https://x/cb")).query)
    assert query["config_id"] == ["777"] and "scope" not in query


def test_code_exchange_then_long_lived_token(meta, platform):
    before = datetime.now(UTC)
    token = meta.exchange_code(code="meta-code", redirect_uri=APP.redirect_uri)
    first, second = platform.calls("/oauth/access_token")
    assert first["query"] == {
        "client_id": APP.client_id,
        "redirect_uri": APP.redirect_uri,
        "client_secret": "meta-secret",
        "code": "meta-code",
    }
    assert second["query"] == {
        "grant_type": "fb_exchange_token",
        "client_id": APP.client_id,
        "client_secret": "meta-secret",
        "fb_exchange_token": "meta-short-1",
    }
    assert token.access_token == "meta-long-1" and token.refresh_token == ""
    assert timedelta(days=59) < token.expires_at - before <= timedelta(days=60, seconds=5)
    assert "access_token" not in token.raw
    with pytest.raises(AuthorizationFailed, match="36009") as info:
        meta.exchange_code(code="used-code", redirect_uri=APP.redirect_uri)
    assert "meta-secret" not in str(info.value)


def test_no_refresh_token_policy(meta, platform):
    assert not meta.spec.supports_refresh and meta.spec.refresh_token_lifetime is None
    assert meta.refresh(TOKEN) is TOKEN  # still accepted by Meta (GET /me): nothing to renew, fetching goes on
    platform.fail_next("token_expired", path="/me", status=400)
    with pytest.raises(AuthorizationRevoked, match=r"463.*re-authorize"):
        meta.refresh(TOKEN)
    with pytest.raises(AuthorizationRevoked, match="re-authorize"):
        meta.refresh(TokenSet(access_token="old", expires_at=datetime(2024, 1, 1, tzinfo=UTC)))
    now = datetime(2024, 5, 1, tzinfo=UTC)
    assert meta.reauthorization_due(TokenSet(access_token="x", expires_at=now + timedelta(days=6)), now=now)
    assert not meta.reauthorization_due(TokenSet(access_token="x", expires_at=now + timedelta(days=8)), now=now)
    assert not meta.reauthorization_due(
        TokenSet(access_token="system-user"), now=now
    )  # system-user tokens do not expire


def test_revoke_deletes_the_permissions(meta, platform):
    meta.revoke(TOKEN)
    (call,) = platform.calls("/me/permissions")
    assert call["method"] == "DELETE" and call["query"]["access_token"] == "meta-long-1"
    assert call["query"]["appsecret_proof"] == hmac.new(b"meta-secret", b"meta-long-1", hashlib.sha256).hexdigest()


def test_list_accounts_follows_cursors(meta, platform):
    accounts = list(meta.list_accounts(TOKEN))
    assert [(a.external_id, a.currency, a.timezone, a.status) for a in accounts] == [
        (ACT, "USD", "America/Los_Angeles", "active"),
        ("1234567891", "USD", "America/New_York", "closed"),
        ("1234567892", "EUR", "Europe/Berlin", "active"),
    ]
    first, second = platform.calls("/me/adaccounts")
    assert "after" not in first["query"] and second["query"]["after"] == "QVFIUmFjYzI"
    proof = hmac.new(b"meta-secret", b"meta-long-1", hashlib.sha256).hexdigest()
    assert first["query"]["appsecret_proof"] == proof and second["query"]["appsecret_proof"] == proof


def test_metadata_levels_parents_and_paging(meta, platform):
    campaigns = list(meta.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert [(c.external_id, c.status, c.deleted, c.parent_external_id) for c in campaigns] == [
        ("120200000000000001", "active", False, ACT),
        ("120200000000000002", "paused", False, ACT),
        ("120200000000000003", "archived", False, ACT),
    ]
    assert platform.calls("/campaigns")[0]["query"]["limit"] == "500"
    assert "ARCHIVED" in json.loads(
        platform.calls("/campaigns")[0]["query"]["effective_status"]
    )  # archived objects too
    ads = list(meta.fetch_metadata(TOKEN, ACCOUNT, "ad"))
    assert [(a.external_id, a.parent_external_id, a.status) for a in ads][2] == (
        "120200000000001003",
        "120200000000000102",
        "adset_paused",
    )
    assert ads[0].raw["creative"] == {"id": "120200000000009001"}
    creatives = list(meta.fetch_metadata(TOKEN, ACCOUNT, "creative"))
    assert {c.parent_external_id for c in creatives} == {ACT}
    (account,) = meta.fetch_metadata(TOKEN, ACCOUNT, "account")
    assert (account.external_id, account.name) == (ACT, "Example US")
    with pytest.raises(PermanentError, match="unknown level"):
        list(meta.fetch_metadata(TOKEN, ACCOUNT, "keyword"))


def test_hourly_rows_in_the_account_timezone(meta, platform):
    rows = list(meta.fetch_report(TOKEN, ACCOUNT, "ad", "hour", DAY, DAY))
    assert [(r.entity_id, r.stat_time.hour) for r in rows] == [
        ("120200000000001001", 9),
        ("120200000000001001", 10),
        ("120200000000001003", 9),
        ("120200000000001003", 10),
    ]
    r = rows[3]
    assert r.stat_time == datetime(2024, 5, 1, 10, tzinfo=r.stat_time.tzinfo) and r.stat_time.utcoffset() == timedelta(
        hours=-7
    )
    assert (r.impressions, r.clicks, r.cost, r.conversions, r.currency) == (1400, 41, Decimal("36.50"), 1.0, "USD")
    assert (
        r.extra["actions.link_click"] == 38.0 and r.extra["action_values.offsite_conversion.fb_pixel_purchase"] == 39.9
    )
    assert "reach" not in r.extra and "date_start" not in r.extra and "ad_id" not in r.extra
    query = platform.calls("/insights")[0]["query"]
    assert query["level"] == "ad" and query["breakdowns"] == "hourly_stats_aggregated_by_advertiser_time_zone"
    assert (
        json.loads(query["time_range"]) == {"since": "2024-05-01", "until": "2024-05-01"}
        and query["time_increment"] == "1"
    )
    assert {"campaign_id", "adset_id", "ad_id", "spend"} <= set(query["fields"].split(",")) and "reach" not in query[
        "fields"
    ]


def test_daily_rows_keep_every_metric(meta, platform):
    (row, _second) = meta.fetch_report(TOKEN, ACCOUNT, "ad_group", "day", DAY, DAY)
    assert row.entity_id == "120200000000000101" and row.stat_time == datetime(2024, 5, 1, tzinfo=row.stat_time.tzinfo)
    assert (row.impressions, row.clicks, row.cost, row.conversions) == (15200, 480, Decimal("312.70"), 12.0)
    assert (
        row.extra["reach"] == 12160.0 and row.extra["frequency"] == 1.25 and row.extra["ctr"] == pytest.approx(3.157895)
    )
    assert platform.calls("/insights")[0]["query"]["level"] == "adset"


def test_long_range_runs_async_polls_and_pages(meta, platform, clock):
    platform.fail_next(
        {"id": "6023456789012", "async_status": "Job Running", "async_percent_completion": 40}, path="/6023456789012"
    )
    platform.fail_next(
        {"id": "6023456789012", "async_status": "Job Started", "async_percent_completion": 90}, path="/6023456789012"
    )
    rows = list(meta.fetch_report(TOKEN, ACCOUNT, "campaign", "day", date(2024, 4, 1), date(2024, 4, 28)))
    assert [(r.entity_id, r.stat_time.date().isoformat()) for r in rows] == [
        ("120200000000000001", "2024-04-01"),
        ("120200000000000002", "2024-04-01"),
        ("120200000000000002", "2024-04-28"),
    ]
    (start,) = [c for c in platform.log if c["method"] == "POST"]
    assert json.loads(start["query"]["time_range"]) == {"since": "2024-04-01", "until": "2024-04-28"}
    assert len([c for c in platform.log if c["path"] == "/v25.0/6023456789012"]) == 3
    assert clock.slept[:2] == [1.0, 2.0]  # backs off between polls
    assert platform.calls("/6023456789012/insights")[1]["query"]["after"] == "cnVuMg"


def test_failed_async_run_is_split_in_halves(meta, platform):
    platform.fail_next(
        {"id": "6023456789012", "async_status": "Job Failed", "async_percent_completion": 0}, path="/6023456789012"
    )
    rows = list(meta.fetch_report(TOKEN, ACCOUNT, "campaign", "day", date(2024, 4, 1), date(2024, 4, 28)))
    ranges = [json.loads(c["query"]["time_range"]) for c in platform.log if c["method"] == "POST"]
    assert ranges == [
        {"since": "2024-04-01", "until": "2024-04-28"},
        {"since": "2024-04-01", "until": "2024-04-14"},
        {"since": "2024-04-15", "until": "2024-04-28"},
    ]
    # each half pages the recorded results and keeps only the rows of its own days
    assert [(r.entity_id, r.stat_time.day) for r in rows] == [
        ("120200000000000001", 1),
        ("120200000000000002", 1),
        ("120200000000000002", 28),
    ]
    always_async = MetaConnector(AppConfig(client_id="1712345", extra={"sync_max_days": 0}), limiter=LocalRateLimiter())
    always_async.sleep = lambda s: None
    platform.fail_next({"id": "6023456789012", "async_status": "Job Skipped"}, path="/6023456789012")
    with pytest.raises(TransientError, match="one day"):
        list(always_async.fetch_report(TOKEN, ACCOUNT, "campaign", "day", date(2024, 4, 1), date(2024, 4, 1)))


def test_too_much_data_falls_back_to_async(meta, platform):
    platform.fail_next("too_much_data", path=f"/act_{ACT}/insights", status=500)
    rows = list(meta.fetch_report(TOKEN, ACCOUNT, "campaign", "day", date(2024, 4, 1), date(2024, 4, 1)))
    assert [r.entity_id for r in rows] == ["120200000000000001", "120200000000000002"]
    assert [c["method"] for c in platform.calls(f"/act_{ACT}/insights")] == ["GET", "POST"]


def test_too_much_data_after_rows_went_out_is_not_restarted(meta, platform):
    first = {
        "data": [
            {
                "account_id": ACT,
                "impressions": "5",
                "spend": "1.00",
                "date_start": "2024-05-01",
                "date_stop": "2024-05-01",
            }
        ],
        "paging": {
            "cursors": {"after": "p2"},
            "next": f"https://graph.facebook.com/v25.0/act_{ACT}/insights?after=p2&access_token=meta-long-1",
        },
    }
    platform.fail_next(first, path=f"/act_{ACT}/insights", status=200)
    platform.fail_next("too_much_data", path=f"/act_{ACT}/insights", status=500)
    report = meta.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY)
    assert next(report).impressions == 5
    with pytest.raises(TransientError, match="reduce the amount"):
        next(report)
    assert [c["method"] for c in platform.calls(f"/act_{ACT}/insights")] == ["GET", "GET"]


@pytest.mark.parametrize(
    "name, error",
    [
        ("token_expired", TokenExpired),
        ("revoked", AuthorizationRevoked),
        ("not_installed", AuthorizationRevoked),
        ("permission", AccountAccessLost),  # on one ad account: that account only
        ("rate_limited", RateLimited),
        ("app_limit", RateLimited),
        ("user_limit", RateLimited),
        ("too_many_changes", RateLimited),
        ("server_error", TransientError),
        ("unknown", TransientError),
        ("bad_param", PermanentError),
    ],
)
def test_error_codes_map_onto_the_taxonomy(meta, platform, name, error):
    platform.fail_next(name, path="/campaigns", status=400)
    with pytest.raises(error) as info:
        list(meta.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert type(info.value) is error and str(platform.errors[name]["error"]["code"]) in str(info.value)
    assert "meta-long-1" not in str(info.value) and info.value.endpoint == "campaigns"


def test_rate_limit_uses_regain_time_and_pauses_the_shared_bucket(meta, platform, limiter):
    usage = {
        "9900": [
            {
                "type": "ads_management",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 20,
                "estimated_time_to_regain_access": 7,
            }
        ]
    }
    platform.fail_next("rate_limited", path="/campaigns", status=400, headers={BUC: json.dumps(usage)})
    with pytest.raises(RateLimited) as info:
        list(meta.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert info.value.retry_after == 420.0
    platform.fail_next(
        "rate_limited", path="/campaigns", status=200, headers={BUC: json.dumps(usage)}
    )  # an error body behind a 200
    with pytest.raises(RateLimited) as info:
        list(
            MetaConnector(APP, limiter=LocalRateLimiter(sleep=lambda s: None)).fetch_metadata(
                TOKEN, ACCOUNT, "campaign"
            )
        )
    assert info.value.retry_after == 420.0
    with pytest.raises(RateLimited):  # every worker sharing the bucket now waits instead of calling Meta
        limiter.acquire(meta.http.bucket, rate=10, burst=10, max_wait=60)
    platform.fail_next("app_limit", path="/campaigns")
    other = MetaConnector(APP, limiter=LocalRateLimiter(sleep=lambda s: None))
    with pytest.raises(RateLimited) as info:
        list(other.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert info.value.retry_after == 60.0  # no header: a minute


def test_high_usage_on_success_pauses_before_meta_refuses(meta, platform, limiter, clock):
    platform.fail_next(
        {"data": [], "paging": {"cursors": {}}},
        path="/campaigns",
        status=200,
        headers={
            "X-Ad-Account-Usage": json.dumps(
                {"acc_id_util_pct": 97.5, "reset_time_duration": 120, "ads_api_access_tier": "standard_access"}
            ),
            "X-App-Usage": "not json",
        },
    )
    assert list(meta.fetch_metadata(TOKEN, ACCOUNT, "campaign")) == []
    wait = limiter.acquire(meta.http.bucket, rate=10, burst=10, max_wait=600)
    assert 110 < wait <= 120


def test_malformed_answers_name_the_field(meta, platform):
    platform.fail_next("malformed", path="/insights", status=200)
    with pytest.raises(MalformedResponse, match=r"data\.0\.spend"):
        list(meta.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
    platform.fail_next(
        {
            "data": [
                {
                    "account_id": ACT,
                    "impressions": "1",
                    "spend": "1",
                    "date_start": "2024-05-01",
                    "hourly_stats_aggregated_by_advertiser_time_zone": "25:00:00",
                }
            ]
        },
        path="/insights",
        status=200,
    )
    with pytest.raises(MalformedResponse, match="hourly_stats_aggregated_by_advertiser_time_zone"):
        list(meta.fetch_report(TOKEN, ACCOUNT, "account", "hour", DAY, DAY))
    platform.fail_next({"items": []}, path="/campaigns", status=200)
    with pytest.raises(MalformedResponse, match="'data'"):
        list(meta.fetch_metadata(TOKEN, ACCOUNT, "campaign"))


@pytest.mark.redis
def test_regain_time_pauses_every_worker_through_redis(platform, settings):
    """Two workers (two connectors, two Redis limiters, one app): Meta's regain time seen by one
    makes the other give its slot back (RateLimited from the shared bucket) without calling Meta."""
    import time

    import redis

    from connectors.http import RedisRateLimiter

    client = redis.Redis.from_url(settings.REDIS_URL or settings.CELERY_BROKER_URL)
    app = AppConfig(client_id=f"meta-redis-{time.time_ns()}", client_secret="s")
    first = MetaConnector(app, limiter=RedisRateLimiter(client, sleep=lambda s: None))
    second = MetaConnector(app, limiter=RedisRateLimiter(client, sleep=lambda s: None))
    assert first.http.bucket == second.http.bucket
    usage = {
        "9900": [
            {
                "type": "ads_insights",
                "call_count": 100,
                "total_cputime": 20,
                "total_time": 20,
                "estimated_time_to_regain_access": 3,
            }
        ]
    }
    platform.fail_next("rate_limited", path="/insights", status=400, headers={BUC: json.dumps(usage)})
    try:
        with pytest.raises(RateLimited) as info:
            list(first.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
        assert info.value.retry_after == 180.0
        calls = len(platform.log)
        with pytest.raises(RateLimited, match="shared rate limit") as info:
            list(second.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
        assert 170 < info.value.retry_after <= 180 and len(platform.log) == calls  # Meta was not called again
    finally:
        client.delete(RedisRateLimiter.prefix + first.http.bucket)


def test_authorization_flow_end_to_end(meta, platform):
    """The invariant steps (state, callback, exchange, account discovery, save) with Meta's variable ones."""
    from connectors.auth import AuthorizationFlow
    from tests.connectors.test_sandbox_oauth import MemoryAuthorizationStore

    store = MemoryAuthorizationStore()
    flow = AuthorizationFlow(meta, store)
    start = flow.start(redirect_uri=APP.redirect_uri, context={"session": "s1"})
    assert parse_qs(urlsplit(start.url).query)["state"] == [start.state]
    with pytest.raises(AuthorizationFailed, match="access_denied"):
        flow.finish(
            params={
                "state": start.state,
                "error": "access_denied",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
            },
            expect={"session": "s1"},
        )
    start = flow.start(redirect_uri=APP.redirect_uri, context={"session": "s1"})
    result = flow.finish(params={"state": start.state, "code": "meta-code"}, expect={"session": "s1"})
    assert result.token.access_token == "meta-long-1" and len(result.accounts) == 3 and store.saved
