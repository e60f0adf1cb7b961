"""Reads of the data status: per-day status of accounts (for the dashboard's partial and
preliminary marking), the accounts x days grid, and the restatement history.

All of it comes from the rows the fetches wrote (DayStatus, DayFetch, DayReconciliation):
one indexed query per call, never a scan of ClickHouse.

Statuses a cell can have, worst first (the order `data_status_for` combines accounts by):
failed, missing, mismatch, partial, preliminary, final. See reports.day_status for what
each means; `mismatch` is a day whose fetched rows do not add up to the platform's total.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from reports.day_status import display_status

STATUSES = ("failed", "missing", "mismatch", "partial", "preliminary", "final")
_RANK = {name: n for n, name in enumerate(STATUSES)}
METRICS = ("cost", "impressions", "clicks", "conversions")


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def cell_status(status) -> str:
    """The status a grid cell shows: a mismatch outranks preliminary/final/partial."""
    shown = display_status(status)
    if status is not None and status.reconciliation == "mismatch" and shown in ("partial", "preliminary", "final"):
        return "mismatch"
    return shown


def worst(statuses: Iterable[str]) -> str:
    return min(statuses, key=_RANK.__getitem__, default="missing")


def data_status_for(*, account_ids: Iterable[int], start: date, end: date, granularity: str = "day") -> dict:
    """{local date: status} over [start, end], the worst status among `account_ids` that day
    (an account without a row for the day counts as missing). For the dashboard: a day
    that is "partial" or "preliminary" is marked so, "missing"/"failed" as incomplete."""
    grid = data_status_grid(account_ids=account_ids, start=start, end=end, granularity=granularity)
    ids = [a for a in grid["account_ids"]]
    out = {}
    for n, day in enumerate(grid["days"]):
        out[day] = worst(grid["cells"][a][n]["status"] for a in ids) if ids else "missing"
    return out


def data_status_grid(*, account_ids: Iterable[int], start: date, end: date, granularity: str = "day") -> dict:
    """{"days": [date...], "account_ids": [...], "cells": {account_id: [cell per day]},
    "counts": {status: n}}; a cell: {"day", "status", "state", "hours_present", "hours_in_day",
    "last_fetched_at", "task_instance_id", "error", "reconciliation", "max_drift_pct"}."""
    from reports.models import DayStatus

    ids = sorted({int(a) for a in account_ids})
    days = _days(start, end)
    found: dict[tuple[int, date], DayStatus] = {}
    if ids:
        for status in DayStatus.objects.filter(
            ad_account_id__in=ids, granularity=granularity, day__gte=start, day__lte=end
        ).only(
            "ad_account_id",
            "day",
            "state",
            "hours_present",
            "hours_in_day",
            "last_fetched_at",
            "task_instance_id",
            "failed_at",
            "error",
            "failed_task_instance_id",
            "reconciliation",
            "max_drift_pct",
        ):
            found[(status.ad_account_id, status.day)] = status
    cells: dict[int, list[dict]] = {}
    counts = dict.fromkeys(STATUSES, 0)
    for account_id in ids:
        row = []
        for day in days:
            status = found.get((account_id, day))
            shown = cell_status(status)
            counts[shown] += 1
            failed = shown == "failed"
            row.append(
                {
                    "day": day,
                    "status": shown,
                    "state": status.state if status else "",
                    "hours_present": status.hours_present if status else 0,
                    "hours_in_day": status.hours_in_day if status else 24,
                    "last_fetched_at": status.last_fetched_at if status else None,
                    "task_instance_id": (
                        (status.failed_task_instance_id if failed else status.task_instance_id) if status else None
                    ),
                    "error": status.error if status and failed else "",
                    "reconciliation": status.reconciliation if status else "",
                    "max_drift_pct": status.max_drift_pct if status else None,
                }
            )
        cells[account_id] = row
    return {"days": days, "account_ids": ids, "cells": cells, "counts": counts}


def day_fetch_history(
    *, account_ids: Iterable[int], start: date, end: date, level: str | None = None, granularity: str = "day"
) -> list[dict]:
    """Every fetch of each (account, level, day) in [start, end], oldest first per key, each
    with its change against the fetch before it: {"account_id", "level", "granularity",
    "day", "fetched_at", "version", "task_instance_id", "rows", "currency", metrics...,
    "changes": {metric: {"before", "after", "change_pct"}} (metrics that changed)}."""
    from reports.models import DayFetch

    ids = sorted({int(a) for a in account_ids})
    if not ids:
        return []
    query = DayFetch.objects.filter(
        ad_account_id__in=ids, granularity=granularity, day__gte=start, day__lte=end
    ).order_by("ad_account_id", "level", "day", "fetched_at", "pk")
    if level:
        query = query.filter(level=level)
    out, previous = [], {}
    for fetch in query:
        key = (fetch.ad_account_id, fetch.level, fetch.day)
        values = {m: getattr(fetch, m) for m in METRICS}
        before = previous.get(key)
        changes = {}
        if before is not None:
            for metric in METRICS:
                if values[metric] != before[metric]:
                    old, new = before[metric], values[metric]
                    changes[metric] = {
                        "before": old,
                        "after": new,
                        "change_pct": float((new - old) / old * 100) if old else None,
                    }
        previous[key] = values
        out.append(
            {
                "account_id": fetch.ad_account_id,
                "level": fetch.level,
                "granularity": fetch.granularity,
                "day": fetch.day,
                "fetched_at": fetch.fetched_at,
                "version": fetch.version,
                "task_instance_id": fetch.task_instance_id,
                "rows": fetch.rows,
                "currency": fetch.currency,
                **values,
                "changes": changes,
            }
        )
    return out


def restatements(*, account_ids: Iterable[int], start: date, end: date, level: str | None = None) -> list[dict]:
    """The fetches that changed a day's numbers, newest first, each with a sentence:
    "conversions restated +3.1% on 2026-12-02" ({"account_id", "level", "day", "fetched_at",
    "metric", "before", "after", "change_pct", "text"})."""
    out = []
    for fetch in day_fetch_history(account_ids=account_ids, start=start, end=end, level=level):
        for metric, change in fetch["changes"].items():
            pct = change["change_pct"]
            how = f"{pct:+.1f}%" if pct is not None else f"from 0 to {change['after']}"
            out.append(
                {
                    "account_id": fetch["account_id"],
                    "level": fetch["level"],
                    "day": fetch["day"],
                    "fetched_at": fetch["fetched_at"],
                    "metric": metric,
                    "before": change["before"],
                    "after": change["after"],
                    "change_pct": pct,
                    "text": f"{metric} restated {how} on {fetch['day'].isoformat()}",
                }
            )
    out.sort(key=lambda r: (r["fetched_at"], r["day"]), reverse=True)
    return out
