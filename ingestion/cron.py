"""Cron schedules evaluated in a DAG's own time zone (pure, no Django).

Accepted forms: 5 fields (`m h dom mon dow`), 6 fields with SECONDS FIRST
(`s m h dom mon dow`, like Quartz/Spring; croniter's default puts them last, we pass
`second_at_beginning`), and the presets @hourly @daily @weekly @monthly @yearly
(@annually, @midnight as aliases).

Daylight saving time, the rule (the one Vixie cron and systemd follow; Airflow differs):
- A wall-clock time that does not exist (spring forward, America/New_York 2026-03-08
  02:00-02:59) fires once, shifted forward by the gap: `30 2 * * *` fires at 03:30 EDT.
  Skipping the day would silently lose a daily report.
- A wall-clock time that happens twice (fall back, 2026-11-01 01:00-01:59) fires once,
  at its first occurrence (EDT).
- Exception: expressions whose hour field is a wildcard (`*`, `*/n`: hourly or more often)
  follow real time instead: in the gap they simply have no ticks (real time jumps from
  01:59:59 to 03:00:00), and in the repeated hour they fire in both occurrences, so a
  `*/10 * * * * *` DAG keeps firing every 10 seconds through both transitions.

Times in and out are aware datetimes or epoch seconds (floats); results are UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

PRESETS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    """The expression or time zone does not parse; the message says what is accepted."""


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise CronError(f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'America/New_York'") from None


class CronSchedule:
    """One cron expression in one time zone: `next_after(t)` and `latest_at_or_before(t)`."""

    def __init__(self, expression: str, timezone: str = "UTC"):
        self.expression = expression
        self.tz = parse_timezone(timezone)
        text = PRESETS.get(expression.strip().lower(), expression.strip())
        fields = text.split()
        if len(fields) not in (5, 6):
            raise CronError(
                f"cron {expression!r} has {len(fields)} fields; use 5 (minute hour day month weekday), "
                "6 with seconds first (second minute hour day month weekday) or a preset "
                f"({', '.join(sorted(PRESETS))})"
            )
        self.has_seconds = len(fields) == 6
        hour = fields[2] if self.has_seconds else fields[1]
        self.follows_real_time = hour.startswith("*")
        self._text = text
        try:
            croniter(text, datetime(2000, 1, 1, tzinfo=UTC), second_at_beginning=self.has_seconds)
        except (ValueError, KeyError) as exc:
            raise CronError(f"cron {expression!r} does not parse: {exc}") from None

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r}, {self.tz.key!r})"

    def _iter(self, naive: datetime, *, backwards: bool = False) -> Iterator[datetime]:
        it = croniter(self._text, naive, second_at_beginning=self.has_seconds, is_prev=backwards)
        step = it.get_prev if backwards else it.get_next
        while True:
            yield step(datetime)

    def _instants(self, naive: datetime) -> list[datetime]:
        """The UTC instants at which the wall-clock time `naive` fires (0, 1 or 2)."""
        first = naive.replace(tzinfo=self.tz, fold=0)
        second = naive.replace(tzinfo=self.tz, fold=1)
        exists = first.astimezone(UTC).astimezone(self.tz).replace(tzinfo=None) == naive
        if not exists:
            # fold=0 of a time in the gap uses the offset before the transition: the
            # wall time shifted forward by the gap (02:30 EST -> 03:30 EDT).
            return [] if self.follows_real_time else [first.astimezone(UTC)]
        if first.utcoffset() != second.utcoffset() and self.follows_real_time:
            return [first.astimezone(UTC), second.astimezone(UTC)]
        return [first.astimezone(UTC)]

    def _spread(self, t: datetime) -> timedelta:
        """How far wall time and real time can disagree near `t` (0 away from DST changes).

        Bounds the wall-clock search below so the common case reads one or two candidates.
        """
        # An aware datetime always has an offset.
        offsets = [(t + timedelta(hours=h)).astimezone(self.tz).utcoffset() or timedelta(0) for h in (-4, 0, 4)]
        return max(offsets) - min(offsets)

    def next_after(self, t: datetime | float) -> datetime:
        """The first fire time strictly after `t` (UTC)."""
        t = _aware(t)
        naive = t.astimezone(self.tz).replace(tzinfo=None)
        spread = self._spread(t)
        best: datetime | None = None
        best_naive = None
        # Start back by `spread`: in the first pass of a repeated hour, wall times already
        # passed come round again.
        for candidate in self._iter(naive - spread - timedelta(microseconds=1)):
            if best is not None and best_naive is not None and candidate > best_naive + spread:
                return best
            for instant in self._instants(candidate):
                if instant > t and (best is None or instant < best):
                    best, best_naive = instant, candidate
        raise AssertionError("unreachable")  # croniter iterates forever

    def latest_at_or_before(self, t: datetime | float) -> datetime | None:
        """The last fire time at or before `t` (UTC), for catchup=false; None if none in 5 years."""
        t = _aware(t)
        naive = t.astimezone(self.tz).replace(tzinfo=None)
        spread = self._spread(t)
        best: datetime | None = None
        best_naive = None
        try:
            for candidate in self._iter(naive + spread + timedelta(microseconds=1), backwards=True):
                if best_naive is not None and candidate < best_naive - spread:
                    return best
                if naive - candidate > timedelta(days=5 * 366):
                    return best
                for instant in self._instants(candidate):
                    if instant <= t and (best is None or instant > best):
                        best, best_naive = instant, candidate
        except StopIteration:  # pragma: no cover - croniter gives up on impossible dates
            return best
        return best

    def fire_times(self, start: datetime | float, end: datetime | float) -> list[datetime]:
        """Fire times in [start, end] (both inclusive), for backfills."""
        start, end = _aware(start), _aware(end)
        out: list[datetime] = []
        t = self.next_after(start - timedelta(microseconds=1))
        while t <= end:
            out.append(t)
            t = self.next_after(t)
        return out


def _aware(t: datetime | float) -> datetime:
    if isinstance(t, (int, float)):
        return datetime.fromtimestamp(t, UTC)
    if t.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime or epoch seconds")
    return t.astimezone(UTC)
