"""Dashboard queries over a large report store: `python -m benchmarks report_queries [--quick]`.

Generates synthetic report rows inside ClickHouse (INSERT ... SELECT FROM numbers()):
200 accounts in three timezones, hourly ad rows over 40 days plus daily ad rows, and a
restatement of the last 7 days written again with a newer version (unmerged duplicates,
as after a real look-back). 10 million rows by default (50 ads per account), about
1 million with --quick (5 ads per account).

Then runs the dashboard queries through the real selectors (reports.selectors) many times
and prints median and p95 against the goals:
  trend    30-day daily time series of one account          goal p95 < 200 ms
  top 20   top 20 ads by cost across a 50-account org, 30 d  goal p95 < 500 ms
plus the same on hourly rows, and FINAL against argMax-per-key deduplication (same run).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta

ACCOUNTS = 200
DAYS = 40
ORG_SIZE = 50
FIRST_DAY = date(2024, 5, 1)
TIMEZONES = ("UTC", "Asia/Shanghai", "America/New_York")
GOALS = {"trend": 200.0, "top 20": 500.0}


def _generate(client, ads: int) -> int:
    from reports.store import next_version

    client.command("TRUNCATE TABLE report_rows")
    v1 = next_version()
    common = """
        'sandbox' AS platform, account AS account_id, {granularity} AS granularity, 'ad' AS level,
        {stat_time} AS stat_time, toString(account * 1000 + ad) AS entity_id, {stat_date} AS stat_date,
        100 + cityHash64(n) % 900 AS impressions, cityHash64(n, 1) % 50 AS clicks,
        toDecimal64((cityHash64(n, 2) % 100000) / 1000, 6) AS cost, 'USD' AS currency,
        (cityHash64(n, 3) % 7) / 2 AS conversions,
        map('video_views', toFloat64(cityHash64(n, 4) % 500)) AS extra, {version} AS version, 'bench' AS run_id
    """
    hourly_n = ACCOUNTS * ads * DAYS * 24
    # n -> (account, ad, hour): hours vary fastest, so each insert block covers few partitions.
    hourly = common.format(
        granularity="'hour'",
        stat_time=f"toDateTime('{FIRST_DAY} 00:00:00', 'UTC') + toIntervalHour(hour)",
        stat_date=_per_tz(f"toDate(toDateTime('{FIRST_DAY} 00:00:00', 'UTC') + toIntervalHour(hour), '{{tz}}')"),
        version=v1,
    )
    client.command(
        _insert_select(
            hourly,
            (
                f"SELECT number AS n, 1 + intDiv(number, {ads * DAYS * 24}) AS account, intDiv(number, {DAYS * 24}) "
                f"% {ads} AS ad, "
                f"number % {DAYS * 24} AS hour FROM numbers({hourly_n})"
            ),
        )
    )
    daily_select = (
        "SELECT number AS n, 1 + intDiv(number, {per_account}) AS account, intDiv(number, {days}) % {ads} AS ad, "
        "{first} + number % {days} AS day FROM numbers({total})"
    )
    daily = common.format(granularity="'day'", stat_time=_DAY_START, stat_date="toDate(day)", version=v1)
    first = (FIRST_DAY - date(1970, 1, 1)).days
    client.command(
        _insert_select(
            daily,
            daily_select.format(per_account=ads * DAYS, days=DAYS, ads=ads, first=first, total=ACCOUNTS * ads * DAYS),
        )
    )
    # The platform restated the last 7 days: the same keys again, newer version, new values.
    restated = common.format(
        granularity="'day'",
        stat_time=_DAY_START,
        stat_date="toDate(day)",
        version=next_version(),
    ).replace("(cityHash64(n, 3) % 7) / 2 AS conversions", "(cityHash64(n, 3) % 7) / 2 + 1 AS conversions")
    client.command(
        _insert_select(
            restated,
            daily_select.format(per_account=ads * 7, days=7, ads=ads, first=first + DAYS - 7, total=ACCOUNTS * ads * 7),
        )
    )
    return client.command("SELECT count() FROM report_rows")


def _per_tz(template: str) -> str:
    """`template` evaluated in the account's timezone (ClickHouse wants constant zone names)."""
    branches = [f"account % {len(TIMEZONES)} = {i}, {template.format(tz=tz)}" for i, tz in enumerate(TIMEZONES[:-1])]
    return f"multiIf({', '.join(branches)}, {template.format(tz=TIMEZONES[-1])})"


