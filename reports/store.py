"""Writes to the ClickHouse report store (`report_rows`).

One entry point, `report_rows_write`, turns connector `ReportRow`s into columnar
Arrow batches and inserts them. Idempotency comes from the table, not from this code:
`report_rows` is a ReplacingMergeTree keyed by (platform, account_id, granularity,
level, stat_time, entity_id) with `version` as the replacing column, and every read
deduplicates (FINAL). So writing the same rows again, or retrying after a write died
half-way, only adds newer versions of the same keys: each key is counted once, with
the values of the newest write.

What a task's result is: a task writes its rows, and only after the write returned
does the engine mark the task successful in the metadata DB. A task that fails
half-way leaves some keys with a newer version (the same data a retry writes again)
and is retried; the retry rewrites every key with a still newer version.

Rows that disappear: after a complete fetch of a window, `report_rows_tombstone` writes a
tombstone (is_deleted = 1, the fetch's version) for every key of that window the fetch did
not return (an older version is the newest one stored). The table is
ReplacingMergeTree(version, is_deleted), so FINAL drops such keys at once, merged or not.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa

from connectors.base import GRANULARITIES, LEVELS, ReportRow
from reports.clickhouse.client import clickhouse_client

TABLE = "report_rows"
# Large enough that ClickHouse makes few parts (one part per partition per insert),
# small enough to keep a batch's Arrow arrays at tens of MB.
BATCH_SIZE = 100_000

_COST_TYPE = pa.decimal128(18, 6)
_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("account_id", pa.uint64()),
        ("granularity", pa.string()),
        ("level", pa.string()),
        ("stat_time", pa.timestamp("s", tz="UTC")),
        ("entity_id", pa.string()),
        ("stat_date", pa.date32()),
        ("impressions", pa.uint64()),
        ("clicks", pa.uint64()),
        ("cost", _COST_TYPE),
        ("currency", pa.string()),
        ("conversions", pa.float64()),
        ("extra", pa.map_(pa.string(), pa.float64())),
        ("version", pa.uint64()),
        ("run_id", pa.string()),
    ]
)
# What a fetch writes; `fetched_at` and `is_deleted` (0) take their defaults.
COLUMNS = tuple(_SCHEMA.names)
_COST_QUANTUM = Decimal("0.000001")
_LEVELS = frozenset(LEVELS)
_GRANULARITIES = frozenset(GRANULARITIES)


@dataclass(frozen=True)
class AccountKey:
    """What a write needs to know about the account: our id, its platform, its timezone."""

    id: int
    platform: str
    timezone: str = "UTC"
    currency: str = ""

    @classmethod
    def of(cls, account) -> AccountKey:
        """From an AccountKey or anything shaped like accounts.AdAccount (pk, platform, timezone)."""
        if isinstance(account, cls):
            return account
        platform = getattr(account, "platform", "")
        platform = getattr(platform, "slug", platform)  # a FK to a platform row or a plain slug
        return cls(
            id=int(account.pk),
            platform=str(platform),
            timezone=getattr(account, "timezone", "") or "UTC",
            currency=getattr(account, "currency", "") or "",
        )


_version_lock = threading.Lock()
_last_version = 0


def next_version() -> int:
    """A fetch version: wall-clock microseconds, strictly increasing within the process.

    Across processes the clock orders fetches; two workers writing the same key in the
    same microsecond would be fetching the same platform data anyway.
    """
    global _last_version
    with _version_lock:
        _last_version = max(time.time_ns() // 1000, _last_version + 1)
        return _last_version


class ReportRowError(ValueError):
    """A row that cannot be stored; nothing of the batch it belongs to was written."""


class _TimeConverter:
    """Local aware stat_time -> (UTC naive, local date), cached: a page of rows shares few stat times."""

    def __init__(self, tz_name: str):
        self.tz = ZoneInfo(tz_name)
        self.cache: dict[datetime, tuple[datetime, date]] = {}

    def __call__(self, stat_time: datetime) -> tuple[datetime, date]:
        hit = self.cache.get(stat_time)
        if hit is None:
            if stat_time.tzinfo is None:
                raise ReportRowError(f"stat_time {stat_time.isoformat()} has no timezone; connectors yield aware times")
            local = stat_time.astimezone(self.tz)
            hit = (stat_time.astimezone(UTC).replace(tzinfo=None), local.date())
            self.cache[stat_time] = hit
        return hit


def _cost_array(costs: list) -> pa.Array:
    """Decimal(18, 6) costs; platforms that report more decimals (or floats) are rounded
    to the micro unit, which is finer than any platform bills in."""
    try:
        return pa.array(costs, _COST_TYPE)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Only the rare batch with more than 6 decimals or float costs pays for quantizing.
        return pa.array([Decimal(str(c)).quantize(_COST_QUANTUM) for c in costs], _COST_TYPE)


def _batches(rows: Iterable[ReportRow], size: int) -> Iterator[list[ReportRow]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def report_rows_table(
    *, account: AccountKey, rows: list[ReportRow], run_id: str, version: int, convert: _TimeConverter | None = None
) -> pa.Table:
    """One batch as an Arrow table in `report_rows` column order (validated)."""
    convert = convert or _TimeConverter(account.timezone)
    n = len(rows)
    stat_times: list[datetime | None] = [None] * n
    stat_dates: list[date | None] = [None] * n
    levels, granularities = set(), set()
    for i, row in enumerate(rows):
        stat_times[i], stat_dates[i] = convert(row.stat_time)
        levels.add(row.level)
        granularities.add(row.granularity)
    if not levels <= _LEVELS:
        raise ReportRowError(f"unknown level {sorted(levels - _LEVELS)[0]!r} (one of {', '.join(LEVELS)})")
    if not granularities <= _GRANULARITIES:
        raise ReportRowError(f"unknown granularity {sorted(granularities - _GRANULARITIES)[0]!r} (hour or day)")
    arrays = [
        pa.repeat(account.platform, n),
        pa.repeat(pa.scalar(account.id, pa.uint64()), n),
        pa.array([r.granularity for r in rows], pa.string()),
        pa.array([r.level for r in rows], pa.string()),
        pa.array(stat_times, pa.timestamp("s", tz="UTC")),
        pa.array([r.entity_id for r in rows], pa.string()),
        pa.array(stat_dates, pa.date32()),
        pa.array([r.impressions for r in rows], pa.uint64()),
        pa.array([r.clicks for r in rows], pa.uint64()),
        _cost_array([r.cost for r in rows]),
        pa.array([r.currency or account.currency for r in rows], pa.string()),
        pa.array([r.conversions for r in rows], pa.float64()),
        pa.array([r.extra or {} for r in rows], pa.map_(pa.string(), pa.float64())),
        pa.repeat(pa.scalar(version, pa.uint64()), n),
        pa.repeat(run_id, n),
    ]
    return pa.Table.from_arrays(arrays, schema=_SCHEMA)


def report_rows_write(
    *, account, rows: Iterable[ReportRow], run_id: str, version: int | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Insert `rows` of one account in columnar batches; return how many rows were written.

    `account`: an accounts.AdAccount (or an AccountKey). `stat_time` of every row must be
    timezone-aware; it is stored in UTC and its date in the account's timezone becomes
    `stat_date`. `version` defaults to `next_version()`: give the same version to all
    batches of one task, a newer one to a retry. Rows stream: memory holds one batch.
    """
    key = AccountKey.of(account)
    version = next_version() if version is None else int(version)
    convert = _TimeConverter(key.timezone)
    client = clickhouse_client()
    written = 0
    for batch in _batches(rows, batch_size):
        table = report_rows_table(account=key, rows=batch, run_id=str(run_id), version=version, convert=convert)
        client.insert_arrow(TABLE, table)
        written += len(batch)
    return written


