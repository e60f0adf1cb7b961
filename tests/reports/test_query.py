"""Report query validation (pure): metric names, date ranges, filters; errors name the field."""

from datetime import date
from decimal import Decimal

import pytest

from reports.query import ReportQueryError, change, derived, parse_metric, report_filter


def _filter(**overrides):
    args = {"account_ids": [1], "start": "2024-03-01", "end": "2024-03-31"}
    args.update(overrides)
    return report_filter(**args)


def test_metric_names():
    assert parse_metric("cost").kind == "core"
    assert parse_metric("cpa").kind == "derived"
    assert parse_metric("extra.video_views").key == "video_views"
    assert parse_metric("extra['video_views']").name == "extra.video_views"


@pytest.mark.parametrize("name", ["spend", "extra.", "extra.a b", "extra['x') OR 1=1 --']", "sum(cost)"])
def test_unknown_metric_names_the_field(name):
    with pytest.raises(ReportQueryError, match=r"^order_by: unknown metric") as info:
        parse_metric(name, field="order_by")
    assert info.value.field == "order_by"


def test_extra_metrics_in_the_metrics_list_are_named_by_index():
    with pytest.raises(ReportQueryError, match=r"^metrics\[1\]: unknown metric 'bogus'"):
        _filter(metrics=["extra.likes", "bogus"])


def test_dates_accept_iso_strings_and_dates():
    f = _filter(start=date(2024, 3, 1))
    assert (f.start, f.end, f.days) == (date(2024, 3, 1), date(2024, 3, 31), 31)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": "2024-03-32"}, r"^start: expected a date \(YYYY-MM-DD\), got '2024-03-32'"),
        ({"end": 20240301}, r"^end: expected a date"),
        (
            {"start": "2024-03-10", "end": "2024-03-01"},
            r"^end: the range ends \(2024-03-01\) before it starts \(2024-03-10\)",
        ),
        ({"granularity": "week"}, r"^granularity: unknown granularity 'week'; use hour or day"),
        (
            {"granularity": "hour", "start": "2024-01-01", "end": "2024-12-31"},
            r"^end: hourly queries span at most 93 days",
        ),
        ({"level": "adset"}, r"^level: unknown level 'adset'"),
        ({"account_ids": ["x"]}, r"^account_ids: expected account ids"),
        ({"account_ids": [0]}, r"^account_ids: account ids are positive"),
        ({"platform": "Sand Box"}, r"^platform: not a platform slug"),
        ({"entity_ids": []}, r"^entity_ids: an empty list matches nothing"),
    ],
)
def test_invalid_input_names_the_field(overrides, message):
    with pytest.raises(ReportQueryError, match=message):
        _filter(**overrides)


def test_previous_period_has_equal_length_and_ends_the_day_before():
    previous = _filter().previous_period()
    assert (previous.start, previous.end) == (date(2024, 1, 30), date(2024, 2, 29))
    assert previous.days == 31


def test_derived_metrics_and_undefined_ratios():
    values = derived({"impressions": 2000, "clicks": 50, "cost": Decimal("25.00"), "conversions": 0.0})
    assert values == {"ctr": 0.025, "cpc": 0.5, "cpm": 12.5, "cpa": None}
    assert derived({"impressions": 0, "clicks": 0, "cost": Decimal("0"), "conversions": 0.0})["ctr"] is None


def test_change_absolute_and_percent():
    assert change(150, 100) == {"current": 150, "previous": 100, "change": 50, "change_pct": 50.0}
    assert change(Decimal("5"), Decimal("0"))["change_pct"] is None
    assert change(None, 0.5)["change"] is None
