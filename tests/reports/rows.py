"""Builders of connector ReportRows for the report tests."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from connectors.base import ReportRow


def day_row(
    entity_id,
    day,
    *,
    tz="UTC",
    level="ad",
    impressions=100,
    clicks=10,
    cost="1.50",
    conversions=1.0,
    currency="USD",
    extra=None,
):
    """A daily row of `day` (a date) at local midnight of `tz`."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    return ReportRow(
        level=level,
        granularity="day",
        entity_id=str(entity_id),
        stat_time=start,
        impressions=impressions,
        clicks=clicks,
        cost=Decimal(cost),
        conversions=conversions,
        currency=currency,
        extra=dict(extra or {}),
    )


def hour_row(
    entity_id,
    local_time,
    *,
    tz="UTC",
    level="ad",
    impressions=10,
    clicks=1,
    cost="0.10",
    conversions=0.0,
    currency="USD",
    extra=None,
):
    return ReportRow(
        level=level,
        granularity="hour",
        entity_id=str(entity_id),
        stat_time=local_time.replace(tzinfo=ZoneInfo(tz)),
        impressions=impressions,
        clicks=clicks,
        cost=Decimal(cost),
        conversions=conversions,
        currency=currency,
        extra=dict(extra or {}),
    )
