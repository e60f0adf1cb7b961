"""The sandbox's OAuth2 server end to end: consent page, code + PKCE, refresh rotation, revoke, expiry."""

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.auth import AuthorizationFlow, pkce_pair
from connectors.base import AccountRef
from connectors.errors import AuthorizationFailed, AuthorizationRevoked, PermanentError, TokenExpired

REDIRECT = "http://127.0.0.1:9/callback"


class MemoryAuthorizationStore:
    def __init__(self):
        self.pending, self.saved = {}, []

    def save_pending(self, *, state, data, expires_at):
        self.pending[state] = (data, expires_at)

    def take_pending(self, *, state):
        return self.pending.pop(state, None)

    def save_credential(self, *, token, accounts, context):
        self.saved.append((token, accounts, context))
        return len(self.saved)


class FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")


def consent(session, url, decision, **profile):
    page = session.get(url, timeout=10)
    assert page.status_code == 200 and "asks to read your advertisers" in page.text
    form = FormParser()
    form.feed(page.text)
    answer = session.post(
        url.split("?")[0], data={**form.fields, **profile, "decision": decision}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_redirect_flow_refresh_rotation_and_revoke(sandbox_server):
    connector = sandbox_server.connector()
    store = MemoryAuthorizationStore()
    flow = AuthorizationFlow(connector, store)
    start = flow.start(redirect_uri=REDIRECT, context={"session": "s1", "organization": 7})
    query = parse_qs(urlsplit(start.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [start.state]

    params = consent(requests.Session(), start.url, "approve", seed="5", accounts="3", ads="8")
    assert params["state"] == start.state
    result = flow.finish(params=params, expect={"session": "s1"})
    assert [a.name for a in result.accounts] == [
        "Sandbox advertiser 5-1",
        "Sandbox advertiser 5-2",
        "Sandbox advertiser 5-3",
    ]
    assert result.saved == 1 and store.saved[0][2] == {"session": "s1", "organization": 7}
    token = result.token
    assert token.expires_at - datetime.now(UTC) > timedelta(hours=23)
    assert token.refresh_expires_at - datetime.now(UTC) > timedelta(days=29)
    assert sandbox_server.stats["token_authorization_code"] == 1

    # the same callback again: the state is single use
    with pytest.raises(AuthorizationFailed, match="unknown or already used state"):
        flow.finish(params=params, expect={"session": "s1"})

    # refresh rotates; the spent refresh token is invalid_grant and revokes the grant (replay)
    fresh = connector.refresh(token)
    assert fresh.refresh_token != token.refresh_token and fresh.access_token != token.access_token
    account = AccountRef(result.accounts[0].external_id, result.accounts[0].timezone)
    assert next(iter(connector.fetch_metadata(fresh, account, "account"))).external_id == account.external_id
    with pytest.raises(AuthorizationRevoked, match=r"invalid_grant.*already used"):
        connector.refresh(token)
    with pytest.raises(AuthorizationRevoked, match="the grant was revoked"):
        connector.refresh(fresh)
    with pytest.raises(AuthorizationRevoked, match="revoked"):
        list(connector.fetch_metadata(fresh, account, "campaign"))
    assert sandbox_server.stats["token_refresh"] == 1


def test_revoke_ends_the_grant(sandbox_server):
    connector = sandbox_server.connector()
    token = sandbox_server.authorize(connector, profile="2:1:5")
    account = sandbox_server.account_ref(token, connector=connector)
    connector.revoke(token)
    assert sandbox_server.stats["token_revoke"] == 1
    with pytest.raises(
        AuthorizationRevoked, match=r"\[sandbox\] campaigns \(account \d+\): the authorization was revoked"
    ):
        list(connector.fetch_metadata(token, account, "campaign"))
    with pytest.raises(AuthorizationRevoked, match="invalid_grant"):
        connector.refresh(token)


def test_deny_is_access_denied(sandbox_server):
    connector = sandbox_server.connector()
    flow = AuthorizationFlow(connector, MemoryAuthorizationStore())
    start = flow.start(redirect_uri=REDIRECT, context={})
    params = consent(requests.Session(), start.url, "deny")
    assert params["error"] == "access_denied"
    with pytest.raises(AuthorizationFailed, match="refused the authorization: access_denied"):
        flow.finish(params=params)


def _code(sandbox_server, connector, challenge):
    url = connector.authorization_url(state="s", redirect_uri=REDIRECT, code_challenge=challenge)
    location = requests.get(url + "&auto_approve=1", allow_redirects=False, timeout=10).headers["Location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def test_pkce_and_single_use_code(sandbox_server):
    connector = sandbox_server.connector()
    verifier, challenge = pkce_pair()
    code = _code(sandbox_server, connector, challenge)
    with pytest.raises(AuthorizationFailed, match="code_verifier does not match"):
        connector.exchange_code(code=code, redirect_uri=REDIRECT, code_verifier=pkce_pair()[0])
    with pytest.raises(AuthorizationFailed, match="code_verifier is required"):
        connector.exchange_code(code=code, redirect_uri=REDIRECT)
    with pytest.raises(AuthorizationFailed, match="redirect_uri does not match"):
        connector.exchange_code(code=code, redirect_uri=REDIRECT + "/other", code_verifier=verifier)
    assert connector.exchange_code(code=code, redirect_uri=REDIRECT, code_verifier=verifier).access_token
    with pytest.raises(AuthorizationFailed, match="already used"):
        connector.exchange_code(code=code, redirect_uri=REDIRECT, code_verifier=verifier)


def test_code_of_another_client_and_wrong_secret(sandbox_server):
    verifier, challenge = pkce_pair()
    code = _code(sandbox_server, sandbox_server.connector(client_id="app-a"), challenge)
    with pytest.raises(AuthorizationFailed, match="issued to another client"):
        sandbox_server.connector(client_id="app-b").exchange_code(
            code=code, redirect_uri=REDIRECT, code_verifier=verifier
        )
    from connectors.base import AppConfig
    from connectors.sandbox.connector import SandboxConnector

    bad = SandboxConnector(AppConfig(client_id="app-a", client_secret="nope"), endpoints={"base": sandbox_server.base})
    with pytest.raises(PermanentError, match=r"invalid_client.*check the platform app's client id and secret"):
        bad.exchange_code(code=code, redirect_uri=REDIRECT, code_verifier=verifier)


def test_access_expiry_then_refresh_then_refresh_expiry(sandbox_server):
    connector = sandbox_server.connector()
    sandbox_server.configure(access_lifetime=timedelta(hours=1), refresh_lifetime=timedelta(days=30))
    token = sandbox_server.authorize(connector, profile="2:1:5")
    account = sandbox_server.account_ref(token, connector=connector)
    now = datetime.now(UTC)
    sandbox_server.configure(now=now + timedelta(minutes=61))
    with pytest.raises(TokenExpired, match=r"\[sandbox\] campaigns .*access token expired; refresh"):
        list(connector.fetch_metadata(token, account, "campaign"))
    fresh = connector.refresh(token)
    assert len(list(connector.fetch_metadata(fresh, account, "campaign"))) == 1
    sandbox_server.configure(now=now + timedelta(days=31))
    with pytest.raises(AuthorizationRevoked, match="the refresh token expired"):
        connector.refresh(fresh)


def test_password_variant(sandbox_server):
    from connectors.sandbox.connector import SandboxPasswordConnector

    connector = sandbox_server.connector(cls=SandboxPasswordConnector)
    with pytest.raises(AuthorizationFailed, match="wrong user name or password"):
        connector.login(username="demo", password="guess")
    token = connector.login(username="demo", password="sandbox-password")
    assert token.secrets == {"username": "demo", "password": "sandbox-password"} and "sandbox-password" not in repr(
        token
    )
    assert len(list(connector.list_accounts(token))) == 3
    again = connector.refresh(token)
    assert again.access_token and again.access_token != token.access_token


def test_authorize_page_served_by_the_platform(client):
    """/sandbox/ is part of our Django app (what the embedded demo authorizes against)."""
    page = client.get(
        "/sandbox/oauth/authorize",
        {"client_id": "sandbox-demo", "redirect_uri": REDIRECT, "response_type": "code", "state": "x"},
    )
    assert page.status_code == 200 and b'name="decision" value="approve"' in page.content
    bad = client.get("/sandbox/oauth/authorize", {"client_id": "sandbox-demo", "redirect_uri": "javascript:alert(1)"})
    assert bad.status_code == 400
    wrong = client.get(
        "/sandbox/oauth/authorize", {"client_id": "c", "redirect_uri": REDIRECT, "response_type": "token", "state": "x"}
    )
    assert (
        wrong.status_code == 302
        and "error=unsupported_response_type" in wrong["Location"]
        and "state=x" in wrong["Location"]
    )
    token = client.post(
        "/sandbox/oauth/token", {"grant_type": "client_credentials", "client_id": "c", "client_secret": "c-secret"}
    )
    assert token.status_code == 400 and token.json()["error"] == "unsupported_grant_type"


def test_demo_grant_works_over_http(sandbox_server):
    from connectors.sandbox.demo import demo_grant

    token, accounts = demo_grant(profile="6:2:10")
    connector = sandbox_server.connector(client_id="sandbox-demo")
    assert [a.external_id for a in accounts] == [a.external_id for a in connector.list_accounts(token)]
    assert accounts == list(connector.list_accounts(token))
    fresh = connector.refresh(token)
    assert fresh.refresh_token != token.refresh_token
    with pytest.raises(ValueError, match="'seed:accounts:ads'"):
        demo_grant(profile="many")
