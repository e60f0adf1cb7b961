"""Google Ads: clients reached through a manager are fetched with that manager as
`login-customer-id` (found at authorization, kept on the account), only ENABLED clients are
imported, and USER_PERMISSION_DENIED / CUSTOMER_NOT_ENABLED lose that one account, not the grant.

Sources of the recorded shapes (tests/connectors/recordings/google_ads/):
- access model: "If you're accessing a client customer, the manager's customer id must be set in
  the 'login-customer-id' header" (developers.google.com/google-ads/api/docs/oauth/access-model;
  the same text is the message of the recorded USER_PERMISSION_DENIED, errors.json "revoked");
- `AuthorizationErrorEnum` USER_PERMISSION_DENIED = 2, CUSTOMER_NOT_ENABLED = 24
  (googleads/google-ads-python google/ads/googleads/v*/enums/types/authorization_error.py), inside a
  google.rpc.Status whose details hold a GoogleAdsFailure (`errors[].errorCode.authorizationError`);
- `customer_client` rows (`customerClient.{resourceName,id,descriptiveName,currencyCode,timeZone,
  status,level}`, int64 as strings) and the status filter: Airbyte's source-google-ads filters
  customer clients by status (airbytehq/airbyte airbyte-integrations/connectors/source-google-ads/
  source_google_ads/components.py CustomerClientFilter, `customer_status_filter`).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import responses

from connectors.base import AccountRef, AppConfig, TokenSet
from connectors.errors import AccountAccessLost
from connectors.google_ads.connector import GoogleAdsConnector
from connectors.http import LocalRateLimiter
from connectors.registry import account_ref
from tests.connectors.test_oceanengine import FakePlatform

MANAGER, CLIENT, DIRECT = "4445556666", "5556667777", "1112223333"
APP = AppConfig(
    client_id="123-abc.apps.googleusercontent.com",
    client_secret="g-secret",
    redirect_uri="https://ads.example.com/accounts/callback/google_ads/",
    extra={"developer_token": "DEV-TOKEN-1"},
)
TOKEN = TokenSet(access_token="ya29.g-access-1", refresh_token="1//0g-refresh-1")


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakePlatform(mock, "google_ads", "https://")


@pytest.fixture
def gads(platform):
    return GoogleAdsConnector(APP, limiter=LocalRateLimiter(sleep=lambda s: None))


def _ad_account(info) -> SimpleNamespace:
    """What accounts.services.importing keeps of an AccountInfo on the AdAccount row."""
    return SimpleNamespace(external_id=info.external_id, timezone=info.timezone, currency=info.currency, raw=info.raw)


def test_discovery_records_each_clients_manager_and_asks_for_enabled_clients_only(gads, platform):
    infos = {i.external_id: i for i in gads.list_accounts(TOKEN)}
    assert set(infos) == {DIRECT, CLIENT}  # 7778889999 answers PERMISSION_DENIED: skipped, not fatal
    assert infos[CLIENT].raw["login_customer_id"] == MANAGER
    assert "login_customer_id" not in infos[DIRECT].raw  # reached directly: no manager needed
    (clients_query,) = [c["json"]["query"] for c in platform.calls(MANAGER) if "customer_client" in c["json"]["query"]]
    assert clients_query.endswith("WHERE customer_client.manager = FALSE AND customer_client.status = 'ENABLED'")


def test_a_client_under_a_manager_is_fetched_with_the_manager_as_login_customer_id(gads, platform):
    info = next(i for i in gads.list_accounts(TOKEN) if i.external_id == CLIENT)
    campaigns = list(gads.fetch_metadata(TOKEN, account_ref(_ad_account(info)), "campaign"))
    assert [(c.external_id, c.name) for c in campaigns] == [("30000000001", "Recherche - Marque")]
    (call,) = [c for c in platform.calls(f"customers/{CLIENT}/") if "FROM campaign" in c["json"]["query"]]
    assert call["headers"]["login-customer-id"] == MANAGER and call["headers"]["developer-token"] == "DEV-TOKEN-1"


def test_the_apps_per_client_map_still_overrides(platform):
    app = AppConfig(**{**APP.__dict__, "extra": {**APP.extra, "login_customer_ids": {CLIENT: "444-555-6666"}}})
    gads = GoogleAdsConnector(app, limiter=LocalRateLimiter(sleep=lambda s: None))
    campaigns = list(gads.fetch_metadata(TOKEN, AccountRef(CLIENT, "Europe/Paris", "EUR"), "campaign"))
    assert len(campaigns) == 1


def test_without_the_manager_the_refusal_loses_that_account_only(gads, platform):
    with pytest.raises(AccountAccessLost) as info:
        list(gads.fetch_metadata(TOKEN, AccountRef(CLIENT, "Europe/Paris", "EUR"), "campaign"))
    assert type(info.value) is AccountAccessLost and info.value.account == CLIENT
    assert "USER_PERMISSION_DENIED" in str(info.value) and "Zx9aBcDeFgHiJkLm" in str(info.value)
    assert "ya29" not in str(info.value)


def test_customer_not_enabled_loses_that_account_only(gads, platform):
    platform.fail_next("customer_not_enabled", path="googleAds:searchStream", status=403)
    with pytest.raises(AccountAccessLost, match="CUSTOMER_NOT_ENABLED") as info:
        list(gads.fetch_report(TOKEN, AccountRef(DIRECT, "America/New_York", "USD"), "ad", "day", *_day()))
    assert info.value.account == DIRECT


def _day():
    from datetime import date

    return date(2024, 5, 1), date(2024, 5, 1)
