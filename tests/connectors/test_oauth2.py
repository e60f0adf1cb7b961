"""connectors.oauth2 over a real socket: URL building, exchange, refresh, error mapping.
(The full redirect flow against the sandbox authorization server is in test_sandbox_oauth.)"""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors import oauth2
from connectors.auth import pkce_pair
from connectors.base import AppConfig
from connectors.errors import (
    AuthorizationFailed,
    AuthorizationRevoked,
    MalformedResponse,
    PermanentError,
    RateLimited,
    TransientError,
)
from connectors.http import HttpClient, LocalRateLimiter
from tests.connectors.scripted_server import ScriptedServer

APP = AppConfig(client_id="cid", client_secret="csecret", redirect_uri="http://127.0.0.1/cb")


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.close()


@pytest.fixture
def http():
    return HttpClient("acme", limiter=LocalRateLimiter(), timeout=(2, 2))


def test_authorization_url_has_state_scopes_and_pkce():
    verifier, challenge = pkce_pair()
    url = oauth2.authorization_url(
        APP,
        authorize_url="https://acme.example/oauth/authorize",
        state="st4te",
        redirect_uri="https://us.example/cb",
        scopes=["reports", "ads"],
        code_challenge=challenge,
    )
    q = parse_qs(urlsplit(url).query)
    assert q["client_id"] == ["cid"] and q["state"] == ["st4te"] and q["response_type"] == ["code"]
    assert q["scope"] == ["reports ads"] and q["redirect_uri"] == ["https://us.example/cb"]
    assert q["code_challenge"] == [challenge] and q["code_challenge_method"] == ["S256"]
    assert verifier not in url


def test_exchange_code_sends_verifier_and_maps_tokens(server, http):
    server.answer(
        200,
        {
            "access_token": "AT",
            "refresh_token": "RT",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_expires_in": 86400,
            "scope": "reports ads",
        },
    )
    before = datetime.now(UTC)
    token = oauth2.exchange_code(
        http,
        APP,
        token_url=server.url + "/oauth/token",
        code="c0de",
        redirect_uri="http://127.0.0.1/cb",
        code_verifier="v" * 50,
    )
    sent = parse_qs(server.requests[0]["body"].decode())
    assert sent["grant_type"] == ["authorization_code"] and sent["code"] == ["c0de"]
    assert sent["code_verifier"] == ["v" * 50] and sent["client_secret"] == ["csecret"] and sent["client_id"] == ["cid"]
    assert token.access_token == "AT" and token.refresh_token == "RT" and token.scopes == ("reports", "ads")
    assert before + timedelta(seconds=3599) <= token.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
    assert token.refresh_expires_at - token.expires_at == timedelta(seconds=86400 - 3600)
    assert "access_token" not in token.raw and "refresh_token" not in token.raw


def test_refresh_with_basic_auth_and_rotation(server, http):
    server.answer(200, {"access_token": "AT2", "refresh_token": "RT2", "token_type": "Bearer", "expires_in": 60})
    token = oauth2.refresh_token(
        http, APP, token_url=server.url + "/oauth/token", refresh_token="RT1", client_auth="basic"
    )
    req = server.requests[0]
    assert req["headers"]["Authorization"].startswith("Basic ")
    assert parse_qs(req["body"].decode())["refresh_token"] == ["RT1"]
    assert token.refresh_token == "RT2"


@pytest.mark.parametrize(
    "status,body,error,words",
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "refresh token was rotated"},
            AuthorizationRevoked,
            "invalid_grant (refresh token was rotated)",
        ),
        (401, {"error": "invalid_client"}, PermanentError, "client id and secret"),
        (503, "<html>down</html>", TransientError, "HTTP 503 on the token endpoint"),
        (200, {"token_type": "Bearer"}, MalformedResponse, "not a usable OAuth2 token"),
    ],
)
def test_refresh_errors(server, http, status, body, error, words):
    server.answer(status, body)
    with pytest.raises(error) as info:
        oauth2.refresh_token(http, APP, token_url=server.url + "/oauth/token", refresh_token="RT1")
    assert words in str(info.value) and "[acme] token (refresh_token)" in str(info.value)
    assert "RT1" not in str(info.value) and "csecret" not in str(info.value)


def test_exchange_invalid_grant_is_authorization_failed_and_429_rate_limited(server, http):
    server.answer(400, {"error": "invalid_grant"})
    with pytest.raises(AuthorizationFailed, match="invalid_grant"):
        oauth2.exchange_code(http, APP, token_url=server.url + "/t", code="x", redirect_uri="http://127.0.0.1/cb")
    server.answer(429, {"error": "slow"}, headers={"Retry-After": "3"})
    with pytest.raises(RateLimited) as info:
        oauth2.exchange_code(http, APP, token_url=server.url + "/t", code="x", redirect_uri="http://127.0.0.1/cb")
    assert info.value.retry_after == 3


def test_response_hook_unwraps_a_platform_envelope(server, http):
    import json

    def unwrap(response):
        response._content = json.dumps(response.json()["data"]).encode()
        return response

    server.answer(
        200,
        {
            "code": 0,
            "data": {"access_token": "AT", "refresh_token": "RT", "expires_in": 86400, "advertiser_ids": [7, 8]},
        },
    )
    token = oauth2.exchange_code(
        http, APP, token_url=server.url + "/t", code="x", redirect_uri="http://127.0.0.1/cb", response_hooks=[unwrap]
    )
    assert token.access_token == "AT" and token.account_ids == ("7", "8")


def test_https_required_off_loopback():
    from oauthlib.oauth2.rfc6749.errors import InsecureTransportError

    with pytest.raises(InsecureTransportError):
        oauth2.authorization_url(
            APP, authorize_url="http://acme.example/authorize", state="s", redirect_uri="https://x/cb"
        )


def test_tokens_never_logged(server, http, caplog):
    server.answer(
        200, {"access_token": "ATSECRET", "refresh_token": "RTSECRET", "token_type": "Bearer", "expires_in": 60}
    )
    with caplog.at_level(logging.DEBUG):
        oauth2.refresh_token(http, APP, token_url=server.url + "/t", refresh_token="OLDSECRET")
    assert "SECRET" not in caplog.text
