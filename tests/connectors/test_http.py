"""connectors.http: status/network error mapping, JSON field checks, secrets, rate limiters."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from connectors.errors import (
    AuthorizationRevoked,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TokenExpired,
    TransientError,
)
from connectors.http import HttpClient, LocalRateLimiter, RedisRateLimiter, field, parse_retry_after, redact
from tests.connectors.scripted_server import ScriptedServer


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.close()


@pytest.fixture
def client():
    """No retries inside the request: these tests map one answer onto one error."""
    return HttpClient("acme", limiter=LocalRateLimiter(), rate=None, timeout=(2, 2), retries=0)


@pytest.mark.parametrize(
    "status,error,words",
    [
        (401, TokenExpired, "HTTP 401"),
        (403, AuthorizationRevoked, "re-authorize"),
        (400, PermanentError, "HTTP 400"),
        (404, PermanentError, "HTTP 404"),
        (500, TransientError, "HTTP 500"),
        (503, TransientError, "HTTP 503"),
        (408, TransientError, "HTTP 408"),
    ],
)
def test_status_maps_to_error(server, client, status, error, words):
    server.answer(status, {"message": "nope"})
    with pytest.raises(error) as info:
        client.get_json(server.url + "/v1/things?access_token=SECRET123", endpoint="things", account="42")
    text = str(info.value)
    assert type(info.value) is error
    assert words in text and "[acme] things (account 42)" in text and "nope" in text
    assert "SECRET123" not in text


def test_429_with_seconds_and_with_date(server, client):
    server.answer(429, {"error": "slow down"}, headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as info:
        client.get(server.url + "/x", endpoint="x")
    assert info.value.retry_after == 7.0 and "retry after 7s" in str(info.value)
    later = datetime.now(UTC) + timedelta(seconds=30)
    server.answer(429, "", headers={"Retry-After": format_datetime(later, usegmt=True)})
    with pytest.raises(RateLimited) as info:
        client.get(server.url + "/x", endpoint="x")
    assert 25 <= info.value.retry_after <= 31


def test_timeout_and_connection_refused_are_transient(server):
    slow = HttpClient("acme", limiter=LocalRateLimiter(), timeout=(1, 0.2), retries=0)
    server.answer(200, {}, delay=1.0)
    with pytest.raises(TransientError, match="timed out"):
        slow.get(server.url + "/slow", endpoint="slow")
    with pytest.raises(TransientError, match="connection failed"):
        slow.get("http://127.0.0.1:9/closed", endpoint="closed")


def test_non_json_body_is_malformed(server, client):
    server.answer(200, "<html>gateway</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(MalformedResponse) as info:
        client.get_json(server.url + "/r", endpoint="report")
    assert info.value.field == "<body>"
    assert "[acme] report" in str(info.value) and "text/html" in str(info.value)


def test_field_names_the_path():
    data = {"data": {"list": [{"id": 1, "cost": "x"}], "page_info": {"total": True}}}
    kw = {"platform": "acme", "endpoint": "report"}
    assert field(data, "data.list.0.id", int, **kw) == 1
    assert field(data, "data.missing", default=5, **kw) == 5
    with pytest.raises(MalformedResponse, match=r"field 'data.list.0.cost'.*should be a number"):
        field(data, "data.list.0.cost", float, **kw)
    with pytest.raises(MalformedResponse, match=r"data.page_info.total should be an integer, got bool"):
        field(data, "data.page_info.total", int, **kw)
    with pytest.raises(
        MalformedResponse, match=r"\[acme\] report: malformed response \(field 'data.cursor'\): data.cursor is missing"
    ):
        field(data, "data.cursor", str, **kw)
    with pytest.raises(MalformedResponse, match=r"expected an object at data.list.0.id"):
        field(data, "data.list.0.id.x", **kw)


def test_redact_and_retry_after_parsing():
    assert redact('{"access_token": "abc", "x": 1} refresh_token=def&a=b password: hunter2') == (
        '{"access_token": "***", "x": 1} refresh_token=***&a=b password: ***'
    )
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_nothing_secret_is_logged(server, caplog):
    client = HttpClient("acme", limiter=LocalRateLimiter())
    server.answer(200, {"ok": True})
    with caplog.at_level(logging.DEBUG, logger="connectors.http"):
        client.get_json(
            server.url + "/v1/a?access_token=TOPSECRET", endpoint="a", headers={"Access-Token": "TOPSECRET"}
        )
    assert "TOPSECRET" not in caplog.text and "/v1/a" in caplog.text


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_local_limiter_spaces_requests_after_the_burst():
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire("p", rate=2.0, burst=2.0) for _ in range(5)]
    assert waits[:2] == [0, 0]
    assert waits[2:] == pytest.approx([0.5, 0.5, 0.5])
    assert clock.now == pytest.approx(101.5)


def test_local_limiter_pause_and_max_wait():
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock, sleep=clock.sleep)
    limiter.pause("p", 10)
    with pytest.raises(RateLimited) as info:
        limiter.acquire("p", rate=5.0, burst=5.0, max_wait=3)
    assert info.value.retry_after == pytest.approx(10)
    assert limiter.acquire("p", rate=5.0, burst=5.0, max_wait=30) == pytest.approx(10)


def test_429_pauses_the_shared_bucket(server):
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock, sleep=clock.sleep)
    a = HttpClient("acme", limiter=limiter, rate=100.0, bucket="acme:app", retries=0)
    b = HttpClient("acme", limiter=limiter, rate=100.0, bucket="acme:app", retries=0)
    server.answer(429, "", headers={"Retry-After": "4"})
    with pytest.raises(RateLimited):
        a.get(server.url + "/x")
    server.answer(200, {})
    b.get(server.url + "/x")  # the other worker waits out the platform's hint first
    assert clock.slept and clock.slept[-1] == pytest.approx(4, abs=0.05)


def test_local_limiter_holds_rate_across_threads():
    limiter = LocalRateLimiter()
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [limiter.acquire("t", rate=50.0, burst=5.0) for _ in range(5)])
        for _ in range(4)
    ]
    [t.start() for t in threads]
    [t.join() for t in threads]
    # 20 requests, burst 5, then 50/s: the last 15 need at least 0.3 s
    assert time.monotonic() - started >= 0.28


@pytest.mark.redis
def test_redis_limiter_shared_between_instances():
    import redis
    from django.conf import settings

    url = settings.REDIS_URL or settings.CELERY_BROKER_URL
    client = redis.Redis.from_url(url)
    key = f"test-{time.time_ns()}"
    one, two = RedisRateLimiter(client), RedisRateLimiter(client)
    started = time.monotonic()
    for i in range(6):
        (one if i % 2 else two).acquire(key, rate=20.0, burst=2.0)
    assert time.monotonic() - started >= 0.18  # 4 beyond the burst at 20/s
    one.pause(key, 5)
    with pytest.raises(RateLimited) as info:
        two.acquire(key, rate=20.0, burst=2.0, max_wait=1)
    assert 4 <= info.value.retry_after <= 5.1
    client.delete(RedisRateLimiter.prefix + key)


def test_remaining_zero_pauses_the_bucket(server):
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock, sleep=clock.sleep)
    client = HttpClient("acme", limiter=limiter, rate=100.0)
    server.answer(200, {}, headers={"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "9"})
    client.get(server.url + "/a")
    server.answer(200, {}, headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "3"})
    client.get(server.url + "/a")
    assert clock.slept == []
    server.answer(200, {})
    client.get(server.url + "/a")
    assert clock.slept == [pytest.approx(3, abs=0.05)]
