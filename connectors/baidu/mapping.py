"""Baidu words onto ours.

Levels: account (推广账户) -> account, plan (推广计划, "campaign" in the API) -> campaign,
unit (推广单元, "adgroup") -> ad_group, creative (创意, "idea" in reports) -> ad. Keywords
(关键词) hang under units; they are targeting, not ads, and are not fetched.

Reports (OpenApiReportService/getReportData, the "one-stop" report): search report types
account 2208157, plan 2290316, unit 2284618, creative 2665235; rows carry `date` ("2024-05-01"
daily, "2024-05-01 13:00" hourly, Beijing time), ids (`userId`, `campaignId`, `adGroupId`,
`ideaId`), `impression`, `click`, `cost` (yuan) and the requested metrics. Conversions:
`ocpcTargetTrans` (目标转化量, oCPC target conversions; unconfirmed as the best "conversions"
for non-oCPC accounts, which report 0).
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from connectors.base import ReportRow
from connectors.errors import MalformedResponse

PLATFORM_TZ = ZoneInfo("Asia/Shanghai")
CURRENCY = "CNY"
CORE_METRICS = {"impression": "impressions", "click": "clicks", "cost": "cost", "ocpcTargetTrans": "conversions"}
EXTRA_METRICS = (
    "ctr",
    "cpc",
    "cpm",
    "topPageViews",
    "topPClicks",
    "topPay",
    "topFirstPageViews",
    "ocpcTargetTransCPC",
    "ocpcTargetTransRatio",
    "deepConversions",
)
REPORT_TYPES = {"account": 2208157, "campaign": 2290316, "ad_group": 2284618, "ad": 2665235}
ID_COLUMNS = {"account": "userId", "campaign": "campaignId", "ad_group": "adGroupId", "ad": "ideaId"}
# Columns that are dimensions, not metrics.
DIMENSIONS = frozenset(
    {
        "date",
        "userId",
        "userName",
        "campaignId",
        "campaignNameStatus",
        "campaignName",
        "adGroupId",
        "adGroupNameStatus",
        "adGroupName",
        "ideaId",
        "ideaInfo",
        "campaignStatus",
        "adgroupStatus",
    }
)
# Plan (campaign) status codes of CampaignService (21 有效 ... ; unconfirmed beyond 21-25).
CAMPAIGN_STATUS = {21: "active", 22: "paused", 23: "paused", 24: "limited", 25: "limited"}
ADGROUP_STATUS = {31: "active", 32: "paused", 33: "paused"}
CREATIVE_STATUS = {41: "active", 42: "paused", 43: "pending", 44: "rejected", 45: "pending", 46: "paused"}


def status(item: dict, table: dict[int, str]) -> str:
    if item.get("pause") is True:
        return "paused"
    code = item.get("status")
    if code in table:
        return table[code]
    return f"status_{code}" if code is not None else ("active" if item.get("pause") is False else "unknown")


def stat_time(value, path: str, granularity: str, where: dict, tz: ZoneInfo) -> datetime:
    formats = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H") if granularity == "hour" else ("%Y-%m-%d",)
    if isinstance(value, str):
        for fmt in formats:
            try:
                return datetime.strptime(value.strip(), fmt).replace(tzinfo=PLATFORM_TZ).astimezone(tz)
            except ValueError:
                continue
    want = "yyyy-MM-dd HH:mm" if granularity == "hour" else "yyyy-MM-dd"
    raise MalformedResponse(f"{path} should be a {want} time, got {value!r}"[:200], field=path, **where)


def _number(row: dict, name: str, path: str, where: dict) -> float:
    value = row.get(name)
    if value is None or value == "-" or value == "":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise MalformedResponse(f"{path}.{name} should be a number", field=f"{path}.{name}", **where)
    try:
        return float(value)
    except ValueError:
        raise MalformedResponse(
            f"{path}.{name} should be a number, got {str(value)[:40]!r}", field=f"{path}.{name}", **where
        ) from None


def report_row(
    row: dict, *, path: str, level: str, granularity: str, entity_id: str, when: datetime, where: dict
) -> ReportRow:
    for name in ("impression", "click", "cost"):
        if name not in row:
            raise MalformedResponse(f"{path}.{name} is missing", field=f"{path}.{name}", **where)
    cost_value = row["cost"]
    try:
        cost = (
            Decimal(str(cost_value))
            if not isinstance(cost_value, bool) and cost_value not in (None, "-", "")
            else Decimal(0)
        )
    except InvalidOperation:
        raise MalformedResponse(
            f"{path}.cost is not an amount: {str(cost_value)[:40]!r}", field=f"{path}.cost", **where
        ) from None
    extra = {}
    for name, value in row.items():
        if name in CORE_METRICS or name in DIMENSIONS or isinstance(value, (bool, dict, list)) or value is None:
            continue
        if isinstance(value, (int, float)):
            extra[name] = float(value)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):  # a text column (a name) that came with the metrics
                extra[name] = float(value)
    return ReportRow(
        level=level,
        granularity=granularity,
        entity_id=entity_id,
        stat_time=when,
        impressions=int(_number(row, "impression", path, where)),
        clicks=int(_number(row, "click", path, where)),
        cost=cost,
        conversions=_number(row, "ocpcTargetTrans", path, where),
        currency=CURRENCY,
        extra=extra,
    )


def chunks(start: date, end: date, days: int):
    chunk = start
    while chunk <= end:
        last = min(end, chunk + timedelta(days=days - 1))
        yield chunk, last
        chunk = last + timedelta(days=1)
