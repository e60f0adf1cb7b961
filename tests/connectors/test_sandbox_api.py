"""The sandbox marketing API through SandboxConnector: paging, determinism, restatement,
time zones, rate limits and faults mapped onto connectors.errors."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests

from connectors.base import AccountRef
from connectors.errors import AuthorizationRevoked, MalformedResponse, PermanentError, RateLimited, TransientError
from connectors.http import HTTP_RETRIES
from connectors.sandbox import connector as sandbox_connector

DAY = date(2026, 1, 15)


@pytest.fixture
def connector(sandbox_server):
    return sandbox_server.connector()


@pytest.fixture
def token(sandbox_server, connector):
    return sandbox_server.authorize(connector, profile="1:2:40")


@pytest.fixture
def account(sandbox_server, connector, token):
    return sandbox_server.account_ref(token, connector=connector)  # 1000400000, America/New_York, USD


def totals(rows):
    return (
        sum(r.impressions for r in rows),
        sum(r.clicks for r in rows),
        sum(r.cost for r in rows),
        sum(r.conversions for r in rows),
    )


def test_hierarchy_and_cursor_paging(sandbox_server, connector, token, account):
    ads = list(connector.fetch_metadata(token, account, "ad"))
    assert len(ads) == 40 and len({a.external_id for a in ads}) == 40
    groups = list(connector.fetch_metadata(token, account, "ad_group"))
    campaigns = list(connector.fetch_metadata(token, account, "campaign"))
    assert (len(groups), len(campaigns)) == (8, 2)
    assert {a.parent_external_id for a in ads} == {g.external_id for g in groups}
    assert {g.parent_external_id for g in groups} == {c.external_id for c in campaigns}
    assert {c.parent_external_id for c in campaigns} == {account.external_id}
    assert {a.status for a in ads} <= {"active", "paused", "deleted"} and any(a.deleted for a in ads) == any(
        a.status == "deleted" for a in ads
    )
    # raw cursor paging with a small page returns the same objects, each once
    seen, cursor, pages = [], None, 0
    while True:
        r = requests.get(
            f"{sandbox_server.base}/api/v1/advertisers/{account.external_id}/ads",
            params={"limit": 7, **({"cursor": cursor} if cursor else {})},
            headers={"Authorization": f"Bearer {token.access_token}"},
            timeout=10,
        ).json()
        seen += [item["id"] for item in r["data"]]
        pages += 1
        cursor = r["paging"]["next_cursor"]
        if not cursor:
            break
    assert pages == 6 and seen == [a.external_id for a in ads]


def test_report_paging_is_seamless(monkeypatch, sandbox_server, connector, token, account):
    whole = list(connector.fetch_report(token, account, "ad", "hour", DAY, DAY))
    calls = sandbox_server.stats["api"]
    monkeypatch.setattr(sandbox_connector, "PAGE_SIZE", 50)
    paged = list(connector.fetch_report(token, account, "ad", "hour", DAY, DAY))
    assert paged == whole and len(whole) > 100
    assert sandbox_server.stats["api"] - calls == -(-len(whole) // 50)


def test_numbers_are_deterministic_and_add_up(connector, token, account):
    hourly = list(connector.fetch_report(token, account, "ad", "hour", DAY, DAY))
    assert hourly == list(connector.fetch_report(token, account, "ad", "hour", DAY, DAY))
    # exact figures: the seed fixes them (a change to the generator shows up here)
    assert totals(hourly) == (346550, 7361, Decimal("6897.36"), 474.0)
    daily_ads = list(connector.fetch_report(token, account, "ad", "day", DAY, DAY))
    daily_account = list(connector.fetch_report(token, account, "account", "day", DAY, DAY))
    daily_campaigns = list(connector.fetch_report(token, account, "campaign", "day", DAY, DAY))
    assert totals(daily_ads) == totals(daily_account) == totals(daily_campaigns) == totals(hourly)
    assert len(daily_account) == 1 and daily_account[0].stat_time == datetime(
        2026, 1, 15, tzinfo=ZoneInfo("America/New_York")
    )
    per_ad = defaultdict(int)
    for r in hourly:
        per_ad[r.entity_id] += r.impressions
    assert per_ad == {r.entity_id: r.impressions for r in daily_ads}
    assert (
        set(daily_account[0].extra) == {"video_play", "like", "share", "follow"} and daily_account[0].currency == "USD"
    )


def test_hourly_rows_follow_dst(connector, token, account):
    assert account.timezone == "America/New_York"
    fall_back = list(connector.fetch_report(token, account, "account", "hour", date(2025, 11, 2), date(2025, 11, 2)))
    spring = list(connector.fetch_report(token, account, "account", "hour", date(2025, 3, 9), date(2025, 3, 9)))
    assert (len(fall_back), len(spring)) == (25, 23)
    assert len({r.stat_time.astimezone(UTC) for r in fall_back}) == 25  # the repeated 01:00: two instants
    assert [r.stat_time.utcoffset() for r in fall_back[:3]] == [timedelta(hours=-4)] * 2 + [timedelta(hours=-5)]


def test_recent_days_are_restated_once(sandbox_server, connector, token, account):
    day = date(2026, 3, 10)
    at = lambda d: datetime(d.year, d.month, d.day, 18, tzinfo=UTC)  # noqa: E731
    sandbox_server.configure(now=at(day + timedelta(days=1)))
    preliminary = next(iter(connector.fetch_report(token, account, "account", "day", day, day)))
    sandbox_server.configure(now=at(day + timedelta(days=4)))
    final = next(iter(connector.fetch_report(token, account, "account", "day", day, day)))
    sandbox_server.configure(now=at(day + timedelta(days=30)))
    later = next(iter(connector.fetch_report(token, account, "account", "day", day, day)))
    assert preliminary.impressions == final.impressions and preliminary.cost == final.cost
    assert preliminary.conversions < final.conversions == later.conversions
    assert (
        preliminary.conversions == int(final.conversions * 0.8)
        or abs(preliminary.conversions - final.conversions * 0.8) <= 1
    )


def test_today_has_only_the_hours_begun(sandbox_server, connector, token, account):
    now = datetime(2026, 2, 3, 15, 30, tzinfo=UTC)  # 10:30 in New York
    sandbox_server.configure(now=now)
    rows = list(connector.fetch_report(token, account, "account", "hour", date(2026, 2, 3), date(2026, 2, 4)))
    assert [r.stat_time.hour for r in rows] == list(range(11))
    assert list(connector.fetch_report(token, account, "account", "day", date(2026, 2, 4), date(2026, 2, 5))) == []


def test_rate_limit_is_rate_limited_with_retry_after(sandbox_server, connector, token, account):
    sandbox_server.configure(rate_limit_requests=3, rate_limit_period=60)
    connector.http.rate = None  # a client without a limiter ignores the hints and meets the 429
    connector.http.configure_retries(0)  # and does not wait Retry-After out inside the request
    for _ in range(3):
        list(connector.fetch_metadata(token, account, "account"))
    with pytest.raises(RateLimited) as info:
        list(connector.fetch_metadata(token, account, "campaign"))
    assert info.value.retry_after == 20 and "HTTP 429 rate limited; retry after 20s" in str(info.value)
    assert sandbox_server.stats["rate_limited"] == 1


def test_injected_faults(sandbox_server, connector, token, account):
    sandbox_server.inject("malformed", path="/reports")
    with pytest.raises(MalformedResponse) as info:
        list(connector.fetch_report(token, account, "ad", "day", DAY, DAY))
    assert info.value.field == "data.rows.0.show"
    assert str(info.value) == (
        f"[sandbox] reports (account {account.external_id}): malformed response "
        "(field 'data.rows.0.show'): data.rows.0.show should be an integer, got str 'n/a'"
    )
    sandbox_server.inject("malformed", path="/ads")
    with pytest.raises(MalformedResponse, match=r"field 'data'\): data is missing"):
        list(connector.fetch_metadata(token, account, "ad"))
    # one 500 is retried inside the request; a 500 on every try is the task's TransientError
    sandbox_server.inject("500")
    assert len(list(connector.fetch_report(token, account, "ad", "day", DAY, DAY))) > 0
    assert sandbox_server.stats["fault_500"] == 1
    sandbox_server.inject("500", times=1 + HTTP_RETRIES)
    with pytest.raises(TransientError, match=r"\[sandbox\] reports .*HTTP 500"):
        list(connector.fetch_report(token, account, "ad", "day", DAY, DAY))
    assert sandbox_server.stats["fault_500"] == 2 + HTTP_RETRIES
    sandbox_server.configure(slow_seconds=1.0)
    sandbox_server.inject("slow", times=1 + HTTP_RETRIES)
    slow = sandbox_server.connector(timeout=(2, 0.3))
    with pytest.raises(TransientError, match="timed out"):
        list(slow.fetch_metadata(token, account, "account"))


def test_error_rate_is_exact_and_deterministic(sandbox_server, connector, token, account):
    sandbox_server.configure(error_rate=0.25)
    connector.http.configure_retries(0)  # see every answer as the sandbox gave it
    outcomes = []
    for _ in range(12):
        try:
            list(connector.fetch_metadata(token, account, "account"))
            outcomes.append("ok")
        except TransientError:
            outcomes.append("503")
    assert outcomes.count("503") == 3 and outcomes[:4] == ["ok", "ok", "ok", "503"]
    # with the HTTP layer's retries (the default) every fetch succeeds, the 503s still answered
    connector.http.configure_retries(HTTP_RETRIES, backoff_factor=0)
    for _ in range(12):
        list(connector.fetch_metadata(token, account, "account"))
    assert sandbox_server.stats["fault_503"] == 3 + 3


def test_bad_requests_name_the_parameter(connector, token, account):
    with pytest.raises(PermanentError, match=r"end_date: a hourly report covers at most 62 days, asked for 100"):
        list(connector.fetch_report(token, account, "ad", "hour", DAY, DAY + timedelta(days=99)))
    with pytest.raises(PermanentError, match="end_date: must not be before start_date"):
        list(connector.fetch_report(token, account, "ad", "day", DAY, DAY - timedelta(days=1)))
    other = AccountRef("1000400005", "UTC")  # index 5 is beyond this grant's 2 advertisers
    with pytest.raises(AuthorizationRevoked, match="does not reach advertiser 1000400005"):
        list(connector.fetch_metadata(token, other, "campaign"))


def test_sizes_on_demand_cost_no_memory(sandbox_server, connector):
    token = sandbox_server.authorize(connector, profile="9:5000:3000")
    first_page = next(connector.list_accounts(token))
    assert first_page.external_id == "9030000000"
    big = AccountRef("9030004999", "UTC")
    ads = connector.fetch_metadata(token, big, "ad")
    assert sum(1 for _ in ads) == 3000


def test_remaining_zero_hint_pauses_before_a_429(sandbox_server, token, account):
    from connectors.http import LocalRateLimiter

    sandbox_server.configure(rate_limit_requests=3, rate_limit_period=60)
    connector = sandbox_server.connector(limiter=LocalRateLimiter())
    connector.http.max_limiter_wait = 1.0
    for _ in range(3):
        list(connector.fetch_metadata(token, account, "account"))
    with pytest.raises(RateLimited) as info:  # refused by our own limiter: the server said 0 remain
        list(connector.fetch_metadata(token, account, "campaign"))
    assert 15 <= info.value.retry_after <= 20 and "local rate limit" in str(info.value)
    assert sandbox_server.stats["rate_limited"] == 0 and sandbox_server.stats["api"] == 4  # authorize's listing + 3
