"""Which dates a report fetch covers, from a run's logical time (pure, no Django).

Every window is computed in the ACCOUNT's timezone, because that is the calendar the
platform reports in: "yesterday" for a Shanghai account at 02:00 UTC is a different date
than for a New York account. A re-run of a past run passes that run's logical time, so it
fetches the same past window again.

  hour   yesterday and today (local): today's hours so far, and yesterday's in case the
         platform finished them late.
  day    yesterday and the `lookback_days` days before it: platforms restate recent
         days (conversions are attributed late), so every run fetches them again and the
         newer version replaces the old rows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


class WindowError(ValueError):
    pass


def lookback_problem(value: object) -> str | None:
    """Why `value` is not a look-back in days (None when it is one)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
        return f"expected an integer from 0 to 365, got {value!r}"
    return None


def report_window(
    *, granularity: str, logical_time: datetime, timezone: str, lookback_days: int = 0
) -> tuple[date, date]:
    """(start, end) local dates, inclusive, for a fetch at `logical_time` (aware)."""
    if logical_time.tzinfo is None:
        raise WindowError("logical_time must be timezone-aware")
    if (problem := lookback_problem(lookback_days)) is not None:
        raise WindowError(f"lookback_days: {problem}")
    today = logical_time.astimezone(ZoneInfo(timezone)).date()
    yesterday = today - timedelta(days=1)
    if granularity == "hour":
        return yesterday, today
    if granularity == "day":
        return yesterday - timedelta(days=lookback_days), yesterday
    raise WindowError(f"granularity: unknown granularity {granularity!r}; use hour or day")
