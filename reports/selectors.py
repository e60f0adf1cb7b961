"""Report reads for dashboards and the API: totals, time series, top entities, period comparison.

Every function takes the same filter arguments (see `reports.query.report_filter`):
`account_ids` (an organization's accounts, e.g. from `organization_account_ids`), `start`
and `end` (inclusive local dates of the accounts), `granularity` ("day" or "hour"), `level`
(default "account"), optional `platform`, `entity_ids`, `currency`, and `metrics` (extra
metrics to report, `extra.NAME`). Results are plain dicts: core metrics (cost as Decimal),
derived ctr/cpc/cpm/cpa (floats or None), and the requested `extra.NAME` sums.

How reads stay right before ClickHouse merges duplicate versions: `FROM report_rows FINAL`.
The partition key (month of stat_time) is a function of the sort key, so no key spans two
partitions and FINAL merges within partitions only (`do_not_merge_across_partitions_select_final`),
in parallel. `benchmarks/bench_report_queries.py` measures it against the argMax-per-key
alternative (`dedup="argmax"`), which was slower on chdb.

ClickHouse returns ids and metrics; entity names come from the metadata DB in one
query for the ids returned (the two stores are never joined).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from reports.clickhouse.client import clickhouse_client
from reports.query import (
    MAX_TOP_N,
    Metric,
    ReportFilter,
    ReportQueryError,
    change,
    derived,
    parse_metric,
    report_filter,
)

TABLE = "report_rows"
CORE = ("impressions", "clicks", "cost", "conversions")
_FINAL_SETTINGS = {"do_not_merge_across_partitions_select_final": 1}
# Local dates of any timezone lie within [UTC date - 12 h, UTC date + 14 h]; bounding
# stat_time (the sort key) as well as stat_date lets ClickHouse skip granules by index.
_EARLIEST_OFFSET = timedelta(hours=14)
_LATEST_OFFSET = timedelta(hours=12)


def _where(f: ReportFilter, params: dict) -> str:
    params.update(
        accounts=list(f.account_ids),
        granularity=f.granularity,
        level=f.level,
        d0=f.start,
        d1=f.end,
        t0=datetime.combine(f.start, datetime.min.time()) - _EARLIEST_OFFSET,
        t1=datetime.combine(f.end + timedelta(days=1), datetime.min.time()) + _LATEST_OFFSET,
    )
    clauses = [
        "account_id IN {accounts:Array(UInt64)}",
        "granularity = {granularity:String}",
        "level = {level:String}",
        "stat_time >= {t0:DateTime('UTC')}",
        "stat_time < {t1:DateTime('UTC')}",
        "stat_date >= {d0:Date}",
        "stat_date <= {d1:Date}",
    ]
    if f.platform:
        params["platform"] = f.platform
        clauses.insert(0, "platform = {platform:String}")
    if f.entity_ids:
        params["entities"] = list(f.entity_ids)
        clauses.append("entity_id IN {entities:Array(String)}")
    if f.currency:
        params["currency"] = f.currency
        clauses.append("currency = {currency:String}")
    return " AND ".join(clauses)


def _aggregates(extra: Sequence[Metric], params: dict, prefix: str) -> list[str]:
    columns = [f"sum({prefix}{m}) AS m_{m}" for m in CORE]
    for i, metric in enumerate(extra):
        params[f"x{i}"] = metric.key
        columns.append(f"sum({prefix}extra[{{x{i}:String}}]) AS x{i}")
    return columns


def _source(f: ReportFilter, params: dict, dedup: str, needed: Sequence[str]) -> str:
    """The deduplicated rows as a FROM clause: FINAL, or argMax of each needed column per key."""
    where = _where(f, params)
    if dedup == "final":
        return f"{TABLE} FINAL WHERE {where}"
    if dedup != "argmax":
        raise ValueError(f"dedup: {dedup!r} is not final or argmax")
    key = "platform, account_id, granularity, level, stat_time, entity_id"
    # Aliases differ from column names: ClickHouse resolves aliases in WHERE, and an
    # aggregate there would be an error.
    picked = ", ".join(f"argMax({c}, version) AS v_{c}" for c in needed)
    # Values travel as query parameters; only our own column names are formatted in.
    # A key whose newest version is a tombstone is gone, as FINAL has it.
    return f"(SELECT {key}, {picked} FROM {TABLE} WHERE {where} GROUP BY {key} HAVING argMax(is_deleted, version) = 0)"  # noqa: S608


_NEEDED = ("stat_date", "impressions", "clicks", "cost", "conversions", "extra")


def _query(
    f: ReportFilter, *, group_by: Sequence[str] = (), order_by: str = "", limit: int | None = None, dedup: str = "final"
) -> list[dict]:
    params: dict = {}
    prefix = "" if dedup == "final" else "v_"
    columns = [c.replace("$", prefix) for c in group_by] + _aggregates(f.extra, params, prefix)
    sql = f"SELECT {', '.join(columns)} FROM {_source(f, params, dedup, _NEEDED)}"  # noqa: S608 (parameters bound)
    if group_by:
        sql += " GROUP BY " + ", ".join(c.split(" AS ")[-1] for c in group_by)
    if order_by:
        sql += f" ORDER BY {order_by}"
    if limit:
        params["limit"] = int(limit)
        sql += " LIMIT {limit:UInt32}"
    result = clickhouse_client().query(sql, parameters=params, settings=_FINAL_SETTINGS if dedup == "final" else None)
    out = []
    names = result.column_names
    for row in result.result_rows:
        record = dict(zip(names, row, strict=False))
        out.append(record)
    return out


def _metrics(record: dict | None, f: ReportFilter) -> dict:
    record = record or {}
    values = {
        "impressions": int(record.get("m_impressions") or 0),
        "clicks": int(record.get("m_clicks") or 0),
        "cost": Decimal(record.get("m_cost") or 0),
        "conversions": float(record.get("m_conversions") or 0.0),
    }
    values.update(derived(values))
    for i, metric in enumerate(f.extra):
        values[metric.name] = float(record.get(f"x{i}") or 0.0)
    return values


def _empty(f: ReportFilter) -> bool:
    return not f.account_ids


def report_totals(*, dedup: str = "final", **filters) -> dict:
    """Sums over the filter: {"impressions", "clicks", "cost", "conversions", "ctr", ..., "extra.X"}."""
    f = report_filter(**filters)
    return _totals(f, dedup)


def _totals(f: ReportFilter, dedup: str = "final") -> dict:
    rows = [] if _empty(f) else _query(f, dedup=dedup)
    return _metrics(rows[0] if rows else None, f)


def report_timeseries(*, fill: bool = True, dedup: str = "final", **filters) -> list[dict]:
    """One point per bucket, oldest first: {"date": date, ...metrics} for daily (local dates),
    {"time": aware UTC datetime of the hour start, ...metrics} for hourly.

    Daily series are filled with zero points for days without rows (`fill=False` to skip);
    hourly series hold the hours that have rows (accounts in different timezones start
    their days at different UTC hours, so "every hour" has no single meaning).
    """
    f = report_filter(**filters)
    if _empty(f):
        rows = []
    elif f.granularity == "day":
        rows = _query(f, group_by=["$stat_date AS bucket"], order_by="bucket", dedup=dedup)
    else:
        rows = _query(f, group_by=["toUnixTimestamp(stat_time) AS bucket"], order_by="bucket", dedup=dedup)
    points = []
    if f.granularity == "day":
        by_day = {row["bucket"]: row for row in rows}
        days = [f.start + timedelta(days=i) for i in range(f.days)] if fill else sorted(by_day)
        for day in days:
            points.append({"date": day, **_metrics(by_day.get(day), f)})
    else:
        for row in rows:
            points.append({"time": datetime.fromtimestamp(row["bucket"], UTC), **_metrics(row, f)})
    return points


def _order_expression(metric: Metric, f: ReportFilter) -> str:
    if metric.kind == "core":
        return f"m_{metric.name}"
    if metric.kind == "extra":
        return f"x{f.extra.index(metric)}"
    return {
        "ctr": "if(m_impressions = 0, 0, m_clicks / m_impressions)",
        "cpc": "if(m_clicks = 0, 0, toFloat64(m_cost) / m_clicks)",
        "cpm": "if(m_impressions = 0, 0, 1000 * toFloat64(m_cost) / m_impressions)",
        "cpa": "if(m_conversions = 0, 0, toFloat64(m_cost) / m_conversions)",
    }[metric.name]


def report_top_entities(
    *, order_by: str = "cost", n: int = 20, descending: bool = True, dedup: str = "final", **filters
) -> list[dict]:
    """The top `n` entities of `level` by `order_by` (any core, derived or extra.NAME metric).

    Each: {"account_id", "entity_id", "name", "status", "deleted", ...metrics}; name/status come from
    the metadata DB (None when the entity was never fetched). Ties break by account and entity id.
    """
    metric = parse_metric(order_by, field="order_by")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_TOP_N:
        raise ReportQueryError("n", f"expected an integer from 1 to {MAX_TOP_N}, got {n!r}")
    metrics = list(filters.pop("metrics", ()) or ())
    if metric.kind == "extra" and metric.name not in metrics:
        metrics.append(metric.name)
    f = report_filter(metrics=metrics, **filters)
    if _empty(f):
        return []
    direction = "DESC" if descending else "ASC"
    order = f"{_order_expression(metric, f)} {direction}, account_id, entity_id"
    rows = _query(f, group_by=["account_id", "entity_id"], order_by=order, limit=n, dedup=dedup)
    names = _entity_names(level=f.level, keys={(r["account_id"], r["entity_id"]) for r in rows})
    out = []
    for row in rows:
        key = (row["account_id"], row["entity_id"])
        info = names.get(key, {})
        out.append(
            {
                "account_id": row["account_id"],
                "entity_id": row["entity_id"],
                "name": info.get("name"),
                "status": info.get("status"),
                "deleted": info.get("deleted", False),
                **_metrics(row, f),
            }
        )
    return out


def report_compare(*, dedup: str = "final", **filters) -> dict:
    """This period against the previous period of equal length (ending the day before `start`).

    {"period": {"start", "end"}, "previous_period": {"start", "end"},
     "metrics": {name: {"current", "previous", "change", "change_pct"}}}; change_pct is a
    percentage, None when the previous value is 0 or a ratio is undefined.
    """
    f = report_filter(**filters)
    previous = f.previous_period()
    now, before = _totals(f, dedup), _totals(previous, dedup)
    return {
        "period": {"start": f.start, "end": f.end},
        "previous_period": {"start": previous.start, "end": previous.end},
        "metrics": {name: change(now[name], before[name]) for name in now},
    }


def _entity_names(*, level: str, keys: set[tuple[int, str]]) -> dict[tuple[int, str], dict]:
    """Names of (account id, external id) pairs in one metadata query."""
    if not keys:
        return {}
    from reports.models import AdEntity

    accounts = {a for a, _ in keys}
    ids = {e for _, e in keys}
    rows = AdEntity.objects.filter(ad_account_id__in=accounts, level=level, external_id__in=ids).values_list(
        "ad_account_id", "external_id", "name", "status", "deleted_at"
    )
    return {
        (account, external): {"name": name, "status": status, "deleted": deleted_at is not None}
        for account, external, name, status, deleted_at in rows
        if (account, external) in keys
    }


# The per-day data status lives with its model; re-exported here, where report reads are looked for.
from reports.status_selectors import data_status_for  # noqa: E402, F401
