"""Report reads for dashboards and the API: totals, time series, top entities, period comparison.

Every function takes the same filter arguments (see `reports.query.report_filter`):
`account_ids` (an organization's accounts, e.g. from `organization_account_ids`), `start`
and `end` (inclusive local dates of the accounts), `granularity` ("day" or "hour"), `level`
(default "account"), optional `platform`, `entity_ids`, `currency` (only rows in that
currency), `to_currency` (the reporting currency mixed rows are converted to; default the
organization's) and `metrics` (extra metrics to report, `extra.NAME`). Results are plain
dicts: core metrics (cost as Decimal), derived ctr/cpc/cpm/cpa (floats or None), the
requested `extra.NAME` sums, and the `currency` every money value is in (see reports.money:
one currency is shown as it is, several are converted at each day's ECB rate, `conversion`
says so and `by_currency` keeps the originals).

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
from reports.money import MoneyPlan, convert_cost, factor_sql, money_plan, quantized
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


def _aggregates(extra: Sequence[Metric], params: dict, prefix: str, cost_sql: str = "") -> list[str]:
    columns = [f"sum({prefix}{m}) AS m_{m}" for m in CORE if not (cost_sql and m == "cost")]
    if cost_sql:
        columns += [f"sum({cost_sql}) AS m_cost", f"sum({prefix}cost) AS m_cost_original"]
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


_NEEDED = ("stat_date", "impressions", "clicks", "cost", "currency", "conversions", "extra")


def _query(
    f: ReportFilter,
    *,
    group_by: Sequence[str] = (),
    select: Sequence[str] = (),
    order_by: str = "",
    limit: int | None = None,
    offset: int = 0,
    dedup: str = "final",
    plan: MoneyPlan | None = None,
) -> list[dict]:
    """One aggregate query; `$` in group_by marks a column (prefixed under argmax). With a
    converting `plan`, m_cost is the converted cost and m_cost_original the original."""
    params: dict = {}
    prefix = "" if dedup == "final" else "v_"
    cost_sql = ""
    if plan is not None and plan.converting:
        cost_sql = factor_sql(plan, f.start, params, f"{prefix}cost", f"{prefix}currency", f"{prefix}stat_date")
    columns = [c.replace("$", prefix) for c in (*group_by, *select)] + _aggregates(f.extra, params, prefix, cost_sql)
    sql = f"SELECT {', '.join(columns)} FROM {_source(f, params, dedup, _NEEDED)}"  # noqa: S608 (parameters bound)
    if group_by:
        sql += " GROUP BY " + ", ".join(c.split(" AS ")[-1] for c in group_by)
    if order_by:
        sql += f" ORDER BY {order_by}"
    if limit:
        params["limit"] = int(limit)
        sql += " LIMIT {limit:UInt32}"
        if offset:
            params["offset"] = int(offset)
            sql += " OFFSET {offset:UInt64}"
    result = clickhouse_client().query(sql, parameters=params, settings=_FINAL_SETTINGS if dedup == "final" else None)
    out = []
    names = result.column_names
    for row in result.result_rows:
        record = dict(zip(names, row, strict=False))
        out.append(record)
    return out


def _metrics(record: dict | None, f: ReportFilter) -> dict:
    record = record or {}
    cost = record.get("m_cost") or 0
    values = {
        "impressions": int(record.get("m_impressions") or 0),
        "clicks": int(record.get("m_clicks") or 0),
        "cost": cost if isinstance(cost, Decimal) else quantized(Decimal(repr(float(cost)))),
        "conversions": float(record.get("m_conversions") or 0.0),
    }
    values.update(derived(values))
    for i, metric in enumerate(f.extra):
        values[metric.name] = float(record.get(f"x{i}") or 0.0)
    return values


_SUMMED = ("m_impressions", "m_clicks", "m_conversions")


def _fold(groups: Sequence[dict], plan: MoneyPlan, f: ReportFilter) -> dict:
    """Rows grouped by (currency, day[, ...]) summed into one record in the plan's currency."""
    total: dict = {"m_cost": Decimal(0)}
    for row in groups:
        cost = convert_cost(plan, Decimal(row["m_cost"] or 0), row["currency"], row["day"])
        if cost is None:
            continue  # no rate for this currency at all: left out, named in `conversion`
        total["m_cost"] += cost
        for name in _SUMMED + tuple(f"x{i}" for i in range(len(f.extra))):
            total[name] = total.get(name, 0) + (row.get(name) or 0)
    total["m_cost"] = quantized(total["m_cost"])
    return total


