"""Cron schedules: field forms, presets, seconds-first, DST in America/New_York."""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ingestion.cron import CronError, CronSchedule

NY = ZoneInfo("America/New_York")


def fires(expr: str, tz: str, start: datetime, n: int) -> list[datetime]:
    schedule, out, t = CronSchedule(expr, tz), [], start
    for _ in range(n):
        t = schedule.next_after(t)
        out.append(t)
    return out


def local(times, tz=NY) -> list[str]:
    return [t.astimezone(tz).strftime("%m-%d %H:%M:%S%z") for t in times]


def test_spring_forward_skipped_time_fires_once_shifted_by_the_gap():
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist that day.
    got = fires("30 2 * * *", "America/New_York", datetime(2026, 3, 7, 12, tzinfo=NY), 3)
    assert local(got) == ["03-08 03:30:00-0400", "03-09 02:30:00-0400", "03-10 02:30:00-0400"]
    assert got[0] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_fall_back_repeated_time_fires_once_at_first_occurrence():
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice, 02:30 once.
    got = fires("30 1 * * *", "America/New_York", datetime(2026, 10, 31, 12, tzinfo=NY), 3)
    assert local(got) == ["11-01 01:30:00-0400", "11-02 01:30:00-0500", "11-03 01:30:00-0500"]
    got = fires("30 2 * * *", "America/New_York", datetime(2026, 10, 31, 12, tzinfo=NY), 2)
    assert local(got) == ["11-01 02:30:00-0500", "11-02 02:30:00-0500"]
    # 25 real hours between the two 02:30s across the change: one run, not two.
    assert got[0] - datetime(2026, 10, 31, 2, 30, tzinfo=NY) == timedelta(hours=25)


def test_hourly_follows_real_time_across_both_transitions():
    spring = fires("0 * * * *", "America/New_York", datetime(2026, 3, 8, 0, 30, tzinfo=NY), 3)
    assert local(spring) == ["03-08 01:00:00-0500", "03-08 03:00:00-0400", "03-08 04:00:00-0400"]
    fall = fires("0 * * * *", "America/New_York", datetime(2026, 11, 1, 0, 30, tzinfo=NY), 3)
    assert local(fall) == ["11-01 01:00:00-0400", "11-01 01:00:00-0500", "11-01 02:00:00-0500"]
    assert [b - a for a, b in itertools.pairwise(fall)] == [timedelta(hours=1)] * 2


def test_seconds_first_six_field_cron_fires_every_ten_seconds():
    got = fires("*/10 * * * * *", "UTC", datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC), 7)
    assert [t.second for t in got] == [10, 20, 30, 40, 50, 0, 10]
    assert got[5] == datetime(2026, 1, 1, 0, 1, 0, tzinfo=UTC)
    # seconds first: "0 30 * * * *" is minute 30 of every hour, second 0
    assert CronSchedule("0 30 * * * *").next_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(
        2026, 1, 1, 0, 30, tzinfo=UTC
    )


def test_seconds_cron_keeps_its_pace_through_the_repeated_hour():
    start = datetime(2026, 11, 1, 5, 59, 40, tzinfo=UTC)  # 01:59:40 EDT, 20 s before falling back
    got = fires("*/10 * * * * *", "America/New_York", start, 4)
    assert [(b - a).total_seconds() for a, b in zip([start, *got], got, strict=False)] == [10.0] * 4
    assert local(got)[:2] == ["11-01 01:59:50-0400", "11-01 01:00:00-0500"]


@pytest.mark.parametrize(
    "preset,expected",
    [
        ("@hourly", datetime(2026, 5, 5, 11, 0, tzinfo=UTC)),
        ("@daily", datetime(2026, 5, 6, 0, 0, tzinfo=UTC)),
        ("@weekly", datetime(2026, 5, 10, 0, 0, tzinfo=UTC)),  # Sunday
        ("@monthly", datetime(2026, 6, 1, 0, 0, tzinfo=UTC)),
        ("@yearly", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_presets(preset, expected):
    assert CronSchedule(preset).next_after(datetime(2026, 5, 5, 10, 17, tzinfo=UTC)) == expected


def test_daily_in_a_time_zone():
    got = CronSchedule("@daily", "Asia/Shanghai").next_after(datetime(2026, 5, 5, 10, 17, tzinfo=UTC))
    assert got == datetime(2026, 5, 5, 16, 0, tzinfo=UTC)  # midnight in Shanghai (UTC+8)


def test_latest_at_or_before():
    s = CronSchedule("*/15 * * * *")
    assert s.latest_at_or_before(datetime(2026, 1, 1, 10, 44, 59, tzinfo=UTC)) == datetime(
        2026, 1, 1, 10, 30, tzinfo=UTC
    )
    assert s.latest_at_or_before(datetime(2026, 1, 1, 10, 45, tzinfo=UTC)) == datetime(2026, 1, 1, 10, 45, tzinfo=UTC)
    ny = CronSchedule("30 2 * * *", "America/New_York")
    assert ny.latest_at_or_before(datetime(2026, 3, 8, 12, tzinfo=NY)) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_fire_times_inclusive_window():
    s = CronSchedule("0 * * * *")
    got = s.fire_times(datetime(2026, 1, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 3, tzinfo=UTC))
    assert got == [datetime(2026, 1, 1, h, tzinfo=UTC) for h in (1, 2, 3)]


@pytest.mark.parametrize(
    "expr,message",
    [
        ("* * * *", "has 4 fields"),
        ("61 * * * *", "does not parse"),
        ("* * * * * * *", "has 7 fields"),
        ("@fortnightly", "has 1 fields"),
        ("*/10 * * * * 8", "does not parse"),
    ],
)
def test_bad_cron_is_rejected_with_a_clear_message(expr, message):
    with pytest.raises(CronError, match=message):
        CronSchedule(expr)


def test_bad_time_zone():
    with pytest.raises(CronError, match="unknown time zone 'Mars/Olympus'"):
        CronSchedule("@daily", "Mars/Olympus")
