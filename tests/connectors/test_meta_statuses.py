"""Meta: deleted objects' spend counts at every level (insights `filtering` on the level's
`delivery_info`), `effective_status` lists per edge, the insights throttle header, and code 200
on one ad account loses that account only.

Sources of the shapes recorded here (tests/connectors/recordings/meta/deleted_objects.json, errors.json):
- insights rows: numbers as strings, `actions`/`conversions` lists of {action_type, value},
  `date_start`/`date_stop` (facebook/facebook-python-business-sdk facebook_business/adobjects/
  adsinsights.py `Field`); deleted objects only with a status filter ("/act_<ID>/insights?level=ad
  does not return stats for the deleted object", developers.facebook.com/docs/marketing-api/
  best-practices/manage-your-ad-object-status); the filter as Airbyte sends it: `filtering`
  [{field: "<level>.delivery_info", operator: "IN", value: [...]}] (airbytehq/airbyte
  airbyte-integrations/connectors/source-facebook-marketing/source_facebook_marketing/streams/
  base_streams.py `_filter_all_statuses`, base_insight_streams.py `request_params`);
- per-edge `EffectiveStatus` enums (facebook_business/adobjects/campaign.py, adset.py, ad.py, v25.0);
- `x-fb-ads-insights-throttle` {app_id_util_pct, acc_id_util_pct} (source_facebook_marketing/api.py);
- error 200 "(#200) Ad account owner has NOT grant ads_management or ads_read permission"
  (facebook_business/exceptions.py FacebookRequestError: `error.code`, `error.type`, `fbtrace_id`).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from connectors.errors import AccountAccessLost, AuthorizationRevoked
from connectors.meta.api import usage_wait
from connectors.meta.connector import EFFECTIVE_STATUS
from tests.connectors.test_meta import ACCOUNT, ACT, TOKEN, clock, limiter, meta, platform  # noqa: F401 (fixtures)

DAY2 = date(2024, 5, 2)


def _totals(rows):
    return sum(r.impressions for r in rows), sum(r.clicks for r in rows), sum(r.cost for r in rows)


@pytest.mark.parametrize("level", ["campaign", "ad_group", "ad"])
def test_each_level_adds_up_to_the_account_with_deleted_objects(meta, platform, level):  # noqa: F811
    (account,) = meta.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY2, DAY2)
    rows = list(meta.fetch_report(TOKEN, ACCOUNT, level, "day", DAY2, DAY2))
    assert _totals(rows) == _totals([account]) == (17100, 520, account.cost)
    assert str(account.cost) == "316.80"
    assert len(rows) == 3  # the deleted campaign / ad set / ad is one of them
    query = platform.calls(f"/act_{ACT}/insights")[-1]["query"]
    graph_level = {"ad_group": "adset"}.get(level, level)
    (condition,) = json.loads(query["filtering"])
    assert condition["field"] == f"{graph_level}.delivery_info" and condition["operator"] == "IN"
    assert {"deleted", "archived", "active"} <= set(condition["value"])


def test_the_account_level_sends_no_filter(meta, platform):  # noqa: F811
    list(meta.fetch_report(TOKEN, ACCOUNT, "account", "day", DAY2, DAY2))
    assert "filtering" not in platform.calls(f"/act_{ACT}/insights")[-1]["query"]


def test_effective_status_is_each_edges_own_enum(meta, platform):  # noqa: F811
    for level, edge in (("campaign", "/campaigns"), ("ad_group", "/adsets"), ("ad", "/ads")):
        list(meta.fetch_metadata(TOKEN, ACCOUNT, level))
        call = next(c for c in platform.log if c["path"].endswith(edge))  # "/ads" is also in "/adsets"
        sent = json.loads(call["query"]["effective_status"])
        assert sent == list(EFFECTIVE_STATUS[level]), level
    campaign = set(json.loads(platform.calls("/campaigns")[0]["query"]["effective_status"]))
    adset = set(json.loads(platform.calls("/adsets")[0]["query"]["effective_status"]))
    # the SDK's Campaign.EffectiveStatus and AdSet.EffectiveStatus, minus DELETED (edges cannot list it)
    assert campaign == {"ACTIVE", "ARCHIVED", "IN_PROCESS", "PAUSED", "WITH_ISSUES"}
    assert adset == campaign | {"CAMPAIGN_PAUSED"}
    assert "PENDING_REVIEW" not in campaign | adset and "ADSET_PAUSED" not in campaign | adset


def test_insights_throttle_header_counts_as_usage():
    headers = {"x-fb-ads-insights-throttle": json.dumps({"app_id_util_pct": 12.5, "acc_id_util_pct": 97})}
    assert usage_wait(headers) == (0.0, 97.0)
    assert usage_wait({"x-fb-ads-insights-throttle": "not json"}) == (0.0, 0.0)


def test_permission_error_on_one_ad_account_loses_that_account_only(meta, platform):  # noqa: F811
    platform.fail_next("permission", path="/insights", status=400)
    with pytest.raises(AccountAccessLost) as info:
        list(meta.fetch_report(TOKEN, ACCOUNT, "ad", "day", DAY2, DAY2))
    assert info.value.account == ACT and "error 200" in str(info.value) and "A1b2C3d4E5f" in str(info.value)
    # the same code on the user's account list (no account in question) is the grant's
    platform.fail_next("permission", path="/me/adaccounts", status=400)
    with pytest.raises(AuthorizationRevoked) as info:
        list(meta.list_accounts(TOKEN))
    assert type(info.value) is AuthorizationRevoked