def _by_currency(groups: Sequence[dict], f: ReportFilter) -> dict[str, dict]:
    """The originals: each currency's rows summed, unconverted."""
    per: dict[str, dict] = {}
    for row in groups:
        record = per.setdefault(row["currency"], {"m_cost": Decimal(0)})
        record["m_cost"] += Decimal(row["m_cost"] or 0)
        for name in _SUMMED + tuple(f"x{i}" for i in range(len(f.extra))):
            record[name] = record.get(name, 0) + (row.get(name) or 0)
    return {code: {"currency": code, **_metrics(record, f)} for code, record in sorted(per.items())}


def _empty(f: ReportFilter) -> bool:
    return not f.account_ids


def _fallback_currency(f: ReportFilter, to_currency: str | None):
    """The currency of an answer with no rows to tell, or of a mixed one: the filter's, the
    accounts' own when they share one, else the reporting currency."""

    def pick() -> str | None:
        if f.currency:
            return f.currency
        if to_currency:
            return to_currency
        if _empty(f):
            return None
        from accounts.models import AdAccount
        from currencies.selectors import reporting_currency_for_accounts

        own = set(AdAccount.objects.filter(pk__in=f.account_ids).values_list("currency", flat=True).distinct())
        own.discard("")
        return own.pop() if len(own) == 1 else reporting_currency_for_accounts(f.account_ids)

    return pick


def _plan(currencies, f: ReportFilter, to_currency: str | None, start=None) -> MoneyPlan:
    return money_plan(
        currencies,
        start=start or f.start,
        end=f.end,
        to_currency=to_currency,
        fallback=_fallback_currency(f, to_currency),
    )


def _grouped(f: ReportFilter, dedup: str, *keys: str) -> list[dict]:
    """The filter's sums per (currency, local day[, keys]): what conversion needs."""
    if _empty(f):
        return []
    return _query(f, group_by=[*keys, "$currency AS currency", "$stat_date AS day"], dedup=dedup)


def report_totals(*, dedup: str = "final", to_currency: str | None = None, **filters) -> dict:
    """Sums over the filter: {"impressions", "clicks", "cost", "conversions", "ctr", ..., "extra.X",
    "currency", "conversion", "by_currency"}."""
    f = report_filter(**filters)
    groups = _grouped(f, dedup)
    plan = _plan({g["currency"] for g in groups}, f, to_currency)
    return _totals_answer(groups, plan, f)


def _totals_answer(groups: Sequence[dict], plan: MoneyPlan, f: ReportFilter) -> dict:
    values = _metrics(_fold(groups, plan, f), f)
    return {**values, "currency": plan.currency, "conversion": plan.describe(), "by_currency": _by_currency(groups, f)}


def report_spend_by_currency(*, account_ids, start, end) -> dict[str, Decimal]:
    """Account-level spend per currency, each in EUR at its days' rates (to compare them)."""
    f = report_filter(account_ids=account_ids, start=start, end=end, level="account")
    groups = _grouped(f, "final")
    plan = money_plan(
        {g["currency"] for g in groups} | {"EUR"}, start=f.start, end=f.end, to_currency="EUR", fallback=lambda: "EUR"
    )
    out: dict[str, Decimal] = {}
    for row in groups:
        cost = convert_cost(plan, Decimal(row["m_cost"] or 0), row["currency"], row["day"])
        if cost is not None:
            out[row["currency"]] = out.get(row["currency"], Decimal(0)) + cost
    return out


def report_timeseries(
    *, fill: bool = True, dedup: str = "final", to_currency: str | None = None, **filters
) -> list[dict]:
    """One point per bucket, oldest first: {"date": date, ...metrics, "currency"} for daily
    (local dates), {"time": aware UTC datetime of the hour start, ...metrics, "currency"} for hourly.

    Daily series are filled with zero points for days without rows (`fill=False` to skip);
    hourly series hold the hours that have rows (accounts in different timezones start
    their days at different UTC hours, so "every hour" has no single meaning). Mixed
    currencies are converted like report_totals (every point in the same currency).
    """
    f = report_filter(**filters)
    groups = _series_groups(f, dedup)
    plan = _plan({g["currency"] for g in groups}, f, to_currency)
    return _points(groups, plan, f, fill)


def _series_groups(f: ReportFilter, dedup: str, *keys: str) -> list[dict]:
    if f.granularity == "day":
        groups = _grouped(f, dedup, *keys)
        for g in groups:
            g["bucket"] = g["day"]
        return groups
    return _grouped(f, dedup, *keys, "toUnixTimestamp($stat_time) AS bucket")


