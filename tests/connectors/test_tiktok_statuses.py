"""TikTok: reports below the advertiser ask for STATUS_ALL so deleted objects' spend counts (each
level adds up to the advertiser), 40001 on one advertiser loses that advertiser only, and a
revoke calls oauth2/revoke_token/.

Sources of the shapes recorded here (tests/connectors/recordings/tiktok/deleted_objects.json,
oauth_revoke.json, errors.json):
- report/integrated/get: `filtering` [{field_name, filter_type: "IN", filter_value: '["STATUS_ALL"]'}]
  with campaign_status / adgroup_status / ad_status, the default STATUS_NOT_DELETE at each data
  level, rows `{dimensions: {<id>, stat_time_day}, metrics: {...strings}}` (bububa/tiktok-business
  model/report/integrated_get.go IntegratedGetRequest.DataLevel, IntegratedGetFilter, Stat);
- oauth2/revoke_token/ request {app_id, secret, access_token} and answer data {app_id,
  advertiser_ids} (bububa/tiktok-business model/oauth/revoke_token.go);
- envelope {code, message, request_id, data} (bububa/tiktok-business model/response.go;
  tiktok/tiktok-business-api-sdk python_sdk/business_api_client/models/*_response.py).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from connectors.base import TokenSet
from connectors.errors import AccountAccessLost, AuthorizationRevoked
from tests.connectors.test_tiktok import ACCOUNT, ADV, APP, TOKEN, platform, tiktok  # noqa: F401 (fixtures)

DAY2 = date(2024, 5, 2)


def _totals(rows):
    return sum(r.impressions for r in rows), sum(r.clicks for r in rows), sum(r.cost for r in rows)


@pytest.mark.parametrize(
    "level, status_field", [("campaign", "campaign_status"), ("ad_group", "adgroup_status"), ("ad", "ad_status")]
)
def test_each_level_adds_up_to_the_advertiser_with_deleted_objects(tiktok, platform, level, status_field):  # noqa: F811
    (advertiser,) = tiktok.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY2, DAY2)
    rows = list(tiktok.fetch_report(TOKEN, ACCOUNT, level, "day", DAY2, DAY2))
    assert len(rows) == 3 and _totals(rows) == _totals([advertiser]) == (17100, 520, advertiser.cost)
    assert str(advertiser.cost) == "316.80"
    (condition,) = json.loads(platform.calls("/report/integrated/get/")[-1]["query"]["filtering"])
    assert condition == {"field_name": status_field, "filter_type": "IN", "filter_value": '["STATUS_ALL"]'}


def test_the_advertiser_level_sends_no_status_filter(tiktok, platform):  # noqa: F811
    list(tiktok.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY2, DAY2))
    assert "filtering" not in platform.calls("/report/integrated/get/")[-1]["query"]


def test_no_permission_on_one_advertiser_loses_that_advertiser_only(tiktok, platform):  # noqa: F811
    platform.fail_next("no_permission", path="/report/integrated/get/")
    with pytest.raises(AccountAccessLost) as info:
        list(tiktok.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY2, DAY2))
    assert info.value.account == ADV and "40001" in str(info.value)
    # on the grant's own call (no advertiser in question) it is the grant's
    platform.fail_next("no_permission", path="/oauth2/advertiser/get/")
    with pytest.raises(AuthorizationRevoked) as info:
        list(tiktok.list_accounts(TOKEN))
    assert type(info.value) is AuthorizationRevoked


def test_revoke_calls_revoke_token(tiktok, platform):  # noqa: F811
    assert tiktok.spec.supports_revoke
    tiktok.revoke(TOKEN)
    (call,) = platform.calls("/oauth2/revoke_token/")
    assert call["method"] == "POST"
    assert call["json"] == {"app_id": APP.client_id, "secret": APP.client_secret, "access_token": "tt-access-1"}
    tiktok.revoke(TokenSet(access_token="tt-access-gone"))  # already revoked: done, no error
    assert len(platform.calls("/oauth2/revoke_token/")) == 2
