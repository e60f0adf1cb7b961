"""The dashboard's data: filters resolved against the user's accounts, then the report
selectors' totals with period-over-period change, a time series and the top entities.

The page and `GET /api/v1/reports/dashboard/` both call `dashboard_data`, so the numbers a
user sees and the numbers the API (and the load benchmark) returns are the same.
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from currencies.units import CurrencyError, currency_code
from reports.query import ReportQueryError
from reports.selectors import GROUPS, report_compare, report_timeseries, report_timeseries_split, report_top_page
from web import selectors
from web.dashboard_levels import default_level, fetched_levels
from web.dashboard_periods import PresetError, day_state, local_todays, preset_range

KPIS = (
    ("impressions", "Impressions", "int"),
    ("clicks", "Clicks", "int"),
    ("cost", "Cost", "money"),
    ("conversions", "Conversions", "float"),
    ("ctr", "CTR", "pct"),
    ("cpc", "CPC", "money"),
    ("cpa", "CPA", "money"),
)
DEFAULT_DAYS = 7
TOP_N = 20
COMPARES = ("period", "year")
STACKS = ("platform", "account")
SORTABLE = ("impressions", "clicks", "cost", "conversions", "ctr", "cpc", "cpm", "cpa")


@dataclass(frozen=True)
class DashboardQuery:
    account_ids: tuple[int, ...]
    start: date
    end: date
    granularity: str = "day"
    level: str = "campaign"
    platform: str | None = None
    order_by: str = "cost"
    currency: str | None = None
    compare: str = "period"
    group: str = "entity"
    descending: bool = True
    page: int = 1
    stack: str | None = None

    def filters(self) -> dict:
        return {
            "account_ids": self.account_ids,
            "start": self.start,
            "end": self.end,
            "granularity": self.granularity,
            "level": self.level,
            "platform": self.platform,
            "currency": self.currency,
        }


# ClickHouse DateTime covers 1970..2105; a compared previous period reaches up to ten
# years (reports.query.MAX_DAYS) further back. No ad platform has data outside these.
FIRST_DATE, LAST_DATE = date(1990, 1, 1), date(2099, 12, 31)


def check_report_date(value: date, name: str) -> date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ReportQueryError(name, f"expected a date from {FIRST_DATE} to {LAST_DATE}, got {value}")
    return value


def _date(value, name: str, default: date) -> date:
    if value in (None, ""):
        return default
    try:
        parsed = date.fromisoformat(str(value))
    except ValueError:
        raise ReportQueryError(name, f"expected a date (YYYY-MM-DD), got {value!r}") from None
    return check_report_date(parsed, name)


def _choice(params, name: str, choices, default):
    value = params.get(name) or default
    if value not in choices:
        raise ReportQueryError(name, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def dashboard_query(*, user, params) -> DashboardQuery:
    """Resolve request parameters: accounts are always intersected with the user's own.
    A `preset` (yesterday, last_7, ...) sets start and end; the level defaults to one the
    accounts' DAGs fetch at the granularity (web.dashboard_levels)."""
    today = timezone.localdate()
    preset = params.get("preset") or ""
    if preset:
        try:
            start, end = preset_range(preset, today)
        except PresetError as exc:
            raise ReportQueryError("preset", str(exc)) from None
    else:
        end = _date(params.get("end"), "end", today)
        start = _date(params.get("start"), "start", end - timedelta(days=DEFAULT_DAYS - 1))
    accounts = selectors.ad_accounts_for_user(user)
    platform = params.get("platform") or None
    if platform:
        accounts = accounts.filter(platform=platform)
    wanted = params.getlist("account") if hasattr(params, "getlist") else params.get("account") or []
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    wanted = [w for w in wanted if str(w).strip()]
    if wanted:
        try:
            accounts = accounts.filter(pk__in=[int(w) for w in wanted])
        except ValueError:
            raise ReportQueryError("account", "expected account ids (integers)") from None
    currency = params.get("currency") or None
    if currency:
        try:
            currency = currency_code(currency)
        except CurrencyError as exc:
            raise ReportQueryError("currency", str(exc)) from None
    account_ids = tuple(accounts.values_list("pk", flat=True))
    granularity = params.get("granularity") or "day"
    level = params.get("level") or default_level(fetched_levels(account_ids).get(granularity, []))
    order_by = _choice(params, "order_by", SORTABLE, "cost")
    try:
        page = max(1, int(params.get("page") or 1))
    except ValueError:
        raise ReportQueryError("page", f"expected a page number, got {params.get('page')!r}") from None
    return DashboardQuery(
        currency=currency,
        account_ids=account_ids,
        start=start,
        end=end,
        granularity=granularity,
        level=level,
        platform=platform,
        order_by=order_by,
        compare=_choice(params, "compare", COMPARES, "period"),
        group=_choice(params, "group", GROUPS, "entity"),
        descending=(params.get("dir") or "desc") != "asc",
        page=page,
        stack=_choice(params, "stack", ("", *STACKS), "") or None,
    )