# Local midnight of `day` in the account's timezone, as a UTC DateTime.
_DAY_START = "toDateTime(" + _per_tz("toUnixTimestamp(toDateTime(toString(toDate(day)), '{tz}'))") + ", 'UTC')"


def _insert_select(select_list: str, source: str) -> str:
    from reports.store import COLUMNS

    return f"INSERT INTO report_rows ({', '.join(COLUMNS)}) SELECT {select_list} FROM ({source})"


def _time(fn, runs: int) -> list[float]:
    fn()  # warm-up: caches, first-touch of the parts
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _line(name: str, times: list[float], goal: float | None = None) -> str:
    median, p95 = statistics.median(times), _p95(times)
    verdict = ""
    if goal is not None:
        verdict = f"  goal p95 < {goal:.0f} ms: {'met' if p95 < goal else 'MISSED'}"
    return f"  {name:<44} median {median:7.1f} ms   p95 {p95:7.1f} ms  ({len(times)} runs){verdict}"


def main(argv: list[str]) -> None:
    from django.core.management import call_command

    from reports.clickhouse.client import clickhouse_client
    from reports.selectors import report_timeseries, report_top_entities

    quick = "--quick" in argv
    ads = 5 if quick else 50
    runs = 20 if quick else 50
    call_command("migrate", verbosity=0)
    client = clickhouse_client()

    started = time.perf_counter()
    total = _generate(client, ads)
    generated_in = time.perf_counter() - started
    parts = client.command(
        "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'report_rows' AND active"
    )
    print(
        f"report rows: {total:,} ({ACCOUNTS} accounts x {ads} ads, hourly + daily over {DAYS} days, last 7 days "
        "restated) "
        f"generated in {generated_in:.1f} s, {parts} active parts, no OPTIMIZE (duplicates unmerged)"
    )

    rng = random.Random(6)
    end = FIRST_DAY + timedelta(days=DAYS - 1)
    start = end - timedelta(days=29)

    def trend(granularity="day", dedup="final"):
        account = rng.randint(1, ACCOUNTS)
        return report_timeseries(
            account_ids=[account], start=start, end=end, granularity=granularity, level="ad", dedup=dedup
        )

    def top20(granularity="day", dedup="final"):
        first = rng.randint(1, ACCOUNTS - ORG_SIZE + 1)
        return report_top_entities(
            account_ids=range(first, first + ORG_SIZE),
            start=start,
            end=end,
            granularity=granularity,
            level="ad",
            order_by="cost",
            n=20,
            dedup=dedup,
        )

    assert len(trend()) == 30 and len(top20()) == 20  # the queries return what the dashboard shows

    print("dashboard queries (through reports.selectors, FINAL):")
    print(_line("trend: 30-day daily series of one account", _time(trend, runs), GOALS["trend"]))
    print(_line("top 20: ads by cost, 50-account org, 30 days", _time(top20, runs), GOALS["top 20"]))
    print(_line("trend from hourly rows (30 days, 720 points)", _time(lambda: trend("hour"), runs)))
    print(_line("top 20 from hourly rows", _time(lambda: top20("hour"), max(5, runs // 5))))

    print("deduplication: FINAL vs argMax per key (same queries, same run):")
    for name, fn in (("trend", trend), ("top 20", top20)):
        for granularity in ("day", "hour"):
            n = runs if granularity == "day" else max(5, runs // 5)
            final = _time(lambda fn=fn, granularity=granularity: fn(granularity, "final"), n)
            argmax = _time(lambda fn=fn, granularity=granularity: fn(granularity, "argmax"), n)
            print(
                f"  {name:>6} {granularity:<4}  FINAL median {statistics.median(final):7.1f} p95 {_p95(final):7.1f} ms"
                f"   argMax median {statistics.median(argmax):7.1f} p95 {_p95(argmax):7.1f} ms"
            )