_SPLITS = {"platform": "platform AS split", "account": "account_id AS split"}


def report_timeseries_split(
    *, by: str, fill: bool = True, dedup: str = "final", to_currency: str | None = None, **filters
) -> dict:
    """The time series once per platform or per account (for a stacked chart), in one
    currency: {"currency", "series": [{"key", "name", "points": [...]}]}, largest cost first."""
    if by not in _SPLITS:
        raise ReportQueryError("stack", f"expected platform or account, got {by!r}")
    f = report_filter(**filters)
    groups = _series_groups(f, dedup, _SPLITS[by])
    plan = _plan({g["currency"] for g in groups}, f, to_currency)
    per_key: dict = {}
    for g in groups:
        per_key.setdefault(g["split"], []).append(g)
    names = _account_names(set(per_key)) if by == "account" else {}
    series = []
    for key, rows in per_key.items():
        points = _points(rows, plan, f, fill)
        series.append({"key": key, "name": names.get(key, str(key)), "points": points})
    series.sort(key=lambda s: (-sum(p["cost"] for p in s["points"]), str(s["key"])))
    return {"currency": plan.currency, "series": series}


def _points(groups: Sequence[dict], plan: MoneyPlan, f: ReportFilter, fill: bool) -> list[dict]:
    per_bucket: dict = {}
    for g in groups:
        per_bucket.setdefault(g["bucket"], []).append(g)
    points = []
    if f.granularity == "day":
        days = [f.start + timedelta(days=i) for i in range(f.days)] if fill else sorted(per_bucket)
        for day in days:
            points.append(
                {"date": day, **_metrics(_fold(per_bucket.get(day, ()), plan, f), f), "currency": plan.currency}
            )
    else:
        for bucket in sorted(per_bucket):
            record = _fold(per_bucket[bucket], plan, f)
            points.append(
                {"time": datetime.fromtimestamp(bucket, UTC), **_metrics(record, f), "currency": plan.currency}
            )
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
    *,
    order_by: str = "cost",
    n: int = 20,
    descending: bool = True,
    offset: int = 0,
    dedup: str = "final",
    to_currency: str | None = None,
    **filters,
) -> list[dict]:
    """The top `n` entities of `level` by `order_by` (any core, derived or extra.NAME metric),
    from `offset` on (paging).

    Each: {"account_id", "entity_id", "name", "status", "deleted", ...metrics, "currency"};
    name/status come from the metadata DB (None when the entity was never fetched). Ties break
    by account and entity id. Over mixed currencies, cost (and cpc, cpm, cpa) are converted
    at each row's day in ClickHouse, so the order is by converted cost; "original_currency"
    and "original_cost" keep the entity's own.
    """
    rows = report_top_page(
        order_by=order_by, n=n, descending=descending, offset=offset, dedup=dedup, to_currency=to_currency, **filters
    )["rows"]
    return rows


GROUPS = ("entity", "account", "platform")
_GROUP_KEYS = {
    "entity": (["account_id AS g_account", "entity_id AS g_entity"], ["any(platform) AS g_platform"]),
    "account": (["account_id AS g_account"], ["'' AS g_entity", "any(platform) AS g_platform"]),
    "platform": (["platform AS g_platform"], ["toUInt64(0) AS g_account", "'' AS g_entity"]),
}
_GROUP_COUNT = {
    "entity": "uniqExact(account_id, entity_id)",
    "account": "uniqExact(account_id)",
    "platform": "uniqExact(platform)",
}


