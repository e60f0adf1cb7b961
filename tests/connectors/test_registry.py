"""connectors.registry: building connectors from platform apps and accounts."""

from types import SimpleNamespace

import pytest

from connectors import registry
from connectors.base import AccountRef, Connector, PlatformSpec


class EchoConnector(Connector):
    spec = PlatformSpec(
        slug="echo",
        display_name="Echo",
        auth_type="oauth2",
        access_token_lifetime=None,
        refresh_token_lifetime=None,
        rate_limit_requests=7,
        rate_limit_period=2.0,
        default_endpoints={
            "api": "https://api.echo.example",
            "auth": "{public_url}/echo/auth",
            "token": "https://t.echo",
        },
    )

    def refresh(self, token):
        return token

    def list_accounts(self, token):
        return iter(())

    def fetch_metadata(self, token, account, level):
        return iter(())

    def fetch_report(self, token, account, level, granularity, start, end):
        return iter(())


@pytest.fixture
def echo(monkeypatch, settings):
    monkeypatch.setitem(registry.PLATFORMS, "echo", f"{__name__}:EchoConnector")
    settings.PLATFORM_ENDPOINTS = {"echo": {"api": "https://proxy.example/echo", "token": "https://proxy.example/t"}}
    settings.PUBLIC_URL = "https://ads.example"


def app(**kw):
    return SimpleNamespace(
        **{
            "platform": "echo",
            "client_id": "cid",
            "client_secret": "s3cr3t",
            "redirect_uri": "https://ads.example/cb",
            "extra": {"developer_token": "d"},
            "endpoints": {"token": "https://app.example/t"},
            **kw,
        }
    )


def test_connector_for_app_layers_endpoints(echo):
    connector = registry.connector_for_app(app())
    assert isinstance(connector, EchoConnector)
    assert connector.endpoints == {
        "api": "https://proxy.example/echo",
        "auth": "https://ads.example/echo/auth",
        "token": "https://app.example/t",
    }
    assert connector.app.client_id == "cid" and connector.app.extra == {"developer_token": "d"}
    assert "s3cr3t" not in repr(connector.app)
    assert connector.http.rate == 3.5 and connector.http.bucket.startswith("echo:")


def test_connector_for_account_uses_the_credential_app(echo):
    account = SimpleNamespace(
        platform="echo",
        credential=SimpleNamespace(app=app(client_id="other")),
        external_id=99,
        timezone="Asia/Shanghai",
        currency="CNY",
    )
    assert registry.connector_for_account(account).app.client_id == "other"
    assert registry.account_ref(account) == AccountRef(external_id="99", timezone="Asia/Shanghai", currency="CNY")


def test_app_rate_limit_override(echo):
    connector = registry.connector_for_app(app(extra={"rate_limit": [100, 1]}))
    assert connector.http.rate == 100.0


def test_unknown_platform_names_the_known_ones():
    with pytest.raises(registry.UnknownPlatform, match=r"unknown platform 'nope'; known: .*sandbox"):
        registry.connector_class("nope")


def test_bad_endpoint_setting_names_it(echo, settings):
    settings.PLATFORM_ENDPOINTS = {"echo": "https://x"}
    with pytest.raises(ValueError, match=r"ADPLATFORM_ENDPOINTS\['echo'\]"):
        registry.connector_for_app(app())


@pytest.mark.django_db
def test_sandbox_needs_no_app_and_lives_on_our_server(settings):
    settings.PUBLIC_URL = "https://ads.example"
    settings.PLATFORM_ENDPOINTS = {}
    connector = registry.connector_for_platform("sandbox")
    assert connector.endpoints == {"base": "https://ads.example/sandbox"}
    assert connector.app.client_id == "sandbox-demo" and connector.app.client_secret == "sandbox-demo-secret"
    account = SimpleNamespace(platform="sandbox", credential=None)
    assert registry.connector_for_account(account).endpoints["base"] == "https://ads.example/sandbox"


def test_all_specs_lists_the_sandbox_variants():
    slugs = {spec.slug for spec in registry.all_specs()}
    assert {"sandbox", "sandbox_password"} <= slugs
    assert registry.platform_spec("sandbox_password").auth_type == "password"
