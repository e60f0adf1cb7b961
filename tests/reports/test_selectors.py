"""Report selectors: totals, time series, top N, period comparison, with duplicates unmerged.

The data (level ad, daily unless said otherwise), period 2024-03-08..14, previous 03-01..07:
  account A (UTC)            a1 03-08: 1000 imp, 50 clk, 25.00, 5 conv, video_views 300
                             a1 03-09: 2000 imp, 40 clk, 30.00, 2 conv, video_views 100
                             a2 03-08:  500 imp, 50 clk, 10.00, 0 conv, video_views 900
                             a2 03-01:  400 imp, 20 clk,  8.00, 1 conv
  account B (Asia/Shanghai)  b1 03-09: 3000 imp, 30 clk, 60.00, 3 conv, video_views 50
                             b1 03-02: 1000 imp, 10 clk, 20.00, 1 conv
  account C (not in the org) c1 03-08: 99999 imp
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from reports.query import ReportQueryError
from reports.selectors import report_compare, report_timeseries, report_top_entities, report_totals
from reports.services import entities_upsert
from reports.store import AccountKey, next_version, report_rows_write
from tests.reports.factories import ad_account, entity
from tests.reports.rows import day_row, hour_row

PERIOD = {"start": "2024-03-08", "end": "2024-03-14", "level": "ad"}


@pytest.fixture
def data(report_store):
    a = ad_account(name="A", timezone="UTC")
    b = ad_account(name="B", timezone="Asia/Shanghai")
    c = ad_account(name="C", timezone="UTC")
    rows_a = [
        day_row(
            "a1", date(2024, 3, 8), impressions=1000, clicks=50, cost="25.00", conversions=5, extra={"video_views": 300}
        ),
        day_row(
            "a1", date(2024, 3, 9), impressions=2000, clicks=40, cost="30.00", conversions=2, extra={"video_views": 100}
        ),
        day_row(
            "a2", date(2024, 3, 8), impressions=500, clicks=50, cost="10.00", conversions=0, extra={"video_views": 900}
        ),
        day_row("a2", date(2024, 3, 1), impressions=400, clicks=20, cost="8.00", conversions=1),
    ]
    tz_b = "Asia/Shanghai"
    rows_b = [
        day_row(
            "b1",
            date(2024, 3, 9),
            tz=tz_b,
            impressions=3000,
            clicks=30,
            cost="60.00",
            conversions=3,
            extra={"video_views": 50},
        ),
        day_row("b1", date(2024, 3, 2), tz=tz_b, impressions=1000, clicks=10, cost="20.00", conversions=1),
    ]
    report_rows_write(account=a, rows=rows_a, run_id="t")
    report_rows_write(account=b, rows=rows_b, run_id="t")
    report_rows_write(account=c, rows=[day_row("c1", date(2024, 3, 8), impressions=99999)], run_id="t")
    entities_upsert(ad_account=a, entities=[entity("a1", "Spring sale"), entity("a2", "Brand")])
    entities_upsert(ad_account=b, entities=[entity("b1", "Old promo", deleted=True)])
    return {"a": a, "b": b, "c": c, "org": [a.pk, b.pk]}


def test_totals_over_an_organization_with_derived_and_extra_metrics(data):
    totals = report_totals(account_ids=data["org"], metrics=["extra.video_views"], **PERIOD)
    assert totals["impressions"] == 6500 and totals["clicks"] == 170
    assert totals["cost"] == Decimal("125.00") and totals["conversions"] == 10.0
    assert totals["ctr"] == pytest.approx(170 / 6500)
    assert totals["cpc"] == pytest.approx(125 / 170)
    assert totals["cpm"] == pytest.approx(125_000 / 6500)
    assert totals["cpa"] == pytest.approx(12.5)
    assert totals["extra.video_views"] == 1350.0


def test_totals_by_account_entity_and_platform(data):
    assert report_totals(account_ids=[data["a"].pk], **PERIOD)["impressions"] == 3500
    assert report_totals(account_ids=data["org"], entity_ids=["a1", "b1"], **PERIOD)["impressions"] == 6000
    assert report_totals(account_ids=data["org"], platform="other", **PERIOD)["impressions"] == 0
    assert report_totals(account_ids=data["org"], platform="sandbox", **PERIOD)["impressions"] == 6500
    empty = report_totals(account_ids=[], **PERIOD)
    assert empty["impressions"] == 0 and empty["cost"] == Decimal("0") and empty["ctr"] is None


def test_daily_timeseries_is_filled_with_zero_days(data):
    series = report_timeseries(account_ids=data["org"], **PERIOD)
    assert [p["date"] for p in series] == [date(2024, 3, d) for d in range(8, 15)]
    assert [p["impressions"] for p in series] == [1500, 5000, 0, 0, 0, 0, 0]
    assert series[1]["cost"] == Decimal("90.00")
    assert report_timeseries(account_ids=data["org"], fill=False, **PERIOD)[1]["date"] == date(2024, 3, 9)


def test_hourly_rows_are_selected_by_local_date_and_returned_in_utc(report_store):
    account = AccountKey(id=77, platform="sandbox", timezone="Asia/Shanghai")
    rows = [hour_row("x", datetime(2024, 3, 9, h), tz="Asia/Shanghai", impressions=10 + h) for h in (0, 1, 23)]
    report_rows_write(account=account, rows=rows, run_id="t")
    series = report_timeseries(account_ids=[77], start="2024-03-09", end="2024-03-09", granularity="hour", level="ad")
    assert [(p["time"], p["impressions"]) for p in series] == [
        (datetime(2024, 3, 8, 16, tzinfo=UTC), 10),
        (datetime(2024, 3, 8, 17, tzinfo=UTC), 11),
        (datetime(2024, 3, 9, 15, tzinfo=UTC), 33),
    ]
    # 03-08 local holds none of them, although two are on 03-08 in UTC.
    assert (
        report_timeseries(account_ids=[77], start="2024-03-08", end="2024-03-08", granularity="hour", level="ad") == []
    )


def test_top_entities_by_core_metric_with_names_from_the_metadata_db(data):
    top = report_top_entities(account_ids=data["org"], order_by="cost", n=2, **PERIOD)
    assert [(t["entity_id"], t["name"], t["cost"]) for t in top] == [
        ("b1", "Old promo", Decimal("60.00")),
        ("a1", "Spring sale", Decimal("55.00")),
    ]
    assert top[0]["deleted"] is True and top[1]["deleted"] is False
    assert top[1]["account_id"] == data["a"].pk and top[1]["impressions"] == 3000


def test_top_entities_by_extra_and_derived_metrics(data):
    by_views = report_top_entities(account_ids=data["org"], order_by="extra['video_views']", **PERIOD)
    assert [(t["entity_id"], t["extra.video_views"]) for t in by_views] == [("a2", 900.0), ("a1", 400.0), ("b1", 50.0)]
    by_ctr = report_top_entities(account_ids=data["org"], order_by="ctr", **PERIOD)
    assert [t["entity_id"] for t in by_ctr] == ["a2", "a1", "b1"]
    cheapest = report_top_entities(account_ids=data["org"], order_by="cpc", descending=False, n=1, **PERIOD)
    assert cheapest[0]["entity_id"] == "a2" and cheapest[0]["cpc"] == pytest.approx(0.2)


def test_entities_never_fetched_have_no_name(data):
    top = report_top_entities(account_ids=[data["c"].pk], order_by="impressions", **PERIOD)
    assert [(t["entity_id"], t["name"], t["impressions"]) for t in top] == [("c1", None, 99999)]


def test_period_over_period_comparison(data):
    result = report_compare(account_ids=data["org"], **PERIOD)
    assert result["previous_period"] == {"start": date(2024, 3, 1), "end": date(2024, 3, 7)}
    m = result["metrics"]
    assert m["impressions"] == {
        "current": 6500,
        "previous": 1400,
        "change": 5100,
        "change_pct": pytest.approx(5100 / 1400 * 100),
    }
    assert m["cost"]["current"] == Decimal("125.00") and m["cost"]["previous"] == Decimal("28.00")
    assert m["cost"]["change"] == Decimal("97.00") and m["cost"]["change_pct"] == pytest.approx(97 / 28 * 100)
    assert m["cpa"]["previous"] == pytest.approx(14.0) and m["cpa"]["change"] == pytest.approx(-1.5)


@pytest.mark.parametrize("dedup", ["final", "argmax"])
def test_reads_are_right_with_unmerged_duplicate_versions(data, report_store, dedup):
    a = data["a"]
    old = next_version()
    # Background merges would collapse the duplicates this test is about, at a time of their choosing.
    report_store.command("SYSTEM STOP MERGES report_rows")
    # A restatement of a1 on 03-09 (newer version), and a stale copy arriving late (older version).
    report_rows_write(
        account=a, rows=[day_row("a1", date(2024, 3, 9), impressions=2500, clicks=40, cost="30.00")], run_id="new"
    )
    report_rows_write(
        account=a,
        rows=[day_row("a1", date(2024, 3, 9), impressions=1, clicks=1, cost="1")],
        run_id="stale",
        version=old - 10,
    )
    assert report_store.command("SELECT count() FROM report_rows WHERE entity_id = 'a1'") == 4  # 2 + 2 unmerged
    totals = report_totals(account_ids=data["org"], dedup=dedup, **PERIOD)
    assert totals["impressions"] == 7000
    series = report_timeseries(account_ids=data["org"], dedup=dedup, **PERIOD)
    assert series[1]["impressions"] == 5500
    top = report_top_entities(account_ids=data["org"], order_by="impressions", n=1, dedup=dedup, **PERIOD)
    assert (top[0]["entity_id"], top[0]["impressions"]) == ("a1", 3500)


def test_invalid_query_input_names_the_field(data):
    with pytest.raises(ReportQueryError, match=r"^order_by: unknown metric 'spend'"):
        report_top_entities(account_ids=data["org"], order_by="spend", **PERIOD)
    with pytest.raises(ReportQueryError, match=r"^n: expected an integer from 1 to 1000, got 0"):
        report_top_entities(account_ids=data["org"], n=0, **PERIOD)
    with pytest.raises(ReportQueryError, match=r"^end: the range ends"):
        report_totals(account_ids=data["org"], start="2024-03-08", end="2024-03-01")
    with pytest.raises(ReportQueryError, match=r"^metrics\[0\]: unknown metric"):
        report_timeseries(account_ids=data["org"], metrics=["extra.bad name"], **PERIOD)