def report_top_page(
    *,
    order_by: str = "cost",
    n: int = 20,
    descending: bool = True,
    offset: int = 0,
    group: str = "entity",
    dedup: str = "final",
    to_currency: str | None = None,
    **filters,
) -> dict:
    """report_top_entities with the page's context: {"rows", "count" (rows in all pages),
    "currency", "conversion"}. `group`: "entity" (the level's entities), "account" or
    "platform" (the level's rows summed per account or per platform)."""
    metric = parse_metric(order_by, field="order_by")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_TOP_N:
        raise ReportQueryError("n", f"expected an integer from 1 to {MAX_TOP_N}, got {n!r}")
    if group not in GROUPS:
        raise ReportQueryError("group", f"expected one of {', '.join(GROUPS)}, got {group!r}")
    metrics = list(filters.pop("metrics", ()) or ())
    if metric.kind == "extra" and metric.name not in metrics:
        metrics.append(metric.name)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ReportQueryError("offset", f"expected a non-negative integer, got {offset!r}")
    f = report_filter(metrics=metrics, **filters)
    if _empty(f):
        return {"rows": [], "count": 0, "currency": _fallback_currency(f, to_currency)(), "conversion": None}
    currencies, count = _currencies_and_count(f, group)
    plan = _plan(currencies, f, to_currency)
    direction = "DESC" if descending else "ASC"
    order = f"{_order_expression(metric, f)} {direction}, g_platform, g_account, g_entity"
    keys, selected = _GROUP_KEYS[group]
    rows = _query(
        f,
        group_by=keys,
        # One currency per group, or '' (a platform's accounts may differ): originals only then.
        select=[*selected, "if(uniqExact($currency) = 1, any($currency), '') AS row_currency"],
        order_by=order,
        limit=n,
        offset=offset,
        dedup=dedup,
        plan=plan,
    )
    if plan.converting:
        plan.used = {(c, f.start + timedelta(days=i)) for c in currencies for i in range(f.days)}
    names = {}
    if group == "entity":
        names = _entity_names(level=f.level, keys={(r["g_account"], r["g_entity"]) for r in rows})
    accounts = _account_names({r["g_account"] for r in rows} - {0})
    out = []
    for row in rows:
        info = names.get((row["g_account"], row["g_entity"]), {})
        name = {"entity": info.get("name"), "account": accounts.get(row["g_account"]), "platform": row["g_platform"]}
        record = {
            "platform": row["g_platform"],
            "account_id": row["g_account"] or None,
            "account": accounts.get(row["g_account"]),
            "entity_id": row["g_entity"] or None,
            "name": name[group],
            "status": info.get("status"),
            "deleted": info.get("deleted", False),
            **_metrics(row, f),
            "currency": plan.currency,
        }
        if plan.converting and row["row_currency"] and row["row_currency"] != plan.currency:
            record["original_currency"] = row["row_currency"]
            record["original_cost"] = Decimal(row["m_cost_original"] or 0)
        out.append(record)
    return {"rows": out, "count": count, "currency": plan.currency, "conversion": plan.describe()}


def _currencies_and_count(f: ReportFilter, group: str = "entity") -> tuple[set[str], int]:
    """The currencies among the filter's rows and how many groups they make (paging)."""
    params: dict = {}
    source = _source(f, params, "final", _NEEDED)
    sql = f"SELECT groupUniqArray(currency), {_GROUP_COUNT[group]} FROM {source}"  # noqa: S608 (parameters bound)
    result = clickhouse_client().query(sql, parameters=params, settings=_FINAL_SETTINGS)
    currencies, count = result.result_rows[0]
    return set(currencies), int(count)


def report_compare(
    *, dedup: str = "final", to_currency: str | None = None, previous: str = "period", **filters
) -> dict:
    """This period against an earlier one: `previous="period"` the period of equal length
    ending the day before `start`, `"year"` the same dates a year earlier.

    {"period": {"start", "end"}, "previous_period": {"start", "end"}, "currency", "conversion",
     "by_currency": {code: metrics of this period}, "metrics": {name: {"current", "previous",
     "change", "change_pct"}}}; change_pct is a percentage, None when the previous value is
    0 or a ratio is undefined. Both periods are in one currency (converted alike when mixed).
    """
    f = report_filter(**filters)
    if previous == "period":
        before_f = f.previous_period()
    elif previous == "year":
        before_f = f.same_period_last_year()
    else:
        raise ReportQueryError("compare", f"expected period or year, got {previous!r}")
    groups, before_groups = _grouped(f, dedup), _grouped(before_f, dedup)
    currencies = {g["currency"] for g in groups} | {g["currency"] for g in before_groups}
    plan = _plan(currencies, f, to_currency, start=before_f.start)
    now, before = _totals_answer(groups, plan, f), _metrics(_fold(before_groups, plan, before_f), before_f)
    return {
        # Days with any row: a previous period with empty days is not a fair comparison.
        "days_with_data": {
            "current": len({g["day"] for g in groups}),
            "previous": len({g["day"] for g in before_groups}),
        },
        "period": {"start": f.start, "end": f.end},
        "previous_period": {"start": before_f.start, "end": before_f.end},
        "currency": plan.currency,
        "conversion": plan.describe(),
        "by_currency": now["by_currency"],
        "metrics": {name: change(now[name], before[name]) for name in before},
    }


def _account_names(ids: set[int]) -> dict[int, str]:
    from accounts.models import AdAccount

    if not ids:
        return {}
    return {
        pk: name or external
        for pk, name, external in AdAccount.objects.filter(pk__in=ids).values_list("pk", "name", "external_id")
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
