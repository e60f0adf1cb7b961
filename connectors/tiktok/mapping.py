"""TikTok words onto ours.

Levels: advertiser -> account, campaign -> campaign, ad group -> ad_group, ad -> ad. TikTok's
creatives live inside the ad, so our `creative` level is not used.

Integrated report (report_type BASIC): rows `{"dimensions": {"<level>_id", "stat_time_day" |
"stat_time_hour"}, "metrics": {...}}`, every value a string. Core: `impressions`, `clicks`,
`spend` (advertiser currency), `conversion`. Every other requested metric is kept by name.
`stat_time_day` / `stat_time_hour` ("2024-05-01 13:00:00") are in the advertiser's timezone.
"""

from __future__ import annotations

from datetime import datetime

from connectors.base import ReportRow
from connectors.errors import MalformedResponse
from connectors.primitives import amount, number

CORE_METRICS = {"impressions": "impressions", "clicks": "clicks", "spend": "cost", "conversion": "conversions"}
EXTRA_METRICS = (
    "ctr",
    "cpc",
    "cpm",
    "reach",
    "frequency",
    "conversion_rate",
    "cost_per_conversion",
    "real_time_conversion",
    "result",
    "cost_per_result",
    "video_play_actions",
    "video_watched_2s",
    "video_watched_6s",
    "video_views_p25",
    "video_views_p50",
    "video_views_p75",
    "video_views_p100",
    "average_video_play",
    "likes",
    "comments",
    "shares",
    "follows",
    "profile_visits",
)
NOT_HOURLY = frozenset({"reach", "frequency"})  # unique-user metrics are not offered by the hour (unconfirmed)
# our level -> (data_level, id dimension)
REPORTS = {
    "account": ("AUCTION_ADVERTISER", "advertiser_id"),
    "campaign": ("AUCTION_CAMPAIGN", "campaign_id"),
    "ad_group": ("AUCTION_ADGROUP", "adgroup_id"),
    "ad": ("AUCTION_AD", "ad_id"),
}
TIME_DIMENSION = {"day": "stat_time_day", "hour": "stat_time_hour"}
OPERATION_STATUS = {"ENABLE": "active", "DISABLE": "paused", "DELETE": "deleted", "FROZEN": "frozen"}
ADVERTISER_STATUS = {
    "STATUS_ENABLE": "active",
    "STATUS_DISABLE": "disabled",
    "STATUS_PENDING_CONFIRM": "pending",
    "STATUS_PENDING_VERIFIED": "pending",
    "STATUS_CONFIRM_FAIL": "rejected",
    "STATUS_LIMIT": "limited",
    "STATUS_SELF_SERVICE_UNAUDITED": "pending",
}


def metrics_for(granularity: str) -> list[str]:
    return [*CORE_METRICS, *(m for m in EXTRA_METRICS if granularity == "day" or m not in NOT_HOURLY)]


def status(item: dict) -> str:
    op = item.get("operation_status")
    if op in OPERATION_STATUS:
        return OPERATION_STATUS[op]
    secondary = item.get("secondary_status")
    return str(secondary).lower() if secondary else "unknown"


def report_row(
    row: dict, *, path: str, level: str, granularity: str, entity_id: str, when: datetime, currency: str, where: dict
) -> ReportRow:
    metrics = row.get("metrics")
    if not isinstance(metrics, dict):
        raise MalformedResponse(f"{path}.metrics should be an object", field=f"{path}.metrics", **where)
    for name in ("impressions", "spend"):
        if name not in metrics:
            raise MalformedResponse(f"{path}.metrics.{name} is missing", field=f"{path}.metrics.{name}", **where)
    extra = {
        name: number(value, f"{path}.metrics.{name}", where)
        for name, value in metrics.items()
        if name not in CORE_METRICS and value not in (None, "", "-")
    }
    return ReportRow(
        level=level,
        granularity=granularity,
        entity_id=entity_id,
        stat_time=when,
        impressions=int(number(metrics["impressions"], f"{path}.metrics.impressions", where)),
        clicks=int(number(metrics.get("clicks"), f"{path}.metrics.clicks", where)),
        cost=amount(metrics["spend"], f"{path}.metrics.spend", where),
        conversions=number(metrics.get("conversion"), f"{path}.metrics.conversion", where),
        currency=currency,
        extra=extra,
    )
