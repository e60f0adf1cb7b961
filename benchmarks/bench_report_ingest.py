"""Ingest rate of the report path: `python -m benchmarks report_ingest [--quick]`.

The same synthetic rows (connector `ReportRow`s of an Asia/Shanghai account: hourly ad
rows with an extra metric) go into `report_rows` four ways in one run:
  report path   reports.store.report_rows_write(ReportRow objects) - what the insight
                operator calls: timezone conversion, validation, Arrow batches
  raw insert    clickhouse-connect `client.insert` of rows already converted to tuples
                (conversion not timed): the floor a hand-written loader could reach
  raw columnar  the same with column-oriented data (columns pre-built, not timed)
  raw arrow     `client.insert_arrow` of one pre-built Arrow table (build not timed)
Goal: the report path at >= 80% of the raw insert rate. Each way runs three times on an
emptied table; the best run counts (the machine's noise is not the code's).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def _rows(n: int):
    from connectors.base import ReportRow

    start = datetime(2024, 5, 1, tzinfo=TZ)
    ads = 500
    return [
        ReportRow(
            level="ad",
            granularity="hour",
            entity_id=str(100000 + i % ads),
            stat_time=start + timedelta(hours=i // ads),
            impressions=100 + i % 900,
            clicks=i % 50,
            cost=Decimal(i % 100000) / 1000,
            conversions=(i % 7) / 2,
            currency="CNY",
            extra={"video_views": float(i % 500)},
        )
        for i in range(n)
    ]


def _best(fn, client, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        client.command("TRUNCATE TABLE report_rows")
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str]) -> None:
    from reports.clickhouse.client import clickhouse_client
    from reports.clickhouse.migrations import migrate
    from reports.store import COLUMNS, AccountKey, next_version, report_rows_table, report_rows_write

    n = 100_000 if "--quick" in argv else 500_000
    migrate(log=lambda *_: None)
    client = clickhouse_client()
    account = AccountKey(id=1, platform="sandbox", timezone="Asia/Shanghai", currency="CNY")
    rows = _rows(n)
    version = next_version()
    tuples = [
        (
            "sandbox",
            1,
            r.granularity,
            r.level,
            r.stat_time.astimezone(UTC).replace(tzinfo=None),
            r.entity_id,
            r.stat_time.date(),
            r.impressions,
            r.clicks,
            r.cost,
            r.currency,
            r.conversions,
            r.extra,
            version,
            "bench",
        )
        for r in rows
    ]
    columns = [list(c) for c in zip(*tuples, strict=False)]
    table = report_rows_table(account=account, rows=rows, run_id="bench", version=version)

    path = _best(lambda: report_rows_write(account=account, rows=rows, run_id="bench"), client)
    assert client.command("SELECT count() FROM report_rows") == n
    raw = _best(lambda: client.insert("report_rows", tuples, column_names=list(COLUMNS)), client)
    columnar = _best(
        lambda: client.insert("report_rows", columns, column_names=list(COLUMNS), column_oriented=True), client
    )
    arrow = _best(lambda: client.insert_arrow("report_rows", table), client)

    print(f"{n:,} hourly ad rows of one Asia/Shanghai account (best of 3 each):")
    print(f"  report path (report_rows_write)   {n / path:>10,.0f} rows/s  ({path:.2f} s)")
    print(f"  raw clickhouse-connect insert      {n / raw:>10,.0f} rows/s  ({raw:.2f} s, rows pre-converted)")
    print(f"  raw columnar insert (pre-built)    {n / columnar:>10,.0f} rows/s  ({columnar:.2f} s)")
    print(f"  raw insert_arrow (pre-built)       {n / arrow:>10,.0f} rows/s  ({arrow:.2f} s)")
    ratio = raw / path
    print(f"  report path / raw insert: {ratio:.0%} (goal >= 80%: {'met' if ratio >= 0.8 else 'MISSED'})")
