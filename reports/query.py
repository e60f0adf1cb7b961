"""What a report query may ask for, validated: filters, metric names, date ranges.

Pure Python (no Django, no ClickHouse), so the API layer can validate input with the
same rules the selectors apply. Every error is a `ReportQueryError` naming the field.

Metrics a query can name:
  core      impressions, clicks, cost, conversions (summed)
  derived   ctr = clicks / impressions, cpc = cost / clicks, cpm = 1000 * cost / impressions,
            cpa = cost / conversions (ratios of the sums; None where the divisor is 0)
  extra     a platform-specific metric from the `extra` map: `extra.NAME` or `extra['NAME']`
            (summed; 0 where a row lacks it)

Date ranges are inclusive local dates (the account's timezone), for both granularities:
a daily row belongs to its local day, an hourly row to the local date of its hour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from connectors.base import CORE_METRICS, GRANULARITIES, LEVELS

DERIVED_METRICS = ("ctr", "cpc", "cpm", "cpa")
# Longest range one query may span: ten years of days, or ~three months of hours
# (beyond that an hourly chart has more points than pixels).
MAX_DAYS = {"day": 3660, "hour": 93}
MAX_TOP_N = 1000
_ADJECTIVE = {"day": "daily", "hour": "hourly"}
_EXTRA = re.compile(r"^extra(?:\.([A-Za-z0-9_.:-]{1,64})|\['([A-Za-z0-9_.:-]{1,64})'\])$")


class ReportQueryError(ValueError):
    """Invalid report query input; `field` names the offending parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Metric:
    """A metric a query asked for. `name` is how results name it (`extra.video_views`)."""

    name: str
    kind: str  # core | derived | extra
    key: str = ""  # the extra map key


def parse_metric(value: str, *, field: str = "metric") -> Metric:
    if not isinstance(value, str):
        raise ReportQueryError(field, f"expected a metric name, got {type(value).__name__}")
    if value in CORE_METRICS:
        return Metric(value, "core")
    if value in DERIVED_METRICS:
        return Metric(value, "derived")
    match = _EXTRA.match(value)
    if match:
        key = match.group(1) or match.group(2)
        return Metric(f"extra.{key}", "extra", key)
    raise ReportQueryError(
        field,
        f"unknown metric {value!r}; use one of {', '.join(CORE_METRICS + DERIVED_METRICS)} "
        "or extra.NAME for a platform-specific metric",
    )


@dataclass(frozen=True)
class ReportFilter:
    """Which report rows a query covers. Build with `report_filter(...)`, which validates."""

    account_ids: tuple[int, ...]
    start: date
    end: date
    granularity: str = "day"
    level: str = "account"
    platform: str | None = None
    entity_ids: tuple[str, ...] | None = None
    currency: str | None = None
    extra: tuple[Metric, ...] = field(default_factory=tuple)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous_period(self) -> ReportFilter:
        """The period of equal length that ends the day before this one starts."""
        length = timedelta(days=self.days)
        return replace(self, start=self.start - length, end=self.end - length)

    def same_period_last_year(self) -> ReportFilter:
        """The same dates a year earlier (29 February becomes the 28th)."""
        return replace(self, start=_year_before(self.start), end=_year_before(self.end))


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _as_date(value: object, name: str) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ReportQueryError(name, f"expected a date (YYYY-MM-DD), got {value!r}")


def report_filter(
    *,
    account_ids: Iterable[int],
    start: date | str,
    end: date | str,
    granularity: str = "day",
    level: str = "account",
    platform: str | None = None,
    entity_ids: Iterable[str] | None = None,
    currency: str | None = None,
    metrics: Sequence[str] = (),
) -> ReportFilter:
    """Validate query input. `metrics` names extra metrics to report besides core and derived."""
    try:
        ids = tuple(sorted({int(a) for a in account_ids}))
    except (TypeError, ValueError):
        raise ReportQueryError("account_ids", "expected account ids (integers)") from None
    if any(a <= 0 for a in ids):
        raise ReportQueryError("account_ids", "account ids are positive integers")
    start, end = _as_date(start, "start"), _as_date(end, "end")
    if granularity not in GRANULARITIES:
        raise ReportQueryError("granularity", f"unknown granularity {granularity!r}; use hour or day")
    if end < start:
        raise ReportQueryError("end", f"the range ends ({end}) before it starts ({start})")
    if (end - start).days + 1 > MAX_DAYS[granularity]:
        raise ReportQueryError("end", f"{_ADJECTIVE[granularity]} queries span at most {MAX_DAYS[granularity]} days")
    if level not in LEVELS:
        raise ReportQueryError("level", f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    if platform is not None and not re.fullmatch(r"[a-z0-9_]{1,32}", platform):
        raise ReportQueryError("platform", f"not a platform slug: {platform!r}")
    if entity_ids is not None:
        entity_ids = tuple(str(e) for e in entity_ids)
        if not entity_ids:
            raise ReportQueryError("entity_ids", "an empty list matches nothing; omit it for all entities")
    extra = []
    for i, name in enumerate(metrics or ()):
        metric = parse_metric(name, field=f"metrics[{i}]")
        if metric.kind == "extra" and metric not in extra:
            extra.append(metric)
    return ReportFilter(
        account_ids=ids,
        start=start,
        end=end,
        granularity=granularity,
        level=level,
        platform=platform,
        entity_ids=entity_ids,
        currency=currency or None,
        extra=tuple(extra),
    )


def derived(values: dict[str, Any]) -> dict[str, Any]:
    """ctr, cpc, cpm, cpa from summed core metrics (floats; None where undefined)."""
    impressions, clicks = values["impressions"], values["clicks"]
    cost, conversions = float(values["cost"]), values["conversions"]
    return {
        "ctr": clicks / impressions if impressions else None,
        "cpc": cost / clicks if clicks else None,
        "cpm": 1000 * cost / impressions if impressions else None,
        "cpa": cost / conversions if conversions else None,
    }


def change(current: float | None, previous: float | None) -> dict[str, Any]:
    """Absolute and relative change of one metric between two periods."""
    if current is None or previous is None:
        return {"current": current, "previous": previous, "change": None, "change_pct": None}
    delta = current - previous
    pct = float(delta) / float(previous) * 100 if previous else None
    return {"current": current, "previous": previous, "change": delta, "change_pct": pct}
