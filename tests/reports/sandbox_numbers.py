"""The sandbox's own numbers, straight from connectors/sandbox/world.py (no HTTP): what a
report of an advertiser must add up to once it went through our pipeline."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from connectors.sandbox.world import Advertiser, metrics, slots

# our level -> the sandbox's word
SANDBOX_LEVELS = {
    "account": "advertiser",
    "campaign": "campaign",
    "ad_group": "adgroup",
    "ad": "ad",
    "creative": "creative",
}


def sandbox_totals(
    adv_id: str, *, level: str, granularity: str, start: date, end: date, now: datetime, restate_days: int = 3
) -> dict:
    """Sums over [start, end] (local dates) as the sandbox reports them at `now`."""
    adv = Advertiser.parse(adv_id)
    today = now.astimezone(ZoneInfo(adv.timezone)).date()
    totals = {"impressions": 0, "clicks": 0, "cost_cents": 0, "conversions": 0, "rows": 0}
    for slot in slots(adv.timezone, granularity, start, end, now):
        for _, ads in adv.reporting(SANDBOX_LEVELS[level]):
            m = metrics(adv, ads, slot, today=today, restate_days=restate_days)
            for key in ("impressions", "clicks", "cost_cents", "conversions"):
                totals[key] += m[key]
            totals["rows"] += 1
    return {
        "impressions": totals["impressions"],
        "clicks": totals["clicks"],
        "cost": Decimal(totals["cost_cents"]) / 100,
        "conversions": float(totals["conversions"]),
        "rows": totals["rows"],
    }


def sandbox_days(adv_id: str, *, level: str, start: date, end: date, now: datetime, restate_days: int = 3) -> dict:
    """{local date: totals} of daily reports."""
    days = {}
    d = start
    while d <= end:
        days[d] = sandbox_totals(
            adv_id, level=level, granularity="day", start=d, end=d, now=now, restate_days=restate_days
        )
        d += timedelta(days=1)
    return days


def core(totals: dict) -> tuple:
    return totals["impressions"], totals["clicks"], totals["cost"], totals["conversions"]
