"""report_rows_write: UTC/local conversion, batching, idempotency under re-writes and half-done writes."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.base import ReportRow
from reports.selectors import report_totals
from reports.store import AccountKey, ReportRowError, next_version, report_rows_write
from tests.reports.rows import day_row, hour_row

SHANGHAI = AccountKey(id=7, platform="sandbox", timezone="Asia/Shanghai", currency="CNY")
UTC_ACCOUNT = AccountKey(id=8, platform="sandbox", timezone="UTC", currency="USD")


def _stored(client, **where):
    clause = " AND ".join(f"{k} = {{{k}:String}}" for k in where) or "1"
    return client.query(
        f"SELECT entity_id, toString(stat_time), stat_date, impressions, cost, currency, extra, version, run_id "
        f"FROM report_rows FINAL WHERE {clause} ORDER BY entity_id, stat_time",
        parameters=where,
    ).result_rows


def test_shanghai_daily_row_keeps_local_date_and_utc_time(report_store):
    written = report_rows_write(
        account=SHANGHAI, rows=[day_row("ad1", date(2024, 3, 1), tz="Asia/Shanghai", currency="")], run_id="ti-1"
    )
    assert written == 1
    [(entity, stat_time, stat_date, impressions, cost, currency, _extra, _version, run_id)] = _stored(report_store)
    # Local midnight of 2024-03-01 in Shanghai (UTC+8) is 16:00 UTC the day before.
    assert stat_time == "2024-02-29 16:00:00"
    assert stat_date == date(2024, 3, 1)
    assert (entity, impressions, cost, currency, run_id) == ("ad1", 100, Decimal("1.5"), "CNY", "ti-1")


def test_hourly_rows_across_local_midnight_get_local_dates(report_store):
    rows = [hour_row("ad1", datetime(2024, 3, 1, h), tz="Asia/Shanghai") for h in (0, 7, 8, 23)]
    report_rows_write(account=SHANGHAI, rows=rows, run_id="ti")
    stored = [(t, d) for _, t, d, *_ in _stored(report_store)]
    assert stored == [
        ("2024-02-29 16:00:00", date(2024, 3, 1)),
        ("2024-02-29 23:00:00", date(2024, 3, 1)),
        ("2024-03-01 00:00:00", date(2024, 3, 1)),
        ("2024-03-01 15:00:00", date(2024, 3, 1)),
    ]


def test_rows_in_another_timezone_are_converted_not_relabelled(report_store):
    # A row whose stat_time carries UTC for a Shanghai account: its Shanghai date is what counts.
    row = ReportRow(
        level="ad",
        granularity="hour",
        entity_id="a",
        stat_time=datetime(2024, 3, 1, 20, tzinfo=UTC),
        impressions=1,
        clicks=0,
        cost=Decimal("0"),
        conversions=0.0,
    )
    report_rows_write(account=SHANGHAI, rows=[row], run_id="ti")
    [(_, stat_time, stat_date, *_)] = _stored(report_store)
    assert (stat_time, stat_date) == ("2024-03-01 20:00:00", date(2024, 3, 2))


def test_extra_metrics_and_cost_precision_are_kept(report_store):
    row = day_row("ad1", date(2024, 3, 1), cost="0.1234567", extra={"video_views": 12.0, "likes": 3.0})
    report_rows_write(account=UTC_ACCOUNT, rows=[row, day_row("ad2", date(2024, 3, 1), cost="2")], run_id="ti")
    stored = _stored(report_store)
    assert stored[0][4] == Decimal("0.123457")  # rounded to the micro unit
    assert stored[0][6] == {"video_views": 12.0, "likes": 3.0}
    assert stored[1][4] == Decimal("2") and stored[1][6] == {}


def test_same_rows_written_three_times_count_once(report_store):
    rows = [
        day_row(f"ad{i}", date(2024, 3, d), impressions=10 * i, cost=f"{i}.25") for i in range(1, 4) for d in (1, 2)
    ]
    report_store.command("SYSTEM STOP MERGES report_rows")  # the duplicates must still be there to be read past
    for _ in range(3):
        report_rows_write(account=UTC_ACCOUNT, rows=rows, run_id="ti")
    assert report_store.command("SELECT count() FROM report_rows") == 18  # no merge has run: duplicates are stored
    totals = report_totals(account_ids=[8], start="2024-03-01", end="2024-03-02", level="ad")
    assert totals["impressions"] == 2 * (10 + 20 + 30)
    assert totals["cost"] == Decimal("2") * (Decimal("1.25") + Decimal("2.25") + Decimal("3.25"))


def test_retry_after_a_write_failed_half_way_counts_each_key_once_with_new_values(report_store):
    first = [day_row(f"ad{i}", date(2024, 3, 1), impressions=100) for i in range(10)]
    report_rows_write(account=UTC_ACCOUNT, rows=first, run_id="run-1")

    refetched = [day_row(f"ad{i}", date(2024, 3, 1), impressions=200) for i in range(10)]

    def dies_half_way():
        for i, row in enumerate(refetched):
            if i == 6:
                raise ConnectionError("platform went away")
            yield row

    with pytest.raises(ConnectionError):
        report_rows_write(account=UTC_ACCOUNT, rows=dies_half_way(), run_id="run-2", batch_size=3)
    # Two batches (6 rows) of the failed try landed: each key still counts once.
    partial = report_totals(account_ids=[8], start="2024-03-01", end="2024-03-01", level="ad")
    assert partial["impressions"] == 6 * 200 + 4 * 100

    report_rows_write(account=UTC_ACCOUNT, rows=refetched, run_id="run-2-retry", batch_size=3)
    totals = report_totals(account_ids=[8], start="2024-03-01", end="2024-03-01", level="ad")
    assert totals["impressions"] == 10 * 200
    assert {r[8] for r in _stored(report_store)} == {"run-2-retry"}


def test_an_older_version_written_late_does_not_win(report_store):
    newer, older = next_version(), next_version() - 1_000_000
    report_rows_write(
        account=UTC_ACCOUNT, rows=[day_row("a", date(2024, 3, 1), impressions=5)], run_id="new", version=newer
    )
    report_rows_write(
        account=UTC_ACCOUNT, rows=[day_row("a", date(2024, 3, 1), impressions=9)], run_id="old", version=older
    )
    assert report_totals(account_ids=[8], start="2024-03-01", end="2024-03-01", level="ad")["impressions"] == 5


def test_versions_increase_strictly():
    versions = [next_version() for _ in range(1000)]
    assert versions == sorted(set(versions))


def test_naive_stat_time_is_refused_and_nothing_is_written(report_store):
    good = day_row("a", date(2024, 3, 1))
    naive = ReportRow(
        level="ad",
        granularity="day",
        entity_id="b",
        stat_time=datetime(2024, 3, 1),
        impressions=1,
        clicks=0,
        cost=Decimal("0"),
        conversions=0.0,
    )
    with pytest.raises(ReportRowError, match="has no timezone"):
        report_rows_write(account=UTC_ACCOUNT, rows=[good, naive], run_id="ti")
    assert report_store.command("SELECT count() FROM report_rows") == 0


def test_unknown_level_is_refused(report_store):
    with pytest.raises(ReportRowError, match="unknown level 'adset'"):
        report_rows_write(account=UTC_ACCOUNT, rows=[day_row("a", date(2024, 3, 1), level="adset")], run_id="ti")


def test_account_key_from_a_model_like_object():
    class Account:
        pk = 3
        platform = "sandbox"
        timezone = "Asia/Tokyo"
        currency = "JPY"

    assert AccountKey.of(Account()) == AccountKey(id=3, platform="sandbox", timezone="Asia/Tokyo", currency="JPY")
