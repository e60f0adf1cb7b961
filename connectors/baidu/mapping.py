"""Baidu words onto ours.

Levels: account (推广账户) -> account, plan (推广计划, "campaign" in the API) -> campaign,
unit (推广单元, "adgroup") -> ad_group, creative (创意, "idea" in reports) -> ad. Keywords
(关键词) hang under units; they are targeting, not ads, and are not fetched.

Reports (OpenApiReportService/getReportData, the "one-stop" report): search report types
account 2208157, plan 2290316, unit 2284618, creative 2665235; rows carry `date` ("2024-05-01"
daily, "2024-05-01 13:00" hourly, Beijing time), ids (`userId`, `campaignId`, `adGroupId`,
`ideaId`), `impression`, `click`, `cost` (yuan) and the requested metrics. Conversions:
`ocpcConversions` (目标转化量, the search reports' oCPC target conversions; accounts without
oCPC report 0). The columns are the search ones (bububa/baidu-marketing model/report/searchMetric.go,
commonMetric in stat.go); `ocpcTargetTrans*` are feed (信息流) columns and are not requested.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo

from connectors.base import ReportRow
from connectors.errors import MalformedResponse
from connectors.primitives import amount, number

PLATFORM_TZ = ZoneInfo("Asia/Shanghai")
CURRENCY = "CNY"
CORE_METRICS = {"impression": "impressions", "click": "clicks", "cost": "cost", "ocpcConversions": "conversions"}
EXTRA_METRICS = (
    "ctr",
    "cpc",
    "cpm",
    "topPageViews",
    "topPClicks",
    "topPay",
    "topFirstPageViews",
    "deepOCPCConversions",
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
# Status codes of the search services (model/search/{campaign,adgroup,creative}/*.go):
# plan 21 有效, 22 处于暂停时段, 23 暂停推广, 24 计划预算不足, 25 账户预算不足;
# unit 31 有效, 32 暂停推广, 33 推广计划暂停推广, 43 未审核;
# creative 51 有效, 52 暂停推广, 53 审核不通过, 54 待激活, 55 审核中, 56 部分无效 (mobile
# material rejected, PC approved), 57 有效-移动URL审核中, 59 未审核.
CAMPAIGN_STATUS = {21: "active", 22: "paused", 23: "paused", 24: "limited", 25: "limited"}
ADGROUP_STATUS = {31: "active", 32: "paused", 33: "paused", 43: "pending"}
CREATIVE_STATUS = {
    51: "active",
    52: "paused",
    53: "rejected",
    54: "pending",
    55: "pending",
    56: "limited",
    57: "active",
    59: "pending",
}


def status(item: dict, table: dict[int, str]) -> str:
    if item.get("pause") is True:
        return "paused"
    code = item.get("status")
    if code in table:
        return table[code]
    return f"status_{code}" if code is not None else ("active" if item.get("pause") is False else "unknown")


def time_formats(granularity: str) -> tuple[str, ...]:
    """`date` is "2024-05-01" in daily reports, "2024-05-01 13:00" (or with seconds, or bare hour) hourly."""
    return ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H") if granularity == "hour" else ("%Y-%m-%d",)


def report_row(
    row: dict, *, path: str, level: str, granularity: str, entity_id: str, when: datetime, where: dict
) -> ReportRow:
    for name in ("impression", "click", "cost"):
        if name not in row:
            raise MalformedResponse(f"{path}.{name} is missing", field=f"{path}.{name}", **where)
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
        impressions=int(number(row.get("impression"), f"{path}.impression", where)),
        clicks=int(number(row.get("click"), f"{path}.click", where)),
        cost=amount(row["cost"], f"{path}.cost", where, blank_is_zero=True),
        conversions=number(row.get("ocpcConversions"), f"{path}.ocpcConversions", where),
        currency=CURRENCY,
        extra=extra,
    )
