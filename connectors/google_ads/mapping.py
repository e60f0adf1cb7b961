"""Google Ads words onto ours, and the GAQL we send.

Levels: customer -> account, campaign -> campaign, ad group -> ad_group, ad group ad -> ad
(identified by `ad_group_ad.ad.id`). Google has no creative object of its own in this chain
(assets hang off ads and asset groups), so our `creative` level is not used.

Metrics (GAQL names; JSON answers use lowerCamelCase and int64 as strings, zero values omitted):
`metrics.impressions`, `metrics.clicks`, `metrics.cost_micros` (/ 1,000,000 = cost in the
customer's `currency_code`), `metrics.conversions` (a double: fractional with data-driven
attribution). Every other selected metric is kept under its GAQL name (`conversions_value`,
`average_cpc` (micros), `ctr`, ...).

Times: `segments.date` (YYYY-MM-DD) and `segments.hour` (0-23) are in the customer's
`time_zone`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from connectors.base import ReportRow
from connectors.errors import MalformedResponse
from connectors.primitives import number

CORE_METRICS = {"impressions": "impressions", "clicks": "clicks", "cost_micros": "cost", "conversions": "conversions"}
# Selected on every report. All are documented Metrics fields that accept segments.date; that
# each also accepts segments.hour at every level is unconfirmed for view_through_conversions.
EXTRA_METRICS = (
    "conversions_value",
    "all_conversions",
    "all_conversions_value",
    "view_through_conversions",
    "interactions",
    "interaction_rate",
    "engagements",
    "ctr",
    "average_cpc",
    "average_cpm",
    "average_cost",
    "cost_per_conversion",
)
MICROS = Decimal(1_000_000)

ACCOUNT_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone, customer.status, "
    "customer.manager, customer.test_account FROM customer"
)
CLIENTS_QUERY = (
    "SELECT customer_client.id, customer_client.descriptive_name, customer_client.currency_code, "
    "customer_client.time_zone, customer_client.status, customer_client.manager, customer_client.level "
    "FROM customer_client WHERE customer_client.manager = FALSE AND customer_client.status = 'ENABLED'"
)
# our level -> (GAQL resource, JSON object, selected fields, parent (JSON object, field) or None)
METADATA = {
    "campaign": (
        "campaign",
        "campaign",
        (
            "campaign.id",
            "campaign.name",
            "campaign.status",
            "campaign.serving_status",
            "campaign.advertising_channel_type",
            "campaign.bidding_strategy_type",
            "campaign.start_date",
            "campaign.end_date",
        ),
        None,
    ),
    "ad_group": (
        "ad_group",
        "adGroup",
        ("ad_group.id", "ad_group.name", "ad_group.status", "ad_group.type", "campaign.id"),
        ("campaign", "id"),
    ),
    "ad": (
        "ad_group_ad",
        "adGroupAd",
        (
            "ad_group_ad.ad.id",
            "ad_group_ad.ad.name",
            "ad_group_ad.status",
            "ad_group_ad.ad.type",
            "ad_group_ad.ad.final_urls",
            "ad_group_ad.policy_summary.approval_status",
            "ad_group.id",
        ),
        ("adGroup", "id"),
    ),
}
# our level -> (GAQL resource, id field to select, JSON path of the id)
REPORTS = {
    "account": ("customer", "customer.id", ("customer", "id")),
    "campaign": ("campaign", "campaign.id", ("campaign", "id")),
    "ad_group": ("ad_group", "ad_group.id", ("adGroup", "id")),
    "ad": ("ad_group_ad", "ad_group_ad.ad.id", ("adGroupAd", "ad", "id")),
}


def metadata_query(level: str) -> str:
    resource, _, fields, _ = METADATA[level]
    return f"SELECT {', '.join(fields)} FROM {resource}"  # noqa: S608 (GAQL built from our own field lists)


def report_query(level: str, granularity: str, start: date, end: date, extra_metrics: tuple[str, ...] = ()) -> str:
    resource, id_field, _ = REPORTS[level]
    metrics = [f"metrics.{m}" for m in (*CORE_METRICS, *EXTRA_METRICS, *extra_metrics)]
    segments = ["segments.date", *(["segments.hour"] if granularity == "hour" else [])]
    fields = dict.fromkeys([id_field, "customer.currency_code", *metrics, *segments])  # ordered, no duplicates
    return (
        f"SELECT {', '.join(fields)} FROM {resource} "  # noqa: S608 (GAQL; fields ours, dates are dates)
        f"WHERE segments.date BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"
    )


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def status(obj: dict) -> str:
    value = obj.get("status")
    return str(value).lower() if value else "unknown"


def dig(row: dict, keys: tuple[str, ...]):
    value = row
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def integer(value, path: str, where: dict) -> int:
    if value is None:
        return 0  # proto3 JSON omits zeros
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, str))
        or (isinstance(value, str) and not value.lstrip("-").isdigit())
    ):
        raise MalformedResponse(
            f"{path} should be an int64 (a string of digits), got {str(value)[:40]!r}", field=path, **where
        )
    return int(value)


def report_row(
    row: dict, *, path: str, level: str, granularity: str, entity_id: str, when: datetime, currency: str, where: dict
) -> ReportRow:
    metrics = row.get("metrics", {})
    if not isinstance(metrics, dict):
        raise MalformedResponse(f"{path}.metrics should be an object", field=f"{path}.metrics", **where)
    cost_micros = integer(metrics.get("costMicros"), f"{path}.metrics.costMicros", where)
    extra: dict[str, float] = {}
    core_json = {camel(m) for m in CORE_METRICS}
    for name, value in metrics.items():
        if name in core_json:
            continue
        extra[snake(name)] = number(value, f"{path}.metrics.{name}", where)
    try:
        cost = Decimal(cost_micros) / MICROS
    except InvalidOperation:  # pragma: no cover - integer() already checked it
        raise MalformedResponse(
            f"{path}.metrics.costMicros is not an amount", field=f"{path}.metrics.costMicros", **where
        ) from None
    customer = row.get("customer") if isinstance(row.get("customer"), dict) else {}
    return ReportRow(
        level=level,
        granularity=granularity,
        entity_id=entity_id,
        stat_time=when,
        impressions=integer(metrics.get("impressions"), f"{path}.metrics.impressions", where),
        clicks=integer(metrics.get("clicks"), f"{path}.metrics.clicks", where),
        cost=cost,
        conversions=number(metrics.get("conversions"), f"{path}.metrics.conversions", where),
        currency=str(customer.get("currencyCode") or currency),
        extra=extra,
    )
