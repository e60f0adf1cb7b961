"""Meta words onto ours.

Levels: ad account -> account, campaign -> campaign, ad set -> ad_group, ad -> ad, ad creative
-> creative. A creative belongs to the ad account (one creative can serve many ads), so its
parent is the account.

Insights fields (https://developers.facebook.com/docs/marketing-api/insights/parameters, the
Ads Insights reference): numbers arrive as strings. Core: `impressions`, `clicks`, `spend`
(in `account_currency`, major units), `conversions` (a list of {action_type, value}; summed).
Every other numeric field is kept under its own name (reach, frequency, cpc, cpm, ctr, ...), and
every list of action stats is flattened to `<field>.<action_type>` (actions.link_click,
action_values.purchase, video_p25_watched_actions.video_view, ...), so nothing documented is lost.

Times: `date_start` is the day in the ad account's timezone; the hourly breakdown
`hourly_stats_aggregated_by_advertiser_time_zone` ("13:00:00 - 13:59:59") is the hour in the
same timezone.
"""

from __future__ import annotations

from datetime import datetime

from connectors.base import ReportRow
from connectors.errors import MalformedResponse
from connectors.primitives import amount, hour_of, number

HOURLY_BREAKDOWN = "hourly_stats_aggregated_by_advertiser_time_zone"
CORE_METRICS = {"impressions": "impressions", "clicks": "clicks", "spend": "cost", "conversions": "conversions"}
# Requested on every insights call (besides ids and CORE_METRICS). Unique/reach metrics are not
# available with the hourly breakdown (Meta drops them there; unconfirmed for every field).
EXTRA_FIELDS = (
    "reach",
    "frequency",
    "cpc",
    "cpm",
    "cpp",
    "ctr",
    "unique_clicks",
    "unique_ctr",
    "inline_link_clicks",
    "inline_link_click_ctr",
    "inline_post_engagement",
    "social_spend",
    "actions",
    "action_values",
    "conversion_values",
    "cost_per_action_type",
    "cost_per_conversion",
    "outbound_clicks",
    "video_p25_watched_actions",
    "video_p50_watched_actions",
    "video_p75_watched_actions",
    "video_p100_watched_actions",
    "video_play_actions",
)
NOT_HOURLY = frozenset({"reach", "frequency", "cpp", "unique_clicks", "unique_ctr"})
EXTRA_METRICS = tuple(f for f in EXTRA_FIELDS)
IDS = {"account": "account_id", "campaign": "campaign_id", "ad_group": "adset_id", "ad": "ad_id"}
# Row fields that are not metrics.
DIMENSIONS = frozenset(
    {
        "account_id",
        "account_name",
        "campaign_id",
        "campaign_name",
        "adset_id",
        "adset_name",
        "ad_id",
        "ad_name",
        "date_start",
        "date_stop",
        "account_currency",
        HOURLY_BREAKDOWN,
        "objective",
        "buying_type",
        "attribution_setting",
        "optimization_goal",
    }
)
ACCOUNT_STATUS = {
    1: "active",
    2: "disabled",
    3: "unsettled",
    7: "pending_risk_review",
    8: "pending_settlement",
    9: "in_grace_period",
    100: "pending_closure",
    101: "closed",
    201: "any_active",
    202: "any_closed",
}


def status(item: dict) -> str:
    value = item.get("effective_status") or item.get("status") or item.get("configured_status")
    return str(value).lower() if value else "unknown"


def action_total(values, path: str, where: dict) -> float:
    if values in (None, ""):
        return 0.0
    if not isinstance(values, list):
        raise MalformedResponse(f"{path} should be a list of action stats", field=path, **where)
    return sum(
        number(a.get("value", 0) if isinstance(a, dict) else a, f"{path}.{n}.value", where)
        for n, a in enumerate(values)
    )


def hour_of_span(row: dict, path: str, where: dict) -> int:
    """The hour of an hourly row: its breakdown value 'HH:00:00 - HH:59:59'."""
    span = row.get(HOURLY_BREAKDOWN)
    head = span.split(":", 1)[0] if isinstance(span, str) else span
    return hour_of(head, f"{path}.{HOURLY_BREAKDOWN}", where)


def report_row(
    row: dict, *, path: str, level: str, granularity: str, entity_id: str, when: datetime, currency: str, where: dict
) -> ReportRow:
    for name in ("impressions", "spend"):
        if name not in row:
            raise MalformedResponse(f"{path}.{name} is missing", field=f"{path}.{name}", **where)
    extra: dict[str, float] = {}
    for name, value in row.items():
        if name in CORE_METRICS or name in DIMENSIONS:
            continue
        if isinstance(value, list):  # action stats: one metric per action type
            for n, action in enumerate(value):
                if isinstance(action, dict) and "action_type" in action and "value" in action:
                    key = f"{name}.{action['action_type']}"
                    extra[key] = extra.get(key, 0.0) + number(action["value"], f"{path}.{name}.{n}.value", where)
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                extra[name] = float(value)
            except ValueError:
                continue  # a text field we did not ask for as a metric
    return ReportRow(
        level=level,
        granularity=granularity,
        entity_id=entity_id,
        stat_time=when,
        impressions=int(number(row["impressions"], f"{path}.impressions", where)),
        clicks=int(number(row.get("clicks", 0), f"{path}.clicks", where)),
        cost=amount(row["spend"], f"{path}.spend", where),
        conversions=action_total(row.get("conversions"), f"{path}.conversions", where),
        currency=str(row.get("account_currency") or currency),
        extra=extra,
    )