def report_rows_tombstone(
    *, account, level: str, granularity: str, start: date, end: date, version: int, run_id: str
) -> int:
    """Tombstone every key of (account, level, granularity) on local days [start, end] whose
    newest stored version is older than `version`: the complete fetch that wrote `version`
    did not return it. Call only after that fetch's rows were all written. Returns how many
    keys were tombstoned. One INSERT ... SELECT on the server: no rows travel."""
    if level not in _LEVELS:
        raise ReportRowError(f"unknown level {level!r} (one of {', '.join(LEVELS)})")
    if granularity not in _GRANULARITIES:
        raise ReportRowError(f"unknown granularity {granularity!r} (hour or day)")
    key = AccountKey.of(account)
    params = {
        "platform": key.platform,
        "account": key.id,
        "granularity": granularity,
        "level": level,
        "d0": start,
        "d1": end,
        # stat_time bounds (the sort key) let the server skip granules; any zone's local
        # day lies within [UTC day - 14 h, UTC day + 1 day + 12 h].
        "t0": datetime.combine(start, datetime.min.time()) - timedelta(hours=14),
        "t1": datetime.combine(end + timedelta(days=1), datetime.min.time()) + timedelta(hours=12),
        "version": int(version),
        "run_id": str(run_id),
    }
    where = (
        "platform = {platform:String} AND account_id = {account:UInt64} AND granularity = {granularity:String} "
        "AND level = {level:String} AND stat_time >= {t0:DateTime('UTC')} AND stat_time < {t1:DateTime('UTC')} "
        "AND stat_date >= {d0:Date} AND stat_date <= {d1:Date} AND version < {version:UInt64}"
    )
    client = clickhouse_client()
    settings = {"do_not_merge_across_partitions_select_final": 1}
    count = f"SELECT count() FROM {TABLE} FINAL WHERE {where}"  # noqa: S608 (our identifiers, parameters bound)
    gone = int(client.command(count, parameters=params, settings=settings))
    if gone:
        insert = (
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, is_deleted) "  # noqa: S608 (our identifiers, parameters bound)
            "SELECT platform, account_id, granularity, level, stat_time, entity_id, stat_date, 0, 0, 0, currency, 0, "
            f"map(), {{version:UInt64}}, {{run_id:String}}, 1 FROM {TABLE} FINAL WHERE {where}"
        )
        client.command(
            insert,
            parameters=params,
            settings=settings,
        )
    return gone
