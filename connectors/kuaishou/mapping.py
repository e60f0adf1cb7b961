"""Kuaishou words onto ours.

Levels: advertiser -> account, campaign (广告计划) -> campaign, unit (广告组) -> ad_group,
creative (创意) -> ad (the creative is what is shown and reported; Kuaishou has no separate
ad object), so our `creative` level is not used. Programmatic creatives 2.0 (程序化创意2.0)
are ads too: a unit of unit_type 7 holds one package of them, listed and reported apart from
custom creatives and known by its unit id; ours is `program:<unit_id>`, so it never meets a
creative id.

Metrics (report `details` rows): `show` (封面曝光数, impressions), `photo_click` (封面点击数,
clicks), `charge` (花费, yuan: cost), `conversion_num` (转化数: conversions; accounts whose
reports predate it have none and report 0). Every other numeric field of a row is kept
under its own name (aclick, bclick, play_3s_ratio, event_pay, ... ~200 documented ones).

Times: `stat_date` (yyyy-MM-dd) and, hourly, `stat_hour` (0-23), Beijing time.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from connectors.base import ReportRow
from connectors.errors import MalformedResponse
from connectors.primitives import amount, number

PLATFORM_TZ = ZoneInfo("Asia/Shanghai")
CURRENCY = "CNY"
CORE_METRICS = {"show": "impressions", "photo_click": "clicks", "charge": "cost", "conversion_num": "conversions"}
# A selection of the documented report fields (model: report Stat), declared in the spec;
# rows keep every numeric field, listed here or not.
EXTRA_METRICS = (
    "aclick",
    "bclick",
    "photo_click_ratio",
    "play_3s_ratio",
    "played_three_seconds",
    "action_ratio",
    "impression_1k_cost",
    "photo_click_cost",
    "action_cost",
    "share",
    "comment",
    "like",
    "follow",
    "cancel_follow",
    "report",
    "block",
    "negative",
    "download_started",
    "download_completed",
    "activation",
    "event_pay_first_day",
    "event_pay_purchase_amount_first_day",
    "event_pay",
    "event_pay_purchase_amount",
    "event_register",
    "form_count",
    "form_cost",
    "conversion_num_cost",
    "conversion_ratio",
    "deep_conversion_num",
    "deep_conversion_cost",
    "ad_show",
    "play_5s_ratio",
    "play_end_ratio",
    "event_next_day_stay",
    "key_action",
)
# Row fields that are dimensions, not metrics (kept out of `extra`).
DIMENSIONS = frozenset(
    {
        "advertiser_id",
        "campaign_id",
        "campaign_name",
        "unit_id",
        "unit_name",
        "creative_id",
        "creative_name",
        "stat_date",
        "stat_hour",
        "status",
        "photo_id",
        "match_type",
        "word_info_id",
        "campaign_type",
        "unit_source",
        "put_status",
    }
)
PUT_STATUS = {1: "active", 2: "paused", 3: "deleted"}  # put_status: 1 投放, 2 暂停, 3 删除
# `status` (system status) / programmatic `view_status` values that mean deleted: campaign and
# unit 10 ("10：只包含已删除"), creative and programmatic creative 40 ("40：已删除"); 5 kept from
# older campaign answers (unconfirmed).
DELETED_STATUS = frozenset({5, 10, 40})


def program_id(unit_id: str) -> str:
    """Our id of a unit's programmatic creative package."""
    return f"program:{unit_id}"


def status(item: dict) -> str:
    if item.get("status") in DELETED_STATUS or item.get("view_status") in DELETED_STATUS:
        return "deleted"
    put = item.get("put_status")
    if put in PUT_STATUS:
        return PUT_STATUS[put]
    return f"status_{item.get('status')}" if item.get("status") is not None else "unknown"


def report_row(
    row: dict, *, path: str, level: str, granularity: str, entity_id: str, when: datetime, where: dict
) -> ReportRow:
    for name in ("show", "photo_click", "charge"):
        if name not in row:
            raise MalformedResponse(f"{path}.{name} is missing", field=f"{path}.{name}", **where)
    extra = {
        name: float(value)
        for name, value in row.items()
        if name not in CORE_METRICS
        and name not in DIMENSIONS
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    }
    return ReportRow(
        level=level,
        granularity=granularity,
        entity_id=entity_id,
        stat_time=when,
        impressions=int(number(row["show"], f"{path}.show", where, blank_is_zero=False)),
        clicks=int(number(row["photo_click"], f"{path}.photo_click", where, blank_is_zero=False)),
        cost=amount(row["charge"], f"{path}.charge", where),
        conversions=number(row.get("conversion_num", 0), f"{path}.conversion_num", where, blank_is_zero=False),
        currency=CURRENCY,
        extra=extra,
    )