def jsonable(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def dashboard_data(query: DashboardQuery, *, top_n: int = TOP_N) -> dict:
    """The dashboard's numbers, cached for settings.DASHBOARD_CACHE_SECONDS (default 30).

    Report rows change when a fetch lands (hourly at most per DAG), while a dashboard is
    asked for again and again by everyone looking at it: four ClickHouse queries per view
    would cap a team's dashboards at what one ClickHouse (chdb in-process when embedded)
    answers. The key is the resolved query, account ids included, so a cached answer
    never crosses organizations. 0 turns the cache off.
    """
    return _cached("data", query, top_n, lambda: _dashboard_data(query, top_n=top_n), single_flight=True)


def dashboard_json(query: DashboardQuery, *, top_n: int = TOP_N) -> dict:
    """`dashboard_data` already made JSON-ready (floats, ISO dates), for the API.

    Cached in that form: converting the cached answer on every request cost a third of
    a cached request's time (about 0.6 of 1.8 ms), which is throughput the load goal needs.
    Made from the page's cached answer, so the page and the API show the same numbers.
    """
    return _cached("json", query, top_n, lambda: jsonable(dashboard_data(query, top_n=top_n)))


def _cached(kind: str, query: DashboardQuery, top_n: int, compute, *, single_flight: bool = False):
    ttl = int(getattr(settings, "DASHBOARD_CACHE_SECONDS", 30))
    if ttl <= 0:
        return compute()
    key = f"web:dashboard:{kind}:" + hashlib.sha256(repr((query, top_n)).encode()).hexdigest()
    data = cache.get(key)
    if data is not None:
        return data
    # Single flight: one computation of a key at a time in this process. When a popular
    # answer expires under load, every request asking for it would otherwise send
    # ClickHouse the same queries at once (50 clients: 50 times the work, and seconds of
    # latency); the others wait for the first and read its answer. Locks are striped, so
    # their number is fixed.
    with _STRIPES[int(key[-8:], 16) % len(_STRIPES)] if single_flight else nullcontext():
        data = cache.get(key) if single_flight else None
        if data is None:
            data = compute()
            cache.set(key, data, ttl)
    return data


# Only the "data" kind takes a stripe ("json" calls into it without one), so no thread
# ever holds two stripes and two keys cannot deadlock.
_STRIPES = [threading.Lock() for _ in range(64)]


def _dashboard_data(query: DashboardQuery, *, top_n: int) -> dict:
    filters = query.filters()
    compare = report_compare(previous=query.compare, **filters)
    # The KPIs decide the currency (both periods alike); the chart and the table follow it.
    currency = compare["currency"]
    series = report_timeseries(to_currency=currency, **filters)
    top = report_top_page(
        order_by=query.order_by,
        n=top_n,
        offset=(query.page - 1) * top_n,
        descending=query.descending,
        group=query.group,
        to_currency=currency,
        **filters,
    )
    stacked = None
    if query.stack:
        stacked = report_timeseries_split(by=query.stack, to_currency=currency, **filters)["series"]
    partial = _mark_days(query, series, stacked)
    days = {"current": query.end.toordinal() - query.start.toordinal() + 1}
    days["previous"] = days["current"] if query.compare == "period" else _days(compare["previous_period"])
    previous_complete = compare["days_with_data"]["previous"] >= days["previous"]
    return {
        "query": {
            **filters,
            "account_ids": list(query.account_ids),
            "order_by": query.order_by,
            "compare": query.compare,
            "group": query.group,
            "page": query.page,
        },
        "period": compare["period"],
        "previous_period": compare["previous_period"],
        "compare": query.compare,
        "currency": currency,
        "conversion": compare["conversion"],
        "by_currency": compare["by_currency"],
        "partial_days": partial,
        "previous_incomplete": None
        if previous_complete
        else (f"previous period has data on {compare['days_with_data']['previous']} of its {days['previous']} days"),
        "kpis": [
            {
                "metric": name,
                "label": label,
                "format": fmt,
                "compare": query.compare,
                **compare["metrics"][name],
                **({"currency": currency} if fmt == "money" else {}),
                **({} if previous_complete else {"change_pct": None, "incomplete": True}),
            }
            for name, label, fmt in KPIS
        ],
        "timeseries": series,
        "stacked": stacked,
        "top": top["rows"],
        "top_count": top["count"],
        "page_size": top_n,
    }


def _days(period: dict) -> int:
    return period["end"].toordinal() - period["start"].toordinal() + 1


def _mark_days(query: DashboardQuery, series: list[dict], stacked: list[dict] | None) -> list[str]:
    """Mark each daily point complete/partial/future (its day not over, or not begun, in the
    accounts' time zones); future points carry None so they are not plotted as 0.
    Returns the partial days (ISO dates)."""
    from accounts.models import AdAccount

    if query.granularity != "day":
        return []
    zones = AdAccount.objects.filter(pk__in=query.account_ids).values_list("timezone", flat=True).distinct()
    todays = local_todays(list(zones), timezone.now())
    partial = []
    for points in [series, *[s["points"] for s in stacked or ()]]:
        for point in points:
            state = day_state(point["date"], todays)
            point["state"] = state
            if state == "future":
                for name in ("impressions", "clicks", "cost", "conversions", "ctr", "cpc", "cpm", "cpa"):
                    point[name] = None
            elif state == "partial" and point["date"].isoformat() not in partial and points is series:
                partial.append(point["date"].isoformat())
    return partial
