"""Ocean Engine words onto ours: levels, statuses, metrics, stat times.

Levels. Ocean Engine has two hierarchies and an advertiser may have objects in both
(1.0 was the only one until 2022, 2.0 "体验版" is the current one):
  2.0: advertiser > project (项目) > promotion (广告)
  1.0: advertiser > campaign (广告组) > ad (计划) > creative (创意)
onto ours: project and 1.0 campaign -> campaign; 1.0 ad (it carries budget, bid and
targeting, like an ad group) -> ad_group; promotion (carries the materials) -> ad;
1.0 creative -> creative. Ids are unique across both, so one level can hold both kinds;
`raw["_api_version"]` says which.

Metrics. 1.0 reports (/2/report/*/get/) return `show`, `click`, `cost`, `convert` and,
with no `fields` given, every other default metric; the 2.0 custom report
(/v3.0/report/custom/get/) names its metrics `show_cnt`, `click_cnt`, `stat_cost`,
`convert_cnt`. Every other numeric metric is kept under its own name in `extra`.

Times. Reports are in Beijing time (the platform has no per-account time zone); rows are
stamped Asia/Shanghai and converted to the account's zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from connectors.base import ReportRow
from connectors.errors import MalformedResponse
from connectors.primitives import amount, number, stat_time

PLATFORM_TZ = ZoneInfo("Asia/Shanghai")
CURRENCY = "CNY"  # accounts are funded and reported in RMB
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H", "%Y-%m-%d")

CORE_V1 = {"show": "impressions", "click": "clicks", "cost": "cost", "convert": "conversions"}
CORE_V2 = {"show_cnt": "impressions", "click_cnt": "clicks", "stat_cost": "cost", "convert_cnt": "conversions"}
CORE_METRICS = {**CORE_V1, **CORE_V2}

# 1.0 report default metrics besides the core ones (/2/report/*/get/ without `fields`).
EXTRA_V1 = (
    "avg_show_cost",
    "avg_click_cost",
    "ctr",
    "convert_cost",
    "convert_rate",
    "deep_convert",
    "deep_convert_cost",
    "deep_convert_rate",
    "attribution_convert",
    "attribution_convert_cost",
    "attribution_deep_convert",
    "attribution_deep_convert_cost",
    "total_play",
    "valid_play",
    "valid_play_cost",
    "valid_play_rate",
    "play_25_feed_break",
    "play_50_feed_break",
    "play_75_feed_break",
    "play_100_feed_break",
    "average_play_time_per_play",
    "play_over_rate",
    "wifi_play",
    "wifi_play_rate",
    "share",
    "comment",
    "like",
    "follow",
    "home_visited",
    "message_action",
    "click_landing_page",
    "click_install",
    "active",
    "active_cost",
    "active_rate",
    "download_finish",
    "install_finish",
    "next_day_open",
    "pay_count",
    "in_app_pay",
)
# 2.0 custom-report metrics we request besides the core ones (each is a documented
# custom-report metric name; the list a given app may use depends on its permission group).
EXTRA_V2 = (
    "cpm_platform",
    "cpc_platform",
    "ctr",
    "conversion_cost",
    "conversion_rate",
    "deep_convert_cnt",
    "deep_convert_cost",
    "deep_convert_rate",
    "attribution_convert_cnt",
    "attribution_convert_cost",
    "total_play",
    "valid_play",
    "play_duration_3s",
    "play_over_rate",
    "dy_like",
    "dy_comment",
    "dy_share",
    "dy_follow",
)
EXTRA_METRICS = tuple(dict.fromkeys(m for m in EXTRA_V1 + EXTRA_V2 if m not in CORE_METRICS))

# Normalized statuses (active, paused, deleted, pending, ended, ...); unknown ones pass through lower-cased.
STATUS_WORDS = (
    ("DELETE", "deleted"),
    ("DISABLE", "paused"),
    ("PAUSE", "paused"),
    ("STOP", "paused"),
    ("AUDIT_DENY", "rejected"),
    ("REJECT", "rejected"),
    ("AUDIT", "pending"),
    ("REAUDIT", "pending"),
    ("CREATE", "pending"),
    ("BUDGET", "limited"),
    ("BALANCE", "limited"),
    ("NO_SCHEDULE", "ended"),
    ("TIME_DONE", "ended"),
    ("DONE", "ended"),
    ("FROZEN", "paused"),
    ("ENABLE", "active"),
    ("DELIVERY_OK", "active"),
    ("OK", "active"),
    ("ACTIVE", "active"),
)


def status(value) -> str:
    text = str(value or "").upper()
    if not text:
        return "unknown"
    for word, ours in STATUS_WORDS:
        if word in text:
            return ours
    return text.lower()


def beijing_time(text: str, path: str, where: dict, tz: ZoneInfo) -> datetime:
    """A report's stat time ('2024-05-01', '2024-05-01 13:00:00', ...), Beijing time, in `tz`."""
    return stat_time(text, path, where, tz=tz, formats=TIME_FORMATS, source_tz=PLATFORM_TZ)


def report_row(
    metrics: dict,
    *,
    path: str,
    level: str,
    granularity: str,
    entity_id: str,
    when: datetime,
    core: dict[str, str],
    skip: frozenset[str],
    where: dict,
) -> ReportRow:
    """A ReportRow from a flat dict of metrics: `core` names ours, every other numeric one goes to extra."""
    values: dict[str, object] = {}
    for name, ours in core.items():
        if name not in metrics:
            raise MalformedResponse(f"{path}.{name} is missing", field=f"{path}.{name}", **where)
        values[ours] = metrics[name]
    extra: dict[str, float] = {}
    for name, value in metrics.items():
        if name in core or name in skip or isinstance(value, (dict, list)) or value is None:
            continue
        if isinstance(value, str):
            try:
                extra[name] = number(value, f"{path}.{name}", where)
            except MalformedResponse:
                continue  # a text dimension that came back with the metrics (a name, a type)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            extra[name] = float(value)
    impressions = number(values["impressions"], f"{path}.{_key(core, 'impressions')}", where)
    clicks = number(values["clicks"], f"{path}.{_key(core, 'clicks')}", where)
    return ReportRow(
        level=level,
        granularity=granularity,
        entity_id=entity_id,
        stat_time=when,
        impressions=int(impressions),
        clicks=int(clicks),
        cost=amount(values["cost"], f"{path}.{_key(core, 'cost')}", where, blank_is_zero=True),
        conversions=number(values["conversions"], f"{path}.{_key(core, 'conversions')}", where),
        currency=CURRENCY,
        extra=extra,
    )


def _key(core: dict[str, str], ours: str) -> str:
    return next(name for name, mapped in core.items() if mapped == ours)
