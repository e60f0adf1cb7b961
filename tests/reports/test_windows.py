"""Report fetch windows: local dates of the account, from the run's logical time."""

from datetime import UTC, date, datetime

import pytest

from reports.windows import WindowError, report_window

UTC_0200 = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)


def test_daily_window_is_yesterday_plus_lookback_in_the_account_timezone():
    assert report_window(granularity="day", logical_time=UTC_0200, timezone="UTC", lookback_days=7) == (
        date(2024, 3, 2),
        date(2024, 3, 9),
    )
    # 02:00 UTC is 10:00 in Shanghai (same date) but 21:00 the day before in New York.
    assert report_window(granularity="day", logical_time=UTC_0200, timezone="Asia/Shanghai") == (
        date(2024, 3, 9),
        date(2024, 3, 9),
    )
    assert report_window(granularity="day", logical_time=UTC_0200, timezone="America/New_York", lookback_days=2) == (
        date(2024, 3, 6),
        date(2024, 3, 8),
    )


def test_hourly_window_is_yesterday_and_today():
    assert report_window(granularity="hour", logical_time=UTC_0200, timezone="Asia/Shanghai", lookback_days=7) == (
        date(2024, 3, 9),
        date(2024, 3, 10),
    )


def test_a_past_logical_time_gives_that_past_window():
    past = datetime(2023, 1, 1, 0, 30, tzinfo=UTC)
    assert report_window(granularity="day", logical_time=past, timezone="UTC", lookback_days=1) == (
        date(2022, 12, 30),
        date(2022, 12, 31),
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"granularity": "week"}, "granularity: unknown granularity 'week'"),
        ({"lookback_days": -1}, "lookback_days: expected an integer from 0 to 365, got -1"),
        ({"lookback_days": "7"}, "lookback_days: expected an integer"),
        ({"logical_time": datetime(2024, 3, 10)}, "logical_time must be timezone-aware"),
    ],
)
def test_bad_input(kwargs, message):
    args = {"granularity": "day", "logical_time": UTC_0200, "timezone": "UTC", **kwargs}
    with pytest.raises(WindowError, match=message):
        report_window(**args)
