"""Date presets of the dashboard and which days of a period are still partial.

Pure functions (no Django): `today` is passed in, so tests pin it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PRESETS = {
    "yesterday": "Yesterday",
    "last_7": "Last 7 days",
    "last_30": "Last 30 days",
    "month_to_date": "Month to date",
    "last_month": "Last month",
}


class PresetError(ValueError):
    pass


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """(start, end) of a preset, inclusive. "Last 7 days" ends today (today is partial)."""
    if preset == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if preset == "last_7":
        return today - timedelta(days=6), today
    if preset == "last_30":
        return today - timedelta(days=29), today
    if preset == "month_to_date":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    raise PresetError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")


def local_todays(timezones: Iterable[str], now: datetime) -> tuple[date, date] | None:
    """(earliest, latest) local date of `now` over the accounts' time zones."""
    days = {now.astimezone(ZoneInfo(tz or "UTC")).date() for tz in set(timezones)}
    return (min(days), max(days)) if days else None


def day_state(day: date, todays: tuple[date, date] | None) -> str:
    """ "complete", "partial" (a day not over yet in some account's time zone) or "future"
    (not begun in any account's zone: no data can exist, so nothing is plotted)."""
    if todays is None:
        return "complete"
    earliest, latest = todays
    if day > latest:
        return "future"
    if day >= earliest:
        return "partial"
    return "complete"
