"""Google Ads connector on recorded REST answers in the documented shapes (`responses`): the
shared contract, OAuth2 offline access (and against the sandbox's standards-compliant OAuth2
server), developer-token / login-customer-id headers, accounts under a manager, GAQL
searchStream decoded batch by batch, micros, and every mapped google.rpc status / error code."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from connectors.auth import pkce_pair
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
from connectors.google_ads import mapping
from connectors.google_ads.api import iter_array
from connectors.google_ads.connector import GoogleAdsConnector
from connectors.http import LocalRateLimiter
from tests.connectors.contract import ConnectorContract, Faults
from tests.connectors.test_oceanengine import TIMEOUT, FakePlatform

CID, MGR = "1112223333", "4445556666"
DAY = date(2024, 5, 1)
APP = AppConfig(
    client_id="123-abc.apps.googleusercontent.com",
    client_secret="g-secret",
    redirect_uri="https://ads.example.com/accounts/callback/google_ads/",
    extra={"developer_token": "DEV-TOKEN-1"},
)
TOKEN = TokenSet(access_token="ya29.g-access-1", refresh_token="1//0g-refresh-1")
ACCOUNT = AccountRef(external_id=CID, timezone="America/New_York", currency="USD")


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakePlatform(mock, "google_ads", "https://")


@pytest.fixture
def gads(platform):
    return GoogleAdsConnector(APP, limiter=LocalRateLimiter(sleep=lambda s: None))


class GoogleFaults(Faults):
    def __init__(self, platform):
        self.platform = platform

    def _next(self, name, status):
        @contextlib.contextmanager
        def arranged():
            self.platform.fail_next(name, path="googleAds:searchStream", status=status)
            yield

        return arranged()

    def rate_limited(self):
        return self._next("rate_limited", 429)

    def server_error(self):
        return self._next("unavailable", 503)

    def malformed(self):
        return self._next("malformed", 200)

    def token_expired(self):
        return self._next("token_expired", 401)

    def revoked(self):
        return self._next("token_revoked", 401)

    def slow(self):
        return self._next(TIMEOUT, 200)


class TestGoogleAdsContract(ConnectorContract):
    @pytest.fixture
    def connector(self, gads):
        return gads

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
        return GoogleFaults(platform)


def test_authorization_url_asks_for_offline_access(gads):
    _verifier, challenge = pkce_pair()
    parts = urlsplit(gads.authorization_url(state="st-2", redirect_uri=APP.redirect_uri, code_challenge=challenge))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    query = parse_qs(parts.query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"] and query["response_type"] == ["code"]
    assert query["scope"] == ["https://www.googleapis.com/auth/adwords"] and query["state"] == ["st-2"]
    assert query["client_id"] == [APP.client_id] and query["redirect_uri"] == [APP.redirect_uri]
    assert query["code_challenge"] == [challenge] and query["code_challenge_method"] == ["S256"]


def test_exchange_refresh_revoke(gads, platform):
    before = datetime.now(UTC)
    token = gads.exchange_code(code="4/0g-code", redirect_uri=APP.redirect_uri, code_verifier="v" * 50)
    form = platform.calls("/token")[0]["form"]
    assert (
        form["grant_type"] == "authorization_code" and form["code"] == "4/0g-code" and form["code_verifier"] == "v" * 50
    )
    assert (
        form["client_id"] == APP.client_id
        and form["client_secret"] == "g-secret"
        and form["redirect_uri"] == APP.redirect_uri
    )
    assert (token.access_token, token.refresh_token) == ("ya29.g-access-1", "1//0g-refresh-1")
    assert timedelta(minutes=59) < token.expires_at - before <= timedelta(hours=1, seconds=5)
    fresh = gads.refresh(token)
    assert fresh.access_token == "ya29.g-access-2" and fresh.refresh_token == "1//0g-refresh-1"  # no rotation
    assert platform.calls("/token")[1]["form"]["refresh_token"] == "1//0g-refresh-1"
    with pytest.raises(AuthorizationRevoked, match="invalid_grant"):
        gads.refresh(TokenSet(access_token="x", refresh_token="1//0g-revoked"))
    with pytest.raises(AuthorizationFailed, match="invalid_grant"):
        gads.exchange_code(code="used-code", redirect_uri=APP.redirect_uri)
    gads.revoke(token)
    assert platform.calls("/revoke")[0]["form"]["token"] == "1//0g-refresh-1"
    gads.revoke(TokenSet(access_token="x", refresh_token="1//0g-gone"))  # already revoked: done, no error


def test_list_accounts_through_manager_and_headers(gads, platform):
    accounts = list(gads.list_accounts(TOKEN))
    assert [(a.external_id, a.currency, a.timezone, a.status) for a in accounts] == [
        (CID, "USD", "America/New_York", "enabled"),
        ("5556667777", "EUR", "Europe/Paris", "enabled"),
    ]
    assert accounts[1].raw["login_customer_id"] == MGR  # reached through the manager; the cancelled one is skipped
    listing = platform.calls("listAccessibleCustomers")[0]["headers"]
    assert listing["developer-token"] == "DEV-TOKEN-1" and listing["Authorization"] == "Bearer ya29.g-access-1"
    assert "login-customer-id" not in listing
    clients = next(c for c in platform.calls(f"/customers/{MGR}/") if "customer_client" in c["json"]["query"])
    assert clients["headers"]["login-customer-id"] == MGR


def test_login_customer_id_from_the_app(platform):
    app = AppConfig(
        client_id="c", client_secret="s", extra={"developer_token": "DEV", "login_customer_id": "444-555-6666"}
    )
    connector = GoogleAdsConnector(app, limiter=LocalRateLimiter())
    list(connector.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert platform.calls("searchStream")[0]["headers"]["login-customer-id"] == MGR
    per_client = GoogleAdsConnector(
        AppConfig(
            client_id="c",
            extra={"developer_token": "DEV", "login_customer_id": "999", "login_customer_ids": {CID: "777-888-9999"}},
        ),
        limiter=LocalRateLimiter(),
    )
    list(per_client.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
    assert platform.calls("searchStream")[-1]["headers"]["login-customer-id"] == "7778889999"
    no_token = GoogleAdsConnector(AppConfig(client_id="c"), limiter=LocalRateLimiter())
    with pytest.raises(PermanentError, match="developer token"):
        list(no_token.fetch_metadata(TOKEN, ACCOUNT, "campaign"))


def test_metadata_levels(gads, platform):
    campaigns = list(gads.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert [(c.external_id, c.parent_external_id, c.status, c.deleted) for c in campaigns] == [
        ("20000000001", CID, "enabled", False),
        ("20000000002", CID, "removed", True),
    ]
    groups = list(gads.fetch_metadata(TOKEN, ACCOUNT, "ad_group"))
    assert [(g.external_id, g.parent_external_id, g.name) for g in groups] == [
        ("30000000001", "20000000001", "Brand exact"),
        ("30000000002", "20000000002", "Generic"),
    ]
    ads = list(gads.fetch_metadata(TOKEN, ACCOUNT, "ad"))  # two batches of the stream
    assert [(a.external_id, a.parent_external_id, a.status) for a in ads] == [
        ("600000000001", "30000000001", "enabled"),
        ("600000000002", "30000000001", "paused"),
        ("600000000003", "30000000002", "enabled"),
    ]
    assert ads[1].name == "Old text ad"
    assert platform.calls("searchStream")[2]["json"]["query"].endswith("FROM ad_group_ad")
    with pytest.raises(PermanentError, match="unknown level"):
        list(gads.fetch_metadata(TOKEN, ACCOUNT, "creative"))


def test_hourly_rows_micros_and_omitted_zeros(gads, platform):
    rows = list(gads.fetch_report(TOKEN, ACCOUNT, "campaign", "hour", DAY, DAY))
    assert [(r.entity_id, r.stat_time.hour) for r in rows] == [
        ("20000000001", 0),
        ("20000000001", 14),
        ("20000000002", 0),
        ("20000000002", 14),
    ]
    r = rows[1]
    assert r.stat_time.utcoffset() == timedelta(hours=-4)  # New York, daylight time in May
    assert (r.impressions, r.clicks, r.cost, r.conversions, r.currency) == (814, 34, Decimal("12.48"), 0.5, "USD")
    assert r.extra["conversions_value"] == 25.0 and r.extra["average_cpc"] == pytest.approx(12_480_000 / 34)
    assert "cost_micros" not in r.extra and "costMicros" not in r.extra
    assert rows[0].conversions == 0.0 and "cost_per_conversion" not in rows[0].extra  # omitted zero metric
    query = platform.calls("searchStream")[0]["json"]["query"]
    assert query == mapping.report_query("campaign", "hour", DAY, DAY)
    assert "segments.hour" in query and "WHERE segments.date BETWEEN '2024-05-01' AND '2024-05-01'" in query


def test_daily_rows_at_ad_level(gads, platform):
    rows = list(gads.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    assert [r.entity_id for r in rows] == ["600000000001", "600000000003"]
    assert (rows[0].impressions, rows[0].cost, rows[0].conversions) == (15200, Decimal("312.7"), 12.5)
    assert rows[0].stat_time == datetime(2024, 5, 1, tzinfo=rows[0].stat_time.tzinfo)


@pytest.mark.parametrize(
    "name, status, error, retry_after",
    [
        ("token_expired", 401, TokenExpired, None),
        ("token_invalid", 401, TokenExpired, None),
        ("token_revoked", 401, AuthorizationRevoked, None),
        ("revoked", 403, AccountAccessLost, None),  # USER_PERMISSION_DENIED: one customer
        ("customer_not_enabled", 403, AccountAccessLost, None),
        ("developer_token", 403, PermanentError, None),
        ("rate_limited", 429, RateLimited, 30.0),
        ("daily_quota", 429, RateLimited, 7863.0),
        ("server_error", 500, TransientError, None),
        ("unavailable", 503, TransientError, None),
        ("bad_query", 400, PermanentError, None),
    ],
)
def test_errors_map_onto_the_taxonomy(gads, platform, name, status, error, retry_after):
    platform.fail_next(name, path="googleAds:searchStream", status=status)
    with pytest.raises(error) as info:
        list(gads.fetch_metadata(TOKEN, ACCOUNT, "campaign"))
    assert type(info.value) is error
    code = next(iter(platform.errors[name]["error"]["details"][0]["errors"][0]["errorCode"].values()))
    assert code in str(info.value) and "Zx9aBcDeFgHiJkLm" in str(info.value)
    assert "ya29" not in str(info.value) and "DEV-TOKEN-1" not in str(info.value)
    if retry_after is not None:
        assert info.value.retry_after == retry_after


def test_stream_failing_midway_and_as_array(gads, platform):
    batch = platform.entries[-1]["body"][0]  # any good batch
    platform.fail_next([batch, platform.errors["unavailable"]], path="googleAds:searchStream", status=200)
    with pytest.raises(TransientError, match="TRANSIENT_ERROR"):
        list(gads.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    platform.fail_next(
        [platform.errors["rate_limited"]], path="googleAds:searchStream", status=429
    )  # error wrapped in the array
    with pytest.raises(RateLimited) as info:
        list(gads.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY, DAY))
    assert info.value.retry_after == 30.0


def test_malformed_answers_name_the_field(gads, platform):
    platform.fail_next("malformed", path="googleAds:searchStream")
    with pytest.raises(MalformedResponse, match=r"0\.results\.0\.metrics\.costMicros"):
        list(gads.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
    platform.fail_next('[{"results": [{"customer": {"id": "1"}', path="googleAds:searchStream")
    with pytest.raises(MalformedResponse, match="not valid JSON"):
        list(gads.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
    platform.fail_next({"results": []}, path="googleAds:searchStream")
    with pytest.raises(MalformedResponse, match="array"):
        list(gads.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))


class _Chunks:
    def __init__(self, data: bytes, size: int):
        self.data, self.size = data, size

    def iter_content(self, chunk_size=None):
        for i in range(0, len(self.data), self.size):
            yield self.data[i : i + self.size]


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_iter_array_decodes_batch_by_batch_across_chunk_borders(size):
    batches = [{"results": [{"campaign": {"name": "Café ☕ " * 3, "id": str(n)}}]} for n in range(5)]
    data = (" [\n" + ",\n ".join(json.dumps(b, ensure_ascii=False) for b in batches) + "\n] ").encode()
    where = {"platform": "google_ads", "endpoint": "x"}
    seen = []
    for item in iter_array(_Chunks(data, size), where):
        seen.append(item)
    assert seen == batches
    assert list(iter_array(_Chunks(b"[]", size), where)) == []
    with pytest.raises(MalformedResponse, match="closed"):
        list(iter_array(_Chunks(b'[{"a": 1},', size), where))


def test_standard_oauth2_server_code_flow_with_pkce(sandbox_server, settings):
    """Google's endpoints pointed (through settings) at the sandbox's standards-compliant OAuth2
    server: authorization code with PKCE, refresh, revoke."""
    from connectors.registry import endpoints_for

    base = sandbox_server.base
    settings.PLATFORM_ENDPOINTS = {
        **settings.PLATFORM_ENDPOINTS,
        "google_ads": {
            "authorize": f"{base}/oauth/authorize",
            "token": f"{base}/oauth/token",
            "revoke": f"{base}/oauth/revoke",
        },
    }
    connector = GoogleAdsConnector(
        AppConfig(client_id="g-std", client_secret="g-std-secret", extra={"developer_token": "D"}),
        limiter=LocalRateLimiter(),
        endpoints=endpoints_for("google_ads"),
    )
    assert connector.endpoints["api"] == "https://googleads.googleapis.com/v24"
    redirect = "http://127.0.0.1/accounts/callback/google_ads/"
    verifier, challenge = pkce_pair()
    url = connector.authorization_url(state="g-state", redirect_uri=redirect, code_challenge=challenge)
    answer = requests.get(f"{url}&auto_approve=1&profile=1:1:3", allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["g-state"]
    with pytest.raises(AuthorizationFailed):  # the PKCE verifier is checked
        connector.exchange_code(code=query["code"][0], redirect_uri=redirect, code_verifier="wrong" * 10)
    url = connector.authorization_url(state="g-state-2", redirect_uri=redirect, code_challenge=challenge)
    answer = requests.get(f"{url}&auto_approve=1&profile=1:1:3", allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    token = connector.exchange_code(code=code, redirect_uri=redirect, code_verifier=verifier)
    assert token.access_token and token.refresh_token
    fresh = connector.refresh(token)
    assert fresh.access_token and fresh.access_token != token.access_token and fresh.refresh_token
    connector.revoke(fresh)
    with pytest.raises(AuthorizationRevoked, match="invalid_grant"):
        connector.refresh(fresh)


@pytest.mark.redis
def test_retry_delay_pauses_every_worker_through_redis(platform, settings):
    """RESOURCE_EXHAUSTED's retryDelay seen by one worker holds back the others sharing the app."""
    import time

    import redis

    from connectors.http import RedisRateLimiter

    client = redis.Redis.from_url(settings.REDIS_URL or settings.CELERY_BROKER_URL)
    app = AppConfig(client_id=f"g-redis-{time.time_ns()}", client_secret="s", extra={"developer_token": "D"})
    first = GoogleAdsConnector(app, limiter=RedisRateLimiter(client, sleep=lambda s: None))
    second = GoogleAdsConnector(app, limiter=RedisRateLimiter(client, sleep=lambda s: None))
    platform.fail_next("daily_quota", path="googleAds:searchStream", status=429)
    try:
        with pytest.raises(RateLimited):
            list(first.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
        calls = len(platform.log)
        with pytest.raises(RateLimited, match="shared rate limit") as info:
            list(second.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY, DAY))
        assert info.value.retry_after > 3000 and len(platform.log) == calls
    finally:
        client.delete(RedisRateLimiter.prefix + first.http.bucket)


def test_authorization_flow_end_to_end(gads, platform):
    """State + PKCE verifier kept by the base flow, code exchanged with it, accessible customers discovered."""
    from connectors.auth import AuthorizationFlow
    from tests.connectors.test_sandbox_oauth import MemoryAuthorizationStore

    store = MemoryAuthorizationStore()
    flow = AuthorizationFlow(gads, store)
    start = flow.start(redirect_uri=APP.redirect_uri, context={"user": 1})
    assert parse_qs(urlsplit(start.url).query)["code_challenge_method"] == ["S256"]
    result = flow.finish(
        params={"state": start.state, "code": "4/0g-code", "scope": "https://www.googleapis.com/auth/adwords"}
    )
    assert platform.calls("/token")[0]["form"]["code_verifier"]
    assert result.token.refresh_token == "1//0g-refresh-1" and [a.external_id for a in result.accounts] == [
        CID,
        "5556667777",
    ]
