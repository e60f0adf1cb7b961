"""What each report fetch leaves behind per local day: its totals (the restatement history,
`DayFetch`) and the day's completeness and finality (`DayStatus`).

The insight operator streams a fetch's rows through a `DayTally` (no second pass, no read of
ClickHouse), then calls `day_fetch_record` once the rows and tombstones are stored, or
`day_fetch_failed` when the fetch raised. The status of a day, from when it was fetched:

  partial      fetched before the local day had ended (today, or a fetch that raced midnight)
  preliminary  the day had ended, but the platform may still restate it: fetched before the
               end of its restatement window (local midnight after the day + restatement days)
  final        fetched after the restatement window closed: no later fetch will change it
  failed       (display) the latest fetch covering the day failed after the last success
  missing      (display) no fetch of the day ever succeeded (no DayStatus, or only failures)

Pure helpers (`day_hours`, `day_state`) take aware datetimes and import no models, so the
rules can be tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from connectors.base import ReportRow

ERROR_LENGTH = 2000


def now() -> datetime:
    """The clock the status rules read (tests move it)."""
    return timezone.now()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def day_hours(day: date, tz_name: str) -> int:
    """Hours of the local day: 23 or 25 on DST change days, else 24."""
    tz = ZoneInfo(tz_name)
    start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
    return round((end - start).total_seconds() / 3600)


def hours_elapsed(day: date, tz_name: str, at: datetime) -> int:
    """Whole hours of the local day that had passed at `at` (0 .. day_hours)."""
    tz = ZoneInfo(tz_name)
    start = local_midnight(day, tz)
    passed = (at - start).total_seconds() // 3600
    return int(max(0, min(day_hours(day, tz_name), passed)))


def restatement_closes(day: date, tz_name: str, restatement_days: int) -> datetime:
    """When the platform stops restating `day`: local midnight `restatement_days` days after it ended."""
    return local_midnight(day + timedelta(days=1 + restatement_days), ZoneInfo(tz_name))


def day_state(day: date, tz_name: str, fetched_at: datetime, restatement_days: int) -> str:
    """partial, preliminary or final for a successful fetch of `day` at `fetched_at`."""
    if fetched_at < local_midnight(day + timedelta(days=1), ZoneInfo(tz_name)):
        return "partial"
    if fetched_at < restatement_closes(day, tz_name, restatement_days):
        return "preliminary"
    return "final"


@dataclass
class DayTotals:
    rows: int = 0
    impressions: int = 0
    clicks: int = 0
    cost: Decimal = field(default_factory=Decimal)
    conversions: float = 0.0
    currency: str = ""
    hours: set[int] = field(default_factory=set)

    def metrics(self) -> dict:
        return {
            "impressions": self.impressions,
            "clicks": self.clicks,
            "cost": self.cost,
            "conversions": self.conversions,
        }


class DayTally:
    """Per local day sums of the rows a fetch yields, while they stream to the store."""

    def __init__(self, tz_name: str):
        self.tz = ZoneInfo(tz_name)
        self.days: dict[date, DayTotals] = {}
        self._local: dict[datetime, datetime] = {}

    def add(self, row: ReportRow) -> None:
        local = self._local.get(row.stat_time)
        if local is None:
            local = self._local[row.stat_time] = row.stat_time.astimezone(self.tz)
        totals = self.days.get(local.date())
        if totals is None:
            totals = self.days[local.date()] = DayTotals()
        totals.rows += 1
        totals.impressions += row.impressions
        totals.clicks += row.clicks
        totals.cost += Decimal(row.cost)
        totals.conversions += row.conversions
        totals.currency = totals.currency or row.currency
        totals.hours.add(local.hour)

    def through(self, rows: Iterable[ReportRow]) -> Iterator[ReportRow]:
        for row in rows:
            self.add(row)
            yield row


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@transaction.atomic
def day_fetch_record(
    *,
    ad_account,
    level: str,
    granularity: str,
    start: date,
    end: date,
    tally: DayTally,
    version: int,
    restatement_days: int,
    task_instance_id: int | None = None,
    fetched_at: datetime | None = None,
) -> list:
    """After a complete fetch of [start, end]: one DayFetch per day (days without rows too:
    zero is what the platform said) and each day's DayStatus. Returns the DayStatus rows."""
    from reports.models import DayFetch

    fetched_at = fetched_at or now()
    tz_name = ad_account.timezone or "UTC"
    days = _days(start, end)
    DayFetch.objects.bulk_create(
        [
            DayFetch(
                ad_account_id=ad_account.pk,
                level=level,
                granularity=granularity,
                day=day,
                fetched_at=fetched_at,
                version=version,
                task_instance_id=task_instance_id,
                rows=(t := tally.days.get(day) or DayTotals()).rows,
                impressions=t.impressions,
                clicks=t.clicks,
                cost=t.cost,
                conversions=t.conversions,
                currency=t.currency or ad_account.currency or "",
            )
            for day in days
        ]
    )
    existing = _locked_statuses(ad_account, granularity, days)
    out = []
    for day in days:
        status = existing[day]
        totals = tally.days.get(day) or DayTotals()
        status.state = day_state(day, tz_name, fetched_at, restatement_days)
        status.hours_in_day = day_hours(day, tz_name)
        status.hours_present = len(totals.hours) if granularity == "hour" else hours_elapsed(day, tz_name, fetched_at)
        status.last_fetched_at = fetched_at
        status.task_instance_id = task_instance_id
        status.failed_at, status.error, status.failed_task_instance_id = None, "", None
        status.save()
        out.append(status)
    return out


def day_fetch_failed(
    *,
    ad_account,
    granularity: str,
    start: date,
    end: date,
    error: str,
    task_instance_id: int | None = None,
    failed_at: datetime | None = None,
) -> int:
    """A fetch of [start, end] raised: each day is marked failed (its data, if any, stays as
    the last success left it). Returns how many days were marked."""
    from reports.models import DayStatus

    failed_at = failed_at or now()
    days = _days(start, end)
    with transaction.atomic():
        _locked_statuses(ad_account, granularity, days)
        return DayStatus.objects.filter(ad_account_id=ad_account.pk, granularity=granularity, day__in=days).update(
            failed_at=failed_at, error=error[:ERROR_LENGTH], failed_task_instance_id=task_instance_id
        )


def _locked_statuses(ad_account, granularity: str, days: list[date]) -> dict:
    """The DayStatus rows of `days`, created where missing, locked in day order: the tasks of
    one DAG run (account, campaign and ad level) record the same days at the same time."""
    from reports.models import DayStatus

    DayStatus.objects.bulk_create(
        [DayStatus(ad_account_id=ad_account.pk, granularity=granularity, day=day) for day in days],
        ignore_conflicts=True,
    )
    return {
        s.day: s
        for s in DayStatus.objects.select_for_update()
        .filter(ad_account_id=ad_account.pk, granularity=granularity, day__in=days)
        .order_by("day")
    }


def display_status(status) -> str:
    """The one word a grid cell shows for a DayStatus (None: missing)."""
    if status is None:
        return "missing"
    if status.failed_at is not None and (status.last_fetched_at is None or status.failed_at >= status.last_fetched_at):
        return "failed"
    if not status.state:
        return "missing"
    return status.state
