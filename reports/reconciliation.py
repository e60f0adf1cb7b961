"""Reconciliation: after a daily fetch of a level below the account, the per-day sums of the
rows just fetched against the account total the platform itself reports for those days.

The drift (fetched - platform) of each metric (cost, impressions, clicks, conversions) per
(account, day, level) is stored in DayReconciliation. A metric is within tolerance when
|drift| <= max(RECONCILIATION_TOLERANCE_PCT % of the platform's value, RECONCILIATION_TOLERANCE_UNITS)
(default 0.5 % or one unit: one currency unit of cost, one impression, click or conversion).
The day's DayStatus.reconciliation is `mismatch` when any metric of any level checked for
it is outside, else `reconciled`; a day that turns to mismatch is notified once.

Where drift comes from in practice: objects deleted inside the look-back whose spend the
platform leaves out of object-level reports unless asked (the account total keeps it),
rows the platform attributes to no object, and a fetch racing the platform's own updates.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from connectors.base import CORE_METRICS
from connectors.errors import ConnectorError
from reports.day_status import DayTally, DayTotals, now
from reports.signals import data_notice_send

logger = logging.getLogger(__name__)


def tolerance() -> tuple[float, Decimal]:
    return (
        float(getattr(settings, "RECONCILIATION_TOLERANCE_PCT", 0.5)),
        Decimal(str(getattr(settings, "RECONCILIATION_TOLERANCE_UNITS", 1))),
    )


def drift_of(fetched, platform) -> tuple[Decimal, float | None, bool]:
    """(drift, drift in % of the platform's value or None when it is 0, within tolerance)."""
    pct, units = tolerance()
    fetched, platform = Decimal(str(fetched)), Decimal(str(platform))
    drift = fetched - platform
    drift_pct = float(drift / platform * 100) if platform else None
    allowed = max(abs(platform) * Decimal(str(pct)) / 100, units)
    return drift, drift_pct, abs(drift) <= allowed


def reconcile_fetch(
    *, context, account, connector, token, level: str, start: date, end: date, tally: DayTally, task_instance_id
) -> dict[date, str] | None:
    """Ask the platform for the account's daily totals over [start, end] and record the drift
    of `tally` (the fetched `level` rows) against them. Returns {day: reconciled|mismatch},
    None when the platform offers no account total or the call failed (the fetched rows
    stay stored either way: reconciliation never fails a fetch)."""
    from connectors.registry import account_ref

    try:
        platform = connector.fetch_account_totals(token, account_ref(account), start, end)
    except ConnectorError as exc:
        context.log.warning("reconciliation of %s..%s skipped: the account totals call failed: %s", start, end, exc)
        return None
    if platform is None:
        return None
    result = reconciliation_record(
        ad_account=account,
        level=level,
        fetched={day: (tally.days.get(day) or DayTotals()).metrics() for day in platform if start <= day <= end},
        platform=platform,
        task_instance_id=task_instance_id,
    )
    bad = sorted(day for day, state in result.items() if state == "mismatch")
    context.log.info(
        "reconciled %s rows with the account totals of %d days: %s",
        level,
        len(result),
        f"mismatch on {', '.join(map(str, bad))}" if bad else "all within tolerance",
    )
    return result


def reconciliation_record(
    *, ad_account, level: str, fetched: dict[date, dict], platform: dict[date, dict], task_instance_id=None
) -> dict[date, str]:
    """Store the drift of `fetched` against `platform` ({day: core metrics} each) and each
    day's reconciliation state; notify days that turned to mismatch. Returns {day: state}."""
    from reports.models import DayReconciliation, DayStatus

    checked_at = now()
    days = sorted(fetched)
    records = []
    for day in days:
        for metric in CORE_METRICS:
            ours, theirs = fetched[day].get(metric, 0), platform[day].get(metric, 0)
            drift, drift_pct, within = drift_of(ours, theirs)
            records.append(
                DayReconciliation(
                    ad_account_id=ad_account.pk,
                    day=day,
                    level=level,
                    metric=metric,
                    fetched=Decimal(str(ours)),
                    platform=Decimal(str(theirs)),
                    drift=drift,
                    drift_pct=drift_pct,
                    within_tolerance=within,
                    checked_at=checked_at,
                    task_instance_id=task_instance_id,
                )
            )
    states: dict[date, str] = {}
    turned: list[date] = []
    with transaction.atomic():
        DayReconciliation.objects.filter(ad_account_id=ad_account.pk, level=level, day__in=days).delete()
        DayReconciliation.objects.bulk_create(records)
        checks: dict[date, list] = {}
        for day, within, drift_pct in DayReconciliation.objects.filter(
            ad_account_id=ad_account.pk, day__in=days
        ).values_list("day", "within_tolerance", "drift_pct"):
            checks.setdefault(day, []).append((within, drift_pct))
        statuses = {
            s.day: s
            for s in DayStatus.objects.select_for_update()
            .filter(ad_account_id=ad_account.pk, granularity="day", day__in=days)
            .order_by("day")
        }
        for day in days:
            state = "reconciled" if all(within for within, _ in checks.get(day, [])) else "mismatch"
            states[day] = state
            worst = max((abs(p) for _, p in checks.get(day, []) if p is not None), default=None)
            status = statuses.get(day)
            if status is None:
                continue
            if state == "mismatch" and status.reconciliation != "mismatch":
                turned.append(day)
            status.reconciliation, status.max_drift_pct = state, worst
            status.save(update_fields=["reconciliation", "max_drift_pct", "updated_at"])
        if turned:
            lines = []
            for record in records:
                if record.day in turned and not record.within_tolerance:
                    lines.append(
                        f"{record.day} {record.metric}: {level} rows sum to {record.fetched}, "
                        f"the platform's account total is {record.platform} (drift {record.drift})"
                    )
            name = ad_account.name or ad_account.external_id
            data_notice_send(
                ad_account_id=ad_account.pk,
                subject=f"{ad_account.platform} account {name}: numbers do not match the platform's total",
                body="\n".join(lines),
            )
    return states
